// Upload purging: sessions nobody finished (client gone, server killed) are removed
// once they have been idle for `maxAgeMs`, as registry:2's uploadpurging does.
import type { FsRoot } from './fs-root.js';
import { REPOSITORIES_ROOT } from './layout.js';

export interface PurgeReport {
  readonly removed: number;
  readonly bytes: number;
}

/** Every `_uploads/<entry>` under the repositories tree, as paths relative to the root. */
async function uploadEntries(fs: FsRoot, relative = REPOSITORIES_ROOT, found: string[] = []): Promise<string[]> {
  for (const entry of await fs.readdir(relative)) {
    if (!entry.isDirectory()) continue;
    const child = `${relative}/${entry.name}`;
    if (entry.name === '_uploads') {
      for (const upload of await fs.readdir(child)) if (upload.isDirectory()) found.push(`${child}/${upload.name}`);
    } else if (!entry.name.startsWith('_')) {
      await uploadEntries(fs, child, found);
    }
  }
  return found;
}

/**
 * Removes upload directories idle for longer than `maxAgeMs`. `isBusy` protects
 * sessions this process is writing right now. Leftover staging directories (tag and
 * manifest staging use `_uploads` too) are removed by the same rule.
 */
export async function purgeStaleUploads(fs: FsRoot, maxAgeMs: number, isBusy: (path: string) => boolean, now = Date.now()): Promise<PurgeReport> {
  let removed = 0;
  let bytes = 0;
  for (const path of await uploadEntries(fs)) {
    if (isBusy(path)) continue;
    const dir = await fs.stat(path);
    const data = await fs.stat(`${path}/data`);
    const lastActivity = Math.max(dir?.mtimeMs ?? 0, data?.mtimeMs ?? 0);
    if (now - lastActivity <= maxAgeMs) continue;
    bytes += data?.size ?? 0;
    await fs.removeTree(path);
    removed += 1;
  }
  return { removed, bytes };
}
