// Upload purging: sessions nobody finished (client gone, server killed) are removed once
// they have been idle for `maxAgeMs`, as registry:2's uploadpurging does, together with
// the driver's own abandoned partial writes (staging files, orphaned multipart uploads).
import type { StorageDriver } from './driver/driver.js';
import { REPOSITORIES_ROOT } from './layout.js';

export interface PurgeReport {
  readonly removed: number;
  readonly bytes: number;
}

/**
 * Removes `_uploads/<entry>` directories idle for longer than `maxAgeMs`. `isBusy`
 * protects sessions this process is writing right now. Leftovers of tag deletion (moved
 * into `_uploads` before removal) go by the same rule.
 */
export async function purgeStaleUploads(
  driver: StorageDriver,
  maxAgeMs: number,
  isBusy: (repository: string, id: string) => boolean,
  now = Date.now(),
): Promise<PurgeReport> {
  let removed = 0;
  let bytes = 0;
  for (const dir of await driver.findMarkedDirectories(REPOSITORIES_ROOT)) {
    if (dir.markers !== undefined && !dir.markers.includes('_uploads')) continue;
    const uploads = `${REPOSITORIES_ROOT}/${dir.path}/_uploads`;
    for (const entry of await driver.list(uploads)) {
      if (!entry.isDirectory || isBusy(dir.path, entry.name)) continue;
      let lastActivity = 0;
      let size = 0;
      for await (const file of driver.walk(`${uploads}/${entry.name}`)) {
        lastActivity = Math.max(lastActivity, file.modifiedMs);
        size += file.size;
      }
      if (now - lastActivity <= maxAgeMs) continue;
      // The session's writer may hold more than files (a multipart upload on S3).
      await (await driver.resume(`${uploads}/${entry.name}/data`))?.cancel();
      await driver.delete(`${uploads}/${entry.name}`);
      removed += 1;
      bytes += size;
    }
  }
  const abandoned = await driver.purgeAbandonedWrites(maxAgeMs);
  return { removed: removed + abandoned.removed, bytes };
}
