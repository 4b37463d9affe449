// Builds a driver, and the registry storage over it, from plain settings: the one place
// that knows which drivers exist. The composition root reads config files, flags and
// the environment and hands the result here.
import type { StorageDriver } from './driver/driver.js';
import { FilesystemDriver } from './driver/filesystem.js';
import { S3Driver } from './driver/s3.js';
import { createS3Client, describeS3, type S3Settings } from './driver/s3-client.js';
import { BERTH_STATE_DIR } from './layout.js';
import { LayoutStorage, type LayoutStorageOptions } from './layout-storage.js';

export type StorageLocation =
  /** `root` is a real path (no symlinks) that holds, or will hold, docker/registry/v2. */
  | { readonly kind: 'filesystem'; readonly root: string }
  | { readonly kind: 's3'; readonly settings: S3Settings };

export function openDriver(location: StorageLocation): StorageDriver {
  if (location.kind === 'filesystem') return new FilesystemDriver(location.root, { stateDir: BERTH_STATE_DIR });
  const { settings } = location;
  return new S3Driver({
    client: createS3Client(settings),
    bucket: settings.bucket,
    rootDirectory: settings.rootDirectory,
    partSize: settings.chunkSize,
    ...(settings.redirectExpiryMs !== undefined ? { redirectExpiryMs: settings.redirectExpiryMs } : {}),
    stateDir: BERTH_STATE_DIR,
    endpointLabel: describeS3(settings),
  });
}

export function openStorage(location: StorageLocation, options: LayoutStorageOptions = {}): LayoutStorage {
  return new LayoutStorage(openDriver(location), options);
}
