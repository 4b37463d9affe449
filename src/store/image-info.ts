// What listings and `inspect` show about a stored image: its ID (the config digest,
// as docker computes image IDs; an index's own digest for multi-platform images),
// creation time, platforms and the bytes it holds in the store.
import { z } from 'zod';
import { formatPlatform, normalisePlatform } from '../oci/platform.js';
import type { ImageStore } from './image-store.js';
import { collectTree, readManifestBlob } from './image-tree.js';
import { entryName, type IndexEntry } from './index-file.js';
import { ImageNotFoundError, StoreError } from './errors.js';
import { normaliseImageName } from './names.js';

const imageConfigSchema = z
  .object({
    created: z.string().optional(),
    author: z.string().optional(),
    architecture: z.string().optional(),
    os: z.string().optional(),
    variant: z.string().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    rootfs: z.object({ type: z.string(), diff_ids: z.array(z.string()) }).optional(),
    history: z.array(z.record(z.string(), z.unknown())).optional(),
  })
  .loose();

export type ImageConfig = z.infer<typeof imageConfigSchema>;

export interface PlatformImage {
  readonly platform: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly config: ImageConfig;
}

export interface ImageDetails {
  readonly entry: IndexEntry;
  readonly kind: 'image' | 'index';
  /** config digest (image) or index digest. */
  readonly id: string;
  readonly created: string | undefined;
  /** Bytes of every blob of the image in the store (compressed layers). */
  readonly size: number;
  readonly images: PlatformImage[];
}

export async function readImageConfig(store: ImageStore, digest: string): Promise<ImageConfig> {
  const bytes = await store.blobs.read(digest);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new StoreError(`image config ${digest} is not valid JSON`);
  }
  const parsed = imageConfigSchema.safeParse(json);
  if (!parsed.success) throw new StoreError(`image config ${digest} is invalid: ${parsed.error.issues[0]?.message ?? 'schema mismatch'}`);
  return parsed.data;
}

export async function describeImage(store: ImageStore, entry: IndexEntry): Promise<ImageDetails> {
  const root = await readManifestBlob(store.blobs, entry);
  const items = await collectTree(store.blobs, entry, { missing: 'skip' });
  const size = items.reduce((sum, item) => sum + item.descriptor.size, 0);
  const images: PlatformImage[] = [];
  if (root.kind === 'image') {
    const config = await readImageConfig(store, root.config.digest);
    images.push({ platform: platformOfConfig(config), manifestDigest: entry.digest, configDigest: root.config.digest, config });
  } else {
    for (const child of root.manifests) {
      if ((await store.blobs.size(child.digest)) === undefined) continue;
      const manifest = await readManifestBlob(store.blobs, child);
      if (manifest.kind !== 'image') continue;
      // Attestations and other artifacts sit in indexes too; only images have a platform.
      if ((await store.blobs.size(manifest.config.digest)) === undefined) continue;
      const config = await readImageConfig(store, manifest.config.digest).catch(() => undefined);
      if (!config) continue;
      images.push({ platform: child.platform ? formatPlatform(normalisePlatform(child.platform)) : platformOfConfig(config), manifestDigest: child.digest, configDigest: manifest.config.digest, config });
    }
  }
  const created = images.map((i) => i.config.created).filter((c): c is string => c !== undefined).sort().pop();
  return { entry, kind: root.kind, id: root.kind === 'image' ? images[0]!.configDigest : entry.digest, created, size, images };
}

function platformOfConfig(config: ImageConfig): string {
  if (!config.os || !config.architecture) return 'unknown';
  return formatPlatform(normalisePlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }));
}

export interface Resolved {
  /** The entries the argument names: one for a name; every name of the image for an ID. */
  readonly entries: IndexEntry[];
  readonly by: 'name' | 'id';
}

const ID_PATTERN = /^(?:sha256:)?([0-9a-f]{1,64})$/;

/** Finds an image by name, by (a prefix of) its ID, or by its manifest digest. */
export async function resolveImage(store: ImageStore, text: string): Promise<Resolved> {
  const entries = await store.entries();
  let name: string | undefined;
  try {
    name = normaliseImageName(text);
  } catch {
    name = undefined;
  }
  const named = entries.filter((e) => name !== undefined && entryName(e) === name);
  if (named.length > 0) return { entries: named, by: 'name' };
  const id = ID_PATTERN.exec(text.trim());
  if (id) {
    const prefix = id[1]!;
    const full = text.startsWith('sha256:') && prefix.length === 64;
    const byId = new Map<string, IndexEntry[]>();
    for (const entry of entries) {
      const details = await describeImage(store, entry).catch(() => undefined);
      const ids = [details?.id, entry.digest].filter((d): d is string => d !== undefined).map((d) => d.slice('sha256:'.length));
      if (!ids.some((candidate) => (full ? candidate === prefix : candidate.startsWith(prefix)))) continue;
      const key = details?.id ?? entry.digest;
      byId.set(key, [...(byId.get(key) ?? []), entry]);
    }
    if (byId.size > 1) throw new StoreError(`image ID prefix ${text} is ambiguous (${[...byId.keys()].map((k) => k.slice(7, 19)).join(', ')})`, 'give more characters of the ID');
    const [only] = byId.values();
    if (only) return { entries: only, by: 'id' };
  }
  throw new ImageNotFoundError(text);
}
