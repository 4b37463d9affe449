// Small JSON records of Berth's own beside distribution's layout, under
// docker/registry/v2/_berth/ (registry:2 never looks there): what every process serving
// the storage (workers, replicas, a `registry gc` run) must be able to read, such as the
// GC record and the UI's garbage-collection job.
import type { StorageDriver } from './driver/driver.js';
import { BERTH_STATE_DIR } from './layout.js';

function recordPath(name: string): string {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`invalid state record name ${JSON.stringify(name)}`);
  return `${BERTH_STATE_DIR}/${name}.json`;
}

/** The parsed record; undefined when it is absent or unreadable (a record is never vital). */
export async function readStateRecord(driver: StorageDriver, name: string): Promise<unknown> {
  const raw = await driver.getContent(recordPath(name)).catch(() => undefined);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Replaces the record atomically. */
export async function writeStateRecord(driver: StorageDriver, name: string, value: unknown): Promise<void> {
  await driver.putContent(recordPath(name), JSON.stringify(value));
}
