// What a load will add to the store, worked out completely (and every digest checked)
// before the store changes; then committed in two steps: blobs renamed in (invisible
// until named), then one index.json update that names every image at once.
import type { ImageStore } from '../store/image-store.js';
import { entryName, namedEntry, type IndexEntry } from '../store/index-file.js';

export interface PlannedImage {
  /** Full names; empty when the archive gave none (kept by ID). */
  readonly names: string[];
  readonly descriptor: { readonly mediaType: string; readonly digest: string; readonly size: number };
  /** The image ID docker would print (config digest, or index digest). */
  readonly id: string;
}

export interface PlannedBlob {
  /** A verified staged file to rename into the store... */
  readonly file?: string;
  /** ...or bytes built by the loader (manifests of legacy archives). */
  readonly bytes?: Buffer;
  readonly size: number;
}

export interface ImportPlan {
  readonly images: PlannedImage[];
  readonly blobs: Map<string, PlannedBlob>;
}

export async function commitPlan(store: ImageStore, plan: ImportPlan): Promise<void> {
  const lease = await store.lease();
  try {
    await lease.add([...plan.blobs.keys()]);
    for (const [digest, blob] of plan.blobs) {
      if ((await store.blobs.size(digest)) === blob.size) continue;
      if (blob.file !== undefined) await store.blobs.adopt(blob.file, digest);
      else if (blob.bytes !== undefined) await store.blobs.writeBytes(blob.bytes);
    }
    await store.updateIndex((entries) => {
      let next: IndexEntry[] = entries;
      for (const image of plan.images) {
        const descriptor: IndexEntry = { ...image.descriptor };
        if (image.names.length === 0) {
          if (!next.some((e) => e.digest === descriptor.digest)) next = [...next, descriptor];
          continue;
        }
        for (const name of image.names) next = [...next.filter((e) => entryName(e) !== name), namedEntry(descriptor, name)];
      }
      return { entries: next, result: undefined };
    });
  } finally {
    await lease.release();
  }
}
