// Upload sessions in distribution's `_uploads/<uuid>/{data,startedat}` layout, over a
// driver's writer (a file on disk, a multipart upload on S3). Bytes are hashed as they
// are stored, so finishing a session needs no second read of the data in the common
// case. A session continued by another process (a restarted registry, another replica,
// a session begun by registry:2) has no hash in memory here: it is hashed once, from
// the stored bytes, when it is finished.
import type { Hash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { createDigester, digestFromHash, type Digest } from '../oci/digest.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { contentStream } from './content-stream.js';
import { WriterGoneError, type FileWriter, type StorageDriver } from './driver/driver.js';
import { uploadDataPath, uploadDirectory, uploadStartedAtPath } from './layout.js';
import type { AppendResult, ChunkOptions, UploadFailure, UploadStatus } from './types.js';

const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** In-memory hashes kept for sessions this process wrote last; beyond that, re-hash at commit. */
const MAX_SESSIONS = 10_000;

/**
 * The client's idea of the session differs from what is stored: its chunk starts
 * elsewhere, or its signed state names another offset (a stale Location, a request
 * replayed after the session moved on). Appending would corrupt the blob.
 */
function isOutOfStep(options: ChunkOptions, stored: number): boolean {
  return (options.start !== undefined && options.start !== stored) || (options.expectedOffset !== undefined && options.expectedOffset !== stored);
}

export function isValidUploadId(id: string): boolean {
  return UPLOAD_ID_PATTERN.test(id);
}

interface Session {
  /** sha256 over bytes [0, offset) as stored. */
  readonly hasher: Hash;
  offset: number;
}

export type VerifyResult =
  | { readonly ok: true; readonly size: number; readonly dataPath: string }
  | UploadFailure
  | { readonly ok: false; readonly reason: 'digest-mismatch'; readonly actual: string };

export class UploadArea {
  private readonly sessions = new Map<string, Session>();
  private readonly locks = new KeyedMutex();

  constructor(private readonly driver: StorageDriver) {}

  private key(repository: string, id: string): string {
    return `${repository}\u0000${id}`;
  }

  async start(repository: string): Promise<UploadStatus> {
    const id = randomUUID();
    await this.driver.putContent(uploadStartedAtPath(repository, id), new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
    await this.driver.create(uploadDataPath(repository, id));
    this.remember(repository, id, { hasher: createDigester('sha256'), offset: 0 });
    return { id, offset: 0 };
  }

  /** Serialises all work on one session within this process. */
  withSession<T>(repository: string, id: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(this.key(repository, id), work);
  }

  /** True while a request is writing or finishing this session. */
  isBusy(repository: string, id: string): boolean {
    return this.locks.isBusy(this.key(repository, id));
  }

  private async writer(repository: string, id: string, expectedOffset: number | undefined): Promise<FileWriter | undefined> {
    if (!isValidUploadId(id)) return undefined;
    return this.driver.resume(uploadDataPath(repository, id), expectedOffset !== undefined ? { expectedSize: expectedOffset } : {});
  }

  async status(repository: string, id: string, expectedOffset?: number): Promise<UploadStatus | undefined> {
    const writer = await this.writer(repository, id, expectedOffset);
    return writer ? { id, offset: writer.size } : undefined;
  }

  /** Appends a chunk. Call inside withSession. */
  async append(repository: string, id: string, body: AsyncIterable<Uint8Array>, options: ChunkOptions): Promise<AppendResult> {
    const writer = await this.writer(repository, id, options.expectedOffset);
    if (!writer) return { ok: false, reason: 'upload-unknown' };
    return this.appendTo(repository, id, writer, body, options);
  }

  private async appendTo(repository: string, id: string, writer: FileWriter, body: AsyncIterable<Uint8Array>, options: ChunkOptions): Promise<AppendResult> {
    const before = writer.size;
    if (isOutOfStep(options, before)) return { ok: false, reason: 'range-mismatch', offset: before };
    const key = this.key(repository, id);
    const known = this.sessions.get(key);
    // A hash is only continued when it covers exactly the bytes stored so far.
    const session = known && known.offset === before ? known : undefined;
    this.sessions.delete(key);
    // On a failed append the session stays forgotten: what was stored is unknown, and
    // the hash is rebuilt from the stored bytes at commit.
    let outcome;
    try {
      outcome = await writer.append(body, (chunk) => session?.hasher.update(chunk));
    } catch (error) {
      if (error instanceof WriterGoneError) return { ok: false, reason: 'upload-unknown' };
      throw error;
    }
    if (session) this.remember(repository, id, { hasher: session.hasher, offset: outcome.size });
    const received = outcome.size - before;
    if (outcome.bodyFailed) return { ok: false, reason: 'incomplete-body', offset: outcome.size };
    if (options.length !== undefined && received !== options.length) {
      return { ok: false, reason: 'size-mismatch', expected: options.length, received };
    }
    return { ok: true, status: { id, offset: outcome.size } };
  }

  /**
   * Appends the last chunk (if any), makes the bytes durable and checks them against
   * `digest`. Call inside withSession. Nothing is visible to readers yet: the caller
   * moves the verified bytes into the blob store.
   */
  async finish(repository: string, id: string, digest: Digest, body: AsyncIterable<Uint8Array> | undefined, options: ChunkOptions): Promise<VerifyResult> {
    const writer = await this.writer(repository, id, options.expectedOffset);
    if (!writer) return { ok: false, reason: 'upload-unknown' };
    if (body) {
      const appended = await this.appendTo(repository, id, writer, body, options);
      if (!appended.ok) return appended;
    } else if (isOutOfStep(options, writer.size)) {
      return { ok: false, reason: 'range-mismatch', offset: writer.size };
    }
    try {
      await writer.commit();
    } catch (error) {
      if (error instanceof WriterGoneError) return { ok: false, reason: 'upload-unknown' };
      throw error;
    }
    const dataPath = uploadDataPath(repository, id);
    const session = this.sessions.get(this.key(repository, id));
    let actual: Digest;
    if (digest.algorithm === 'sha256' && session && session.offset === writer.size) {
      actual = digestFromHash('sha256', session.hasher.copy());
    } else {
      actual = await this.hashStored(dataPath, digest.algorithm);
    }
    if (actual.value !== digest.value) return { ok: false, reason: 'digest-mismatch', actual: actual.value };
    return { ok: true, size: writer.size, dataPath };
  }

  /** Removes the session: its writer (a multipart upload) and its directory. */
  async discard(repository: string, id: string): Promise<boolean> {
    if (!isValidUploadId(id)) return false;
    this.sessions.delete(this.key(repository, id));
    const writer = await this.driver.resume(uploadDataPath(repository, id));
    const startedAt = await this.driver.stat(uploadStartedAtPath(repository, id));
    if (!writer && !startedAt) return false;
    await writer?.cancel();
    await this.driver.delete(uploadDirectory(repository, id));
    return true;
  }

  /** Forgets the in-memory state of a session that was committed. */
  forget(repository: string, id: string): void {
    this.sessions.delete(this.key(repository, id));
  }

  private remember(repository: string, id: string, session: Session): void {
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    this.sessions.set(this.key(repository, id), session);
  }

  private async hashStored(path: string, algorithm: Digest['algorithm']): Promise<Digest> {
    const hasher = createDigester(algorithm);
    const source = await this.driver.open(path);
    if (!source) throw new Error(`upload data vanished: ${path}`);
    for await (const chunk of contentStream(source)) hasher.update(chunk as Buffer);
    return digestFromHash(algorithm, hasher);
  }
}
