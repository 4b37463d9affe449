// The shim's unix socket over its lifetime: the parent directory is created; a file
// left by a shim that died is removed, but a socket some live server still answers on
// is never taken over; once the runtime socket exists, the shim socket gets its owner
// and mode (whoever may talk to the runtime may talk to the shim, nobody else); on
// shutdown the socket is removed, if it is still the one this process created.
import { createConnection } from 'node:net';
import { chmod, chown, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

export class SocketError extends Error {}

/** Mode of a directory the shim creates for its socket (the old shim's choice). */
const PARENT_DIR_MODE = 0o711;
/** Mode until the runtime socket's mode is known. */
export const INITIAL_SOCKET_MODE = 0o660;

/** Whether a server accepts connections on `socketPath` within `timeoutMs`. */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<'live' | 'refused'> {
  return new Promise((resolve, reject) => {
    const connection = createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      connection.destroy();
      // Accepting nothing within the limit is still someone holding the socket.
      resolve('live');
    }, timeoutMs);
    connection.once('connect', () => {
      clearTimeout(timer);
      connection.destroy();
      resolve('live');
    });
    connection.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve('refused');
      else reject(error);
    });
  });
}

/** Makes `socketPath` free to bind. Returns whether a stale socket file was removed. */
export async function prepareSocketPath(socketPath: string): Promise<{ removedStale: boolean }> {
  await mkdir(path.dirname(socketPath), { recursive: true, mode: PARENT_DIR_MODE });
  const existing = await lstat(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!existing) return { removedStale: false };
  if (!existing.isSocket()) throw new SocketError(`${socketPath} exists and is not a socket; refusing to replace it (remove it or set another path with "shim:")`);
  if ((await socketAnswers(socketPath)) === 'live') {
    throw new SocketError(`socket ${socketPath} is already in use: a live server answers on it (another berth shim or image-cri-shim?); stop it first or set another path with "shim:"`);
  }
  await unlink(socketPath);
  return { removedStale: true };
}

/** Gives `socketPath` the owner, group and permission bits of `runtimeSocket`. */
export async function copySocketOwnership(runtimeSocket: string, socketPath: string): Promise<{ uid: number; gid: number; mode: number }> {
  const runtime = await stat(runtimeSocket);
  const mode = runtime.mode & 0o7777;
  const own = await stat(socketPath);
  if (own.uid !== runtime.uid || own.gid !== runtime.gid) await chown(socketPath, runtime.uid, runtime.gid);
  await chmod(socketPath, mode);
  return { uid: runtime.uid, gid: runtime.gid, mode };
}

/** The identity of the socket file this process bound, so shutdown never removes another's. */
export async function socketIdentity(socketPath: string): Promise<{ dev: number; ino: number } | undefined> {
  const info = await lstat(socketPath).catch(() => undefined);
  return info ? { dev: info.dev, ino: info.ino } : undefined;
}

export async function removeSocket(socketPath: string, identity: { dev: number; ino: number } | undefined): Promise<boolean> {
  const info = await lstat(socketPath).catch(() => undefined);
  if (!info || !info.isSocket()) return false;
  if (identity && (info.dev !== identity.dev || info.ino !== identity.ino)) return false;
  await unlink(socketPath).catch(() => undefined);
  return true;
}
