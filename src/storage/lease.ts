// A lease in the storage: one holder at a time, for work that must run in one place only
// (garbage collection), across processes and hosts that share nothing but the storage.
// It is an object created only if absent (O_EXCL on disk, a conditional PUT on S3),
// naming its holder and when the lease runs out; the holder renews it while it works.
// A lease whose holder's time ran out, or whose process is gone from this host, is
// stale and is broken with a compare-and-delete, so a lease taken meanwhile survives.
import type { StorageDriver } from './driver/driver.js';
import { describeHolder, encodeHolder, holderIsStale, newHolder, parseHolder, renewHolder, type LockHolder } from '../util/stale-lock.js';

export class LeaseBusyError extends Error {
  readonly code = 'ELEASEBUSY';
}

export interface Lease {
  /** Throws if the lease was lost (broken by another process after it ran out). */
  renew(): Promise<void>;
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** What holds such a lease, for the busy message ("another garbage collection"). */
  readonly holderName?: string;
  /** How long the lease lasts without renewal. */
  readonly durationMs?: number;
  /** Renewed this often while held. */
  readonly renewEveryMs?: number;
}

const DEFAULT_DURATION_MS = 120_000;
const DEFAULT_RENEW_MS = 30_000;

export async function acquireLease(driver: StorageDriver, path: string, options: LeaseOptions = {}): Promise<Lease> {
  const durationMs = options.durationMs ?? DEFAULT_DURATION_MS;
  let holder = newHolder(durationMs);
  let version: string | undefined;
  for (let attempt = 0; attempt < 3 && version === undefined; attempt++) {
    if (await driver.createExclusive(path, encodeHolder(holder))) {
      version = (await driver.getVersioned(path))?.version;
      if (version === undefined) throw new LeaseBusyError(`the lease ${path} vanished as it was taken`);
      break;
    }
    const current = await driver.getVersioned(path);
    if (!current) continue;
    const other = parseHolder(current.content.toString('utf8'));
    if (other && !holderIsStale(other)) {
      throw new LeaseBusyError(`${options.holderName ?? 'another process'} holds ${driver.location}/${path} (${describeHolder(other)})`);
    }
    // A dead holder, or an unreadable lease: remove exactly what we judged.
    await driver.deleteIfVersion(path, current.version);
  }
  if (version === undefined) throw new LeaseBusyError(`could not take the lease ${driver.location}/${path}`);

  let lost: Error | undefined;
  const renew = async (): Promise<void> => {
    if (lost) throw lost;
    const next: LockHolder = renewHolder(holder, durationMs);
    if (!(await driver.putIfVersion(path, encodeHolder(next), version!))) {
      lost = new LeaseBusyError(`the lease ${driver.location}/${path} was taken over by another process`);
      throw lost;
    }
    holder = next;
    version = (await driver.getVersioned(path))?.version;
  };
  const timer = setInterval(() => {
    renew().catch(() => undefined);
  }, options.renewEveryMs ?? DEFAULT_RENEW_MS);
  timer.unref();
  return {
    renew,
    async release() {
      clearInterval(timer);
      if (version !== undefined && !lost) await driver.deleteIfVersion(path, version);
    },
  };
}
