// Copies one image between a ContentReader and a ContentWriter: blobs first (in
// parallel, skipping what the target has), then child manifests by digest, then the
// top manifest under each requested tag. From an index, either every platform
// (`allPlatforms`, the index digest is kept) or the one matching `platform`.
import { parseManifest, type Descriptor, type Manifest } from '../oci/manifest.js';
import { isNonDistributableLayer } from '../oci/media-types.js';
import { formatPlatform, selectPlatform, type PlatformSpec } from '../oci/platform.js';
import type { BlobWriteOutcome, ContentDescriptor, ContentReader, ContentWriter, ManifestContent } from './content.js';

export type CopyEvent =
  | { readonly kind: 'blob'; readonly descriptor: ContentDescriptor; readonly outcome: BlobWriteOutcome }
  | { readonly kind: 'blob-start'; readonly descriptor: ContentDescriptor }
  | { readonly kind: 'manifest'; readonly digest: string; readonly reference: string };

export interface CopyOptions {
  /** Keep whole indexes. */
  readonly allPlatforms?: boolean;
  /** Which entry of an index to copy when not allPlatforms. */
  readonly platform?: PlatformSpec;
  /** Blobs in flight at once. */
  readonly concurrency?: number;
  readonly onEvent?: (event: CopyEvent) => void;
}

export interface CopyResult {
  /** Digest of the manifest the target references now point at. */
  readonly digest: string;
  readonly mediaType: string;
  readonly blobs: { uploaded: number; existed: number; mounted: number; bytes: number };
}

export class CopyError extends Error {}

export async function copyImage(
  source: ContentReader,
  target: ContentWriter,
  sourceReference: string,
  targetReferences: readonly string[],
  options: CopyOptions = {},
): Promise<CopyResult> {
  const root = await source.readManifest(sourceReference);
  if (!root) throw new CopyError(`${source.label}:${sourceReference}: manifest unknown`);
  const counts = { uploaded: 0, existed: 0, mounted: 0, bytes: 0 };
  const state: CopyState = { source, target, options, counts, copiedManifests: new Set() };
  let top = root;
  const parsed = parseOrThrow(root, source.label);
  if (parsed.kind === 'index' && !options.allPlatforms) {
    const wanted = options.platform;
    if (!wanted) throw new CopyError(`${source.label}:${sourceReference} is a multi-platform index; choose a platform or copy all platforms`);
    const entry = selectPlatform(parsed.manifests, wanted);
    if (!entry) {
      const available = parsed.manifests.map((d) => (d.platform ? formatPlatform(d.platform) : 'unknown')).join(', ');
      throw new CopyError(`${source.label}:${sourceReference} has no ${formatPlatform(wanted)} image (available: ${available})`);
    }
    const child = await source.readManifest(entry.digest);
    if (!child) throw new CopyError(`${source.label}@${entry.digest}: manifest unknown`);
    top = child;
  }
  await copyTree(state, top);
  for (const reference of targetReferences) {
    await target.writeManifest(reference, top);
    options.onEvent?.({ kind: 'manifest', digest: top.digest, reference });
  }
  return { digest: top.digest, mediaType: top.mediaType, blobs: counts };
}

interface CopyState {
  readonly source: ContentReader;
  readonly target: ContentWriter;
  readonly options: CopyOptions;
  readonly counts: { uploaded: number; existed: number; mounted: number; bytes: number };
  readonly copiedManifests: Set<string>;
}

function parseOrThrow(content: ManifestContent, label: string): Manifest {
  const parsed = parseManifest(content.bytes, content.mediaType);
  if (!parsed.ok) throw new CopyError(`${label}@${content.digest}: ${parsed.reason}`);
  return parsed.manifest;
}

/** Copies everything `manifest` references (not the manifest itself). */
async function copyTree(state: CopyState, content: ManifestContent): Promise<void> {
  const manifest = parseOrThrow(content, state.source.label);
  if (manifest.kind === 'index') {
    for (const child of manifest.manifests) {
      if (state.copiedManifests.has(child.digest)) continue;
      state.copiedManifests.add(child.digest);
      if (await state.target.hasManifest(child.digest)) continue;
      const fetched = await state.source.readManifest(child.digest);
      if (!fetched) throw new CopyError(`${state.source.label}@${child.digest}: manifest unknown (index entry)`);
      await copyTree(state, fetched);
      await state.target.writeManifest(child.digest, fetched);
      state.options.onEvent?.({ kind: 'manifest', digest: child.digest, reference: child.digest });
    }
    return;
  }
  const unique = new Map<string, Descriptor>();
  for (const blob of [manifest.config, ...manifest.layers]) {
    if (!isNonDistributableLayer(blob.mediaType)) unique.set(blob.digest, blob);
  }
  const blobs = [...unique.values()];
  await runLimited(blobs, state.options.concurrency ?? 4, async (descriptor) => {
    state.options.onEvent?.({ kind: 'blob-start', descriptor });
    const outcome = await state.target.writeBlob(descriptor, () => state.source.openBlob(descriptor));
    if (outcome === 'uploaded') {
      state.counts.uploaded += 1;
      state.counts.bytes += descriptor.size;
    } else if (outcome === 'mounted') state.counts.mounted += 1;
    else state.counts.existed += 1;
    state.options.onEvent?.({ kind: 'blob', descriptor, outcome });
  });
}

/** Runs `work` over items with at most `limit` in flight; the first failure rejects. */
export async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
