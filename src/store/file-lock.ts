// An exclusive lock between processes on one machine, as a file created with O_EXCL.
// Node has no flock(2), so a holder that dies leaves the file behind: it records the
// holder's PID and a random token, and a waiter that finds the PID gone breaks the
// lock. Breaking renames the file aside first and checks the token, so a lock taken
// by someone else in the meantime is put back instead of being deleted.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { KeyedMutex } from '../util/keyed-mutex.js';

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

interface Holder {
  readonly pid: number;
  readonly token: string;
}

function parseHolder(text: string): Holder | undefined {
  const [pid, token] = text.trim().split(/\s+/);
  const number = Number(pid);
  return Number.isInteger(number) && number > 0 && token ? { pid: number, token } : undefined;
}

/** True when `pid` is a live process (EPERM: alive, but another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(file: string): Promise<Holder | undefined | 'missing'> {
  try {
    return parseHolder(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

/** A lock file still empty after this long was left by a holder that died while creating it. */
const EMPTY_LOCK_GRACE_MS = 10_000;

/** Removes the lock left by a dead holder; a live lock found meanwhile is put back. */
async function breakStaleLock(file: string, stale: Holder | undefined): Promise<void> {
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readHolder(aside);
  if (moved !== 'missing' && moved?.token !== stale?.token) {
    // Someone took the lock between our read and the rename: restore it. link() fails
    // if yet another process created a new lock meanwhile; that one then stands.
    await link(aside, file).catch(() => undefined);
  }
  await rm(aside, { force: true });
}

/** Takes the lock, waiting with backoff; returns the release function. */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const token = randomBytes(12).toString('hex');
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let wait = 2;
  let lastHolder: number | undefined;
  // Bounded by the deadline: every pass either returns, throws or sleeps.
  for (;;) {
    try {
      const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        await handle.writeFile(`${process.pid} ${token}\n`);
      } finally {
        await handle.close();
      }
      return () => releaseLock(file, token);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(file);
    if (holder === 'missing') continue;
    if (holder !== undefined) {
      lastHolder = holder.pid;
      if (!processAlive(holder.pid)) {
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
