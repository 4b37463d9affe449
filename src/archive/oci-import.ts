// Plans the load of an archive holding an OCI image layout: `skopeo copy ...
// oci-archive:`, `podman save --format oci-archive`, `ctr images export`, docker ≥ 25
// and `berth save`. Names come from `io.containerd.image.name` (containerd, docker,
// berth), else from `org.opencontainers.image.ref.name` when that is a full reference
// (skopeo, podman); a bare tag there names the image only with --base-name.
// Multi-platform indexes are kept whole when the archive holds every platform (or with
// --all-platforms, which then requires it); otherwise the chosen platform's image is
// loaded, as `ctr images export` of one platform keeps the index but not the others.
import { z } from 'zod';
import { parseManifest, type Manifest } from '../oci/manifest.js';
import { isManifestMediaType, isNonDistributableLayer } from '../oci/media-types.js';
import { formatPlatform, selectPlatform, type PlatformSpec } from '../oci/platform.js';
import { readFile } from 'node:fs/promises';
import { CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION } from '../store/index-file.js';
import { normaliseImageName } from '../store/names.js';
import type { ImportPlan, PlannedBlob, PlannedImage } from './import-plan.js';
import type { Staging } from './staging.js';

const layoutIndexSchema = z.object({
  schemaVersion: z.literal(2),
  manifests: z.array(
    z
      .object({
        mediaType: z.string(),
        digest: z.string(),
        size: z.number().int().nonnegative(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .loose(),
  ),
});

export interface OciImportOptions {
  /** An explicit platform: load only that one from an index. */
  readonly platform?: PlatformSpec;
  readonly allPlatforms?: boolean;
  /** The fallback platform for an index the archive holds only in part. */
  readonly defaultPlatform: PlatformSpec;
  /** Repository for images named by a bare tag (`v1` → `<base>:v1`). */
  readonly baseName?: string;
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

class Planner {
  readonly blobs = new Map<string, PlannedBlob>();

  constructor(private readonly staging: Staging) {}

  async manifest(descriptor: Descriptor): Promise<Manifest> {
    const file = await this.staging.blob(descriptor.digest);
    if (!file) throw this.staging.corrupt(`manifest ${descriptor.digest} is missing`);
    if (file.size !== descriptor.size) throw this.staging.corrupt(`manifest ${descriptor.digest} has ${file.size} bytes, its descriptor says ${descriptor.size}`);
    const parsed = parseManifest(await readFile(file.file), isManifestMediaType(descriptor.mediaType) ? descriptor.mediaType : undefined);
    if (!parsed.ok) throw this.staging.corrupt(`manifest ${descriptor.digest}: ${parsed.reason}`);
    return parsed.manifest;
  }

  /** True when the whole tree under `descriptor` is in the archive. */
  async complete(descriptor: Descriptor): Promise<boolean> {
    if (!(await this.staging.blob(descriptor.digest))) return false;
    const manifest = await this.manifest(descriptor);
    if (manifest.kind === 'index') {
      for (const child of manifest.manifests) if (isManifestMediaType(child.mediaType) && !(await this.complete(child))) return false;
      return true;
    }
    for (const blob of [manifest.config, ...manifest.layers]) {
      if (!isNonDistributableLayer(blob.mediaType) && !(await this.staging.blob(blob.digest))) return false;
    }
    return true;
  }

  /** Adds the tree to the plan; every part must be present and match its digest. */
  async take(descriptor: Descriptor, depth = 0): Promise<Manifest> {
    if (depth > 8) throw this.staging.corrupt(`index nesting deeper than 8 at ${descriptor.digest}`);
    const manifest = await this.manifest(descriptor);
    await this.add(descriptor);
    if (manifest.kind === 'index') {
      for (const child of manifest.manifests) if (isManifestMediaType(child.mediaType)) await this.take(child, depth + 1);
      return manifest;
    }
    for (const blob of [manifest.config, ...manifest.layers]) if (!isNonDistributableLayer(blob.mediaType)) await this.add(blob);
    return manifest;
  }

  private async add(descriptor: Descriptor): Promise<void> {
    if (this.blobs.has(descriptor.digest)) return;
    const file = await this.staging.blob(descriptor.digest);
    if (!file) throw this.staging.corrupt(`blob ${descriptor.digest} is missing`);
    if (file.size !== descriptor.size) throw this.staging.corrupt(`blob ${descriptor.digest} has ${file.size} bytes, its descriptor says ${descriptor.size}`);
    this.blobs.set(descriptor.digest, { file: file.file, size: file.size });
  }
}

function nameOf(annotations: Record<string, string> | undefined, baseName: string | undefined): string | undefined {
  const containerd = annotations?.[CONTAINERD_NAME_ANNOTATION];
  if (containerd) return normaliseImageName(containerd);
  const ref = annotations?.[REF_NAME_ANNOTATION];
  if (!ref) return undefined;
  if (ref.includes('/') || ref.includes(':')) return normaliseImageName(ref);
  return baseName !== undefined ? normaliseImageName(`${baseName}:${ref}`) : undefined;
}

export async function planOciImport(staging: Staging, options: OciImportOptions): Promise<ImportPlan> {
  const parsed = layoutIndexSchema.safeParse(await staging.readJson('index.json'));
  if (!parsed.success) throw staging.corrupt(`index.json is not an OCI image index (${parsed.error.issues[0]?.message ?? 'schema mismatch'})`);
  const planner = new Planner(staging);
  const byDigest = new Map<string, PlannedImage>();
  for (const entry of parsed.data.manifests) {
    if (!isManifestMediaType(entry.mediaType)) continue;
    let top: Descriptor = entry;
    const root = await planner.manifest(entry);
    if (root.kind === 'index') {
      const whole = options.platform === undefined && (options.allPlatforms || (await planner.complete(entry)));
      if (!whole) {
        const wanted = options.platform ?? options.defaultPlatform;
        const child = selectPlatform(root.manifests, wanted);
        if (!child || !(await planner.complete(child))) {
          if (options.allPlatforms) throw staging.corrupt(`index ${entry.digest} lacks some of its platforms; load it without --all-platforms`);
          const present: string[] = [];
          for (const m of root.manifests) if (m.platform && (await planner.complete(m))) present.push(formatPlatform(m.platform));
          throw staging.corrupt(`no ${formatPlatform(wanted)} image for ${entry.digest} (the archive holds: ${present.join(', ') || 'none'})`);
        }
        top = child;
      }
    }
    const manifest = await planner.take(top);
    const name = nameOf(entry.annotations, options.baseName);
    const existing = byDigest.get(top.digest);
    if (existing) {
      if (name !== undefined && !existing.names.includes(name)) existing.names.push(name);
      continue;
    }
    const id = manifest.kind === 'image' ? manifest.config.digest : top.digest;
    byDigest.set(top.digest, { names: name !== undefined ? [name] : [], descriptor: { mediaType: manifest.mediaType, digest: top.digest, size: top.size }, id });
  }
  if (byDigest.size === 0) throw staging.corrupt('index.json lists no images');
  return { images: [...byDigest.values()], blobs: planner.blobs };
}
