// Everything one stored image is made of: the manifest (or index) itself, child
// manifests, configs and layers. Garbage collection keeps these, save writes them, and
// the size column counts them.
import { parseManifest, type Manifest } from '../oci/manifest.js';
import { isManifestMediaType, isNonDistributableLayer } from '../oci/media-types.js';
import { BlobNotFoundError, type BlobStore } from './blob-store.js';
import { StoreError } from './errors.js';

export interface TreeDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export type TreeRole = 'index' | 'manifest' | 'config' | 'layer';

export interface TreeItem {
  readonly descriptor: TreeDescriptor;
  readonly role: TreeRole;
}

export async function readManifestBlob(blobs: BlobStore, descriptor: TreeDescriptor): Promise<Manifest> {
  const bytes = await blobs.read(descriptor.digest);
  const parsed = parseManifest(bytes, isManifestMediaType(descriptor.mediaType) ? descriptor.mediaType : undefined);
  if (!parsed.ok) throw new StoreError(`stored manifest ${descriptor.digest} is invalid: ${parsed.reason}`);
  return parsed.manifest;
}

/**
 * The image's items, each digest once, manifests before what they reference.
 * `missing: 'skip'` tolerates absent children (a garbage collector must still see the
 * rest); `'fail'` requires the whole tree. Non-distributable layers are never stored
 * and so are left out.
 */
export async function collectTree(blobs: BlobStore, root: TreeDescriptor, options: { missing?: 'skip' | 'fail' } = {}): Promise<TreeItem[]> {
  const items: TreeItem[] = [];
  const seen = new Set<string>();
  const visit = async (descriptor: TreeDescriptor, role: TreeRole, depth: number): Promise<void> => {
    if (seen.has(descriptor.digest)) return;
    // Indexes of indexes exist, but a deep chain is a corrupt or hostile store.
    if (depth > 8) throw new StoreError(`image index nesting deeper than 8 at ${descriptor.digest}`);
    seen.add(descriptor.digest);
    if (role === 'layer' || role === 'config') {
      if (isNonDistributableLayer(descriptor.mediaType)) return;
      if ((await blobs.size(descriptor.digest)) === undefined) {
        if (options.missing === 'skip') return;
        throw new StoreError(`image is incomplete: ${role} ${descriptor.digest} is missing from the store`);
      }
      items.push({ descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }, role });
      return;
    }
    let manifest: Manifest;
    try {
      manifest = await readManifestBlob(blobs, descriptor);
    } catch (error) {
      if (error instanceof BlobNotFoundError && options.missing === 'skip') return;
      if (error instanceof BlobNotFoundError) throw new StoreError(`image is incomplete: manifest ${descriptor.digest} is missing from the store`);
      throw error;
    }
    items.push({ descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }, role: manifest.kind === 'index' ? 'index' : 'manifest' });
    if (manifest.kind === 'index') {
      for (const child of manifest.manifests) {
        if (isManifestMediaType(child.mediaType)) await visit(child, 'manifest', depth + 1);
      }
      return;
    }
    await visit(manifest.config, 'config', depth + 1);
    for (const layer of manifest.layers) await visit(layer, 'layer', depth + 1);
  };
  await visit(root, isManifestMediaType(root.mediaType) ? 'manifest' : 'layer', 0);
  return items;
}
