// How much the blob store holds: every blob once, however many repositories link it
// (what the disk or the bucket really carries). One walk of the blob store, on any driver.
import type { StorageDriver } from './driver/driver.js';
import { BLOBS_ROOT, blobOfDataPath } from './layout.js';

export interface BlobStoreUsage {
  readonly blobs: number;
  readonly bytes: number;
}

export async function blobStoreUsage(driver: StorageDriver): Promise<BlobStoreUsage> {
  let blobs = 0;
  let bytes = 0;
  for await (const file of driver.walk(BLOBS_ROOT)) {
    if (!blobOfDataPath(file.path)) continue;
    blobs += 1;
    bytes += file.size;
  }
  return { blobs, bytes };
}
