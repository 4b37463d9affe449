// A small record of garbage collections in the registry's storage, so the registry that
// serves it can report GC runs in its metrics even though GC runs as its own process.
// It lives under docker/registry/v2/_berth/, which registry:2 never looks at.
import type { StorageDriver } from './driver/driver.js';
import { BERTH_STATE_DIR } from './layout.js';
import type { GcStatus } from './types.js';

const STATUS_PATH = `${BERTH_STATE_DIR}/gc-status.json`;

export async function readGcStatus(driver: StorageDriver): Promise<GcStatus> {
  const raw = await driver.getContent(STATUS_PATH).catch(() => undefined);
  if (!raw) return { runs: 0, bytesFreed: 0, lastRunEnd: undefined };
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as Partial<GcStatus>;
    return {
      runs: typeof parsed.runs === 'number' ? parsed.runs : 0,
      bytesFreed: typeof parsed.bytesFreed === 'number' ? parsed.bytesFreed : 0,
      lastRunEnd: typeof parsed.lastRunEnd === 'string' ? parsed.lastRunEnd : undefined,
    };
  } catch {
    return { runs: 0, bytesFreed: 0, lastRunEnd: undefined };
  }
}

/** Adds one finished (not dry-run) collection to the record. */
export async function recordGcRun(driver: StorageDriver, bytesFreed: number, end = new Date()): Promise<void> {
  const previous = await readGcStatus(driver);
  const next: GcStatus = { runs: previous.runs + 1, bytesFreed: previous.bytesFreed + bytesFreed, lastRunEnd: end.toISOString() };
  await driver.putContent(STATUS_PATH, JSON.stringify(next));
}
