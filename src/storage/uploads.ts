// Upload sessions in distribution's `_uploads/<uuid>/{data,startedat}` layout. Bytes are
// hashed as they are written, so finishing a session needs no second read of the data.
// After a restart (or a session begun by registry:2) the hash is rebuilt from disk once.
import type { Hash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { createDigester, digestFromHash, type Digest } from '../oci/digest.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { FsRoot } from './fs-root.js';
import { uploadDataPath, uploadDirectory, uploadStartedAtPath } from './layout.js';
import type { AppendResult, ChunkOptions, UploadFailure, UploadStatus } from './types.js';

const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Writes are batched to about this size: fewer syscalls, one batch in flight. */
const WRITE_BATCH_BYTES = 1024 * 1024;
/**
 * A big upload starts the disk writing behind it (fdatasync) every this many bytes, so the
 * fsync that makes the blob durable at commit has only the tail left to flush instead of
 * the whole blob (on a 512 MiB push that final fsync was ~5% of the push).
 */
const EARLY_SYNC_BYTES = 64 * 1024 * 1024;

export function isValidUploadId(id: string): boolean {
  return UPLOAD_ID_PATTERN.test(id);
}

interface Session {
  offset: number;
  /** sha256 over bytes [0, offset); undefined until rebuilt from disk. */
  hasher: Hash | undefined;
}

export type VerifyResult =
  | { readonly ok: true; readonly size: number; readonly dataPath: string }
  | UploadFailure
  | { readonly ok: false; readonly reason: 'digest-mismatch'; readonly actual: string };

export class UploadArea {
  private readonly sessions = new Map<string, Session>();
  private readonly locks = new KeyedMutex();

  constructor(private readonly fs: FsRoot) {}

  private key(repository: string, id: string): string {
    return `${repository}\u0000${id}`;
  }

  async start(repository: string): Promise<UploadStatus> {
    const id = randomUUID();
    await this.fs.mkdirp(uploadDirectory(repository, id));
    await this.fs.writeFileAtomic(uploadStartedAtPath(repository, id), new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const handle = await this.fs.openForWrite(uploadDataPath(repository, id), true);
    await handle.close();
    this.sessions.set(this.key(repository, id), { offset: 0, hasher: createDigester('sha256') });
    return { id, offset: 0 };
  }

  /** Serialises all work on one session. */
  withSession<T>(repository: string, id: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(this.key(repository, id), work);
  }

  /** Loads the session, from memory or from disk; undefined when it does not exist. */
  private async load(repository: string, id: string): Promise<Session | undefined> {
    if (!isValidUploadId(id)) return undefined;
    const key = this.key(repository, id);
    const known = this.sessions.get(key);
    const stats = await this.fs.stat(uploadDataPath(repository, id));
    if (!stats) {
      this.sessions.delete(key);
      return undefined;
    }
    if (known && known.offset === stats.size) return known;
    // Unknown to this process, or the file changed under us: trust the disk.
    const session: Session = { offset: stats.size, hasher: undefined };
    this.sessions.set(key, session);
    return session;
  }

  async status(repository: string, id: string): Promise<UploadStatus | undefined> {
    const session = await this.load(repository, id);
    return session ? { id, offset: session.offset } : undefined;
  }

  /** Appends a chunk. Call inside withSession. */
  async append(repository: string, id: string, body: AsyncIterable<Uint8Array>, options: ChunkOptions): Promise<AppendResult> {
    const session = await this.load(repository, id);
    if (!session) return { ok: false, reason: 'upload-unknown' };
    if (options.start !== undefined && options.start !== session.offset) {
      return { ok: false, reason: 'range-mismatch', offset: session.offset };
    }
    await this.ensureHasher(repository, id, session);
    const before = session.offset;
    const handle = await this.fs.openForWrite(uploadDataPath(repository, id), false);
    let bodyFailed: boolean;
    try {
      bodyFailed = !(await writeBody(handle, session, body));
    } catch (error) {
      await handle.truncate(session.offset).catch(() => undefined);
      throw error;
    } finally {
      await handle.close();
    }
    const received = session.offset - before;
    if (bodyFailed) return { ok: false, reason: 'incomplete-body', offset: session.offset };
    if (options.length !== undefined && received !== options.length) {
      return { ok: false, reason: 'size-mismatch', expected: options.length, received };
    }
    return { ok: true, status: { id, offset: session.offset } };
  }

  /** Checks the received bytes against `digest` and makes them durable. Call inside withSession. */
  async verify(repository: string, id: string, digest: Digest): Promise<VerifyResult> {
    const session = await this.load(repository, id);
    if (!session) return { ok: false, reason: 'upload-unknown' };
    const dataPath = uploadDataPath(repository, id);
    let actual: Digest;
    if (digest.algorithm === 'sha256') {
      await this.ensureHasher(repository, id, session);
      actual = digestFromHash('sha256', session.hasher!.copy());
    } else {
      actual = digestFromHash(digest.algorithm, await this.hashFile(dataPath, digest.algorithm, session.offset));
    }
    if (actual.value !== digest.value) return { ok: false, reason: 'digest-mismatch', actual: actual.value };
    const handle = await this.fs.openForWrite(dataPath, false);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { ok: true, size: session.offset, dataPath };
  }

  /** Removes the session's directory (after commit or on cancel). */
  async discard(repository: string, id: string): Promise<boolean> {
    if (!isValidUploadId(id)) return false;
    this.sessions.delete(this.key(repository, id));
    const exists = await this.fs.stat(uploadDirectory(repository, id));
    if (!exists) return false;
    await this.fs.removeTree(uploadDirectory(repository, id));
    return true;
  }

  private async ensureHasher(repository: string, id: string, session: Session): Promise<void> {
    if (session.hasher) return;
    session.hasher = await this.hashFile(uploadDataPath(repository, id), 'sha256', session.offset);
  }

  private async hashFile(relativePath: string, algorithm: Digest['algorithm'], length: number): Promise<Hash> {
    const hasher = createDigester(algorithm);
    if (length === 0) return hasher;
    const stream = await this.fs.createReadStream(relativePath, { start: 0, end: length - 1 });
    if (!stream) throw new Error(`upload data vanished: ${relativePath}`);
    for await (const chunk of stream) hasher.update(chunk as Buffer);
    return hasher;
  }

  /** True while a request is writing or finishing this session. */
  isBusy(repository: string, id: string): boolean {
    return this.locks.isBusy(this.key(repository, id));
  }
}

/**
 * Writes `body` at the session offset, advancing offset and hash only for bytes that
 * reached the file. Returns false when the body stream failed (client went away).
 */
async function writeBody(handle: FileHandle, session: Session, body: AsyncIterable<Uint8Array>): Promise<boolean> {
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let inFlight: Promise<void> = Promise.resolve();
  let unsynced = 0;
  // One early sync at a time. Its error is not swallowed: after a failed writeback the
  // kernel may report the error to this descriptor only, never to the commit's fsync.
  let syncing: Promise<void> | undefined;
  let syncError: unknown;
  const flush = (buffers: Uint8Array[], bytes: number): Promise<void> =>
    inFlight.then(async () => {
      const position = session.offset;
      let written = 0;
      while (written < bytes) {
        const { bytesWritten } = await handle.writev(skipBytes(buffers, written), position + written);
        if (bytesWritten === 0) throw new Error('write made no progress');
        written += bytesWritten;
      }
      for (const buffer of buffers) session.hasher!.update(buffer);
      session.offset += bytes;
      unsynced += bytes;
      if (unsynced >= EARLY_SYNC_BYTES && syncing === undefined) {
        unsynced = 0;
        syncing = handle.datasync().then(
          () => {
            syncing = undefined;
          },
          (error: unknown) => {
            syncError ??= error;
            syncing = undefined;
          },
        );
      }
    });
  const settle = async (): Promise<void> => {
    await inFlight;
    if (syncing) await syncing;
    if (syncError !== undefined) throw syncError;
  };
  try {
    for await (const chunk of body) {
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= WRITE_BATCH_BYTES) {
        await inFlight; // at most one batch in flight: bounded memory, overlap of read and write
        inFlight = flush(batch, batchBytes);
        // A failed write (ENOSPC) is seen at the next await of inFlight; until then the
        // body may keep the loop waiting, and an unobserved rejection would kill the process.
        inFlight.catch(() => undefined);
        batch = [];
        batchBytes = 0;
      }
    }
  } catch {
    await settle();
    return false;
  }
  await inFlight;
  if (batchBytes > 0) await flush(batch, batchBytes);
  await settle();
  return true;
}

function skipBytes(buffers: Uint8Array[], skip: number): Uint8Array[] {
  if (skip === 0) return buffers;
  const out: Uint8Array[] = [];
  let remaining = skip;
  for (const buffer of buffers) {
    if (remaining >= buffer.length) {
      remaining -= buffer.length;
      continue;
    }
    out.push(remaining > 0 ? buffer.subarray(remaining) : buffer);
    remaining = 0;
  }
  return out;
}
