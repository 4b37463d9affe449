// Where an image could come from instead of its own registry: one candidate per
// configured registry that serves the image's source registry, in priority order.
//
// `docker.io/library/nginx:1.25` becomes `<host>/[<prefix>/][docker.io/]library/nginx:1.25`:
// the path prefix of the target (`harbor.example/project`), then the source registry
// when `prefixSourceRegistry` is on (so `quay.io/x/y` and `docker.io/x/y` cannot
// collide), then the repository. Tag and digest are kept as they are: a digest
// reference stays pinned to its digest.
import { parseDigest } from '../oci/digest.js';
import { isValidRepositoryName } from '../oci/names.js';
import { parseReference, type ImageReference } from '../oci/reference.js';
import type { RegistryTarget } from './config.js';

export interface Candidate {
  readonly target: RegistryTarget;
  /** Repository path inside the target registry. */
  readonly repository: string;
  /** Tag or digest to ask the registry for: the digest when there is one. */
  readonly manifestReference: string;
  /** The full reference handed to the runtime. */
  readonly reference: string;
}

export interface SkippedTarget {
  readonly target: RegistryTarget;
  readonly reason: 'not-a-mirror-of-source' | 'invalid-path';
}

export type Normalised =
  | { readonly ok: true; readonly reference: ImageReference; readonly text: string }
  | { readonly ok: false; readonly reason: 'image-id' | 'unparseable'; readonly detail?: string };

/** Docker's normalisation (`nginx` → `docker.io/library/nginx:latest`); image IDs are left alone. */
export function normalise(image: string): Normalised {
  const trimmed = image.trim();
  if (parseDigest(trimmed) || /^[a-f0-9]{64}$/.test(trimmed)) return { ok: false, reason: 'image-id' };
  const parsed = parseReference(trimmed);
  if (!parsed.ok) return { ok: false, reason: 'unparseable', detail: parsed.reason };
  return { ok: true, reference: parsed.reference, text: formatNormalised(parsed.reference) };
}

function formatNormalised(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The target that the reference already names (`sealos.hub:5000/pause:3.9`), if any. */
export function directTarget(ref: ImageReference, targets: readonly RegistryTarget[]): RegistryTarget | undefined {
  return targets.find((target) => target.host === ref.registry && (target.pathPrefix === '' || ref.repository.startsWith(`${target.pathPrefix}/`)));
}

export function servesSource(target: RegistryTarget, sourceRegistry: string): boolean {
  return target.mirrors === undefined || target.mirrors.includes(sourceRegistry);
}

export function candidatesFor(ref: ImageReference, targets: readonly RegistryTarget[]): { candidates: Candidate[]; skipped: SkippedTarget[] } {
  const candidates: Candidate[] = [];
  const skipped: SkippedTarget[] = [];
  for (const target of targets) {
    if (!servesSource(target, ref.registry)) {
      skipped.push({ target, reason: 'not-a-mirror-of-source' });
      continue;
    }
    const repository = [target.pathPrefix, target.prefixSourceRegistry ? ref.registry : '', ref.repository].filter((part) => part !== '').join('/');
    if (!isValidRepositoryName(repository)) {
      skipped.push({ target, reason: 'invalid-path' });
      continue;
    }
    const tag = ref.tag !== undefined ? `:${ref.tag}` : '';
    const digest = ref.digest !== undefined ? `@${ref.digest}` : '';
    candidates.push({
      target,
      repository,
      manifestReference: ref.digest ?? ref.tag ?? 'latest',
      reference: `${target.host}/${repository}${tag}${digest}`,
    });
  }
  return { candidates, skipped };
}
