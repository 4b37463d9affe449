// An exclusive lock between processes on one machine, as a file created with O_EXCL.
// Node has no flock(2), so a holder that dies leaves the file behind: it records the
// holder's PID and a random token, and a waiter that finds the PID gone breaks the
// lock. Breaking renames the file aside first and checks the token, so a lock taken
// by someone else in the meantime is put back instead of being deleted.
import { constants } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { encodeHolder, holderIsStale, newHolder, parseHolder, removeIfUnchanged, type LockHolder } from '../util/stale-lock.js';

export class LockTimeoutError extends Error {
  constructor(
    readonly file: string,
    readonly holder: number | undefined,
  ) {
    super(`timed out waiting for the lock ${file}${holder !== undefined ? ` (held by process ${holder})` : ''}`);
  }
}

export interface LockOptions {
  /** Give up after this long (the default covers a slow garbage collection). */
  readonly timeoutMs?: number;
}

async function readHolder(file: string): Promise<LockHolder | undefined | 'missing'> {
  try {
    return parseHolder(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

/** A lock file still empty after this long was left by a holder that died while creating it. */
const EMPTY_LOCK_GRACE_MS = 10_000;

/** Removes the lock left by a dead holder; a live lock taken meanwhile stays. */
async function breakStaleLock(file: string, stale: LockHolder | undefined): Promise<void> {
  await removeIfUnchanged(file, (content) => parseHolder(content.toString('utf8'))?.token === stale?.token);
}

/** Takes the lock, waiting with backoff; returns the release function. */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const mine = newHolder();
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let wait = 2;
  let lastHolder: number | undefined;
  // Bounded by the deadline: every pass either returns, throws or sleeps.
  for (;;) {
    try {
      const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        await handle.writeFile(encodeHolder(mine));
      } finally {
        await handle.close();
      }
      return () => releaseLock(file, mine.token);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(file);
    if (holder === 'missing') continue;
    if (holder !== undefined) {
      lastHolder = holder.pid;
      if (holderIsStale(holder)) {
        await breakStaleLock(file, holder);
        continue;
      }
    } else {
      // No readable holder: it is being written right now, unless it has stayed empty.
      const since = await stat(file).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (since > EMPTY_LOCK_GRACE_MS) {
        await breakStaleLock(file, undefined);
        continue;
      }
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(file, lastHolder);
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, 25);
  }
}

async function releaseLock(file: string, token: string): Promise<void> {
  const holder = await readHolder(file);
  // Only remove our own lock: if it was broken and retaken, it is not ours any more.
  if (holder !== 'missing' && holder?.token === token) await rm(file, { force: true });
}

/** Waiters inside one process queue here, so only one of them polls the file. */
const local = new KeyedMutex();

export async function withLock<T>(file: string, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  return local.run(file, async () => {
    const release = await acquireLock(file, options);
    try {
      return await work();
    } finally {
      await release();
    }
  });
}
