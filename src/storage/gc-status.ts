// A small record of garbage collections in the registry's storage, so the registry that
// serves it can report GC runs in its metrics (and its UI) even though GC may run as
// its own process. It lives under docker/registry/v2/_berth/, which registry:2 never
// looks at.
import type { StorageDriver } from './driver/driver.js';
import { readStateRecord, writeStateRecord } from './state-record.js';
import type { GcStatus } from './types.js';

const RECORD = 'gc-status';

const EMPTY: GcStatus = { runs: 0, bytesFreed: 0, lastRunEnd: undefined, lastRun: undefined };

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
const object = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

export async function readGcStatus(driver: StorageDriver): Promise<GcStatus> {
  const parsed = object(await readStateRecord(driver, RECORD));
  if (!parsed) return EMPTY;
  const last = object(parsed['lastRun']);
  const lastBytes = count(last?.['bytesFreed']);
  const lastBlobs = count(last?.['blobsDeleted']);
  return {
    runs: count(parsed['runs']) ?? 0,
    bytesFreed: count(parsed['bytesFreed']) ?? 0,
    lastRunEnd: typeof parsed['lastRunEnd'] === 'string' ? parsed['lastRunEnd'] : undefined,
    lastRun: lastBytes !== undefined && lastBlobs !== undefined ? { bytesFreed: lastBytes, blobsDeleted: lastBlobs } : undefined,
  };
}

/** Adds one finished (not dry-run) collection to the record. */
export async function recordGcRun(driver: StorageDriver, freed: { bytes: number; blobs: number }, end = new Date()): Promise<void> {
  const previous = await readGcStatus(driver);
  const next: GcStatus = {
    runs: previous.runs + 1,
    bytesFreed: previous.bytesFreed + freed.bytes,
    lastRunEnd: end.toISOString(),
    lastRun: { bytesFreed: freed.bytes, blobsDeleted: freed.blobs },
  };
  await writeStateRecord(driver, RECORD, next);
}
