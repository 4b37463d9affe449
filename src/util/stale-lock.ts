// Who holds a lock, and when a lock is stale: shared by the image store's file lock
// (store/file-lock.ts) and the registry's GC lease (storage/lease.ts). Node has no
// flock(2), and an S3 bucket has no locks at all, so a lock is an object created only if
// absent, naming its holder. A holder that dies leaves it behind; it is stale when its
// lease ran out, or when its process is gone from this very host.
import { randomBytes } from 'node:crypto';
import { link, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** Random, so a holder can tell its own lock from one taken after it was broken. */
  readonly token: string;
  readonly since: string;
  /** A lease (a lock other hosts can see) is stale after this, unless renewed. */
  readonly expiresAtMs?: number;
}

export function newHolder(leaseMs?: number, now = Date.now()): LockHolder {
  return {
    pid: process.pid,
    host: hostname(),
    token: randomBytes(12).toString('hex'),
    since: new Date(now).toISOString(),
    ...(leaseMs !== undefined ? { expiresAtMs: now + leaseMs } : {}),
  };
}

export function renewHolder(holder: LockHolder, leaseMs: number, now = Date.now()): LockHolder {
  return { ...holder, expiresAtMs: now + leaseMs };
}

export function encodeHolder(holder: LockHolder): string {
  return `${JSON.stringify(holder)}\n`;
}

/**
 * The holder recorded in a lock; undefined when unreadable (being written, or damaged).
 * Also reads the `<pid> <token>` line of locks written by earlier versions on this host.
 */
export function parseHolder(text: string): LockHolder | undefined {
  const legacy = /^(\d+) ([0-9a-f]+)\n?$/.exec(text);
  if (legacy) return { pid: Number(legacy[1]), host: hostname(), token: legacy[2]!, since: '' };
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.token !== 'string') return undefined;
    return {
      pid: parsed.pid,
      host: parsed.host,
      token: parsed.token,
      since: String(parsed.since ?? ''),
      ...(typeof parsed.expiresAtMs === 'number' ? { expiresAtMs: parsed.expiresAtMs } : {}),
    };
  } catch {
    return undefined;
  }
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

/** Stale: the lease ran out, or the holder's process is gone from this host. */
export function holderIsStale(holder: LockHolder, now = Date.now()): boolean {
  if (holder.expiresAtMs !== undefined && holder.expiresAtMs < now) return true;
  return holder.host === hostname() && !processAlive(holder.pid);
}

export function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.host}, since ${holder.since}`;
}

/**
 * Removes the lock file `file` only if its content still satisfies `matches` (the stale
 * lock that was judged): it is renamed aside first, and if a new lock was taken between
 * the judgement and the rename, it is linked back (link() fails if yet another lock was
 * created meanwhile; that one then stands). True when the judged lock was removed.
 */
export async function removeIfUnchanged(file: string, matches: (content: Buffer) => boolean): Promise<boolean> {
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const moved = await readFile(aside).catch(() => undefined);
  if (moved === undefined || matches(moved)) {
    await rm(aside, { force: true });
    return true;
  }
  await link(aside, file).catch(() => undefined);
  await rm(aside, { force: true });
  return false;
}
