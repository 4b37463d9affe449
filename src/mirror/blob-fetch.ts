// One blob coming from an upstream, fetched once for every client that asks for it
// meanwhile (single-flight), streamed to each of them as it arrives, and stored.
//
// The bytes go to a spool file on local disk first, which clients read ("tail") each at
// its own pace. How the storage gets them depends on it:
// - a filesystem driver whose root holds the spool directory takes the spool file
//   itself: once the blob is verified, the file is fsynced and renamed into the blob
//   store (no second copy of the bytes);
// - any other storage (S3, where an upload cannot be read back before it is committed)
//   gets an ordinary upload that tails the spool too, so a slow storage never slows the
//   clients, and that verifies the digest itself before the blob appears.
// The spool file is removed when the fetch is over; one left by a crash is removed at
// the next start (removeAbandonedSpools).
//
// Nothing unverified becomes visible, and a fetch that fails midway leaves nothing
// behind. A client gets every byte of its range but the last as soon as it is here; the
// last one only once the whole blob matched its digest, so a client can never take a
// corrupt blob for a complete one: on a mismatch its connection is cut short instead.
import { randomUUID } from 'node:crypto';
import { open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { skipBytes } from '../util/buffers.js';
import type { UpstreamBlob } from './upstream.js';

/** How a fetch began: the size once the upstream's headers are in, or why there is nothing. */
export type FetchStart = { readonly ok: true; readonly size: number } | { readonly ok: false; readonly absent: boolean; readonly message: string };

export type OpenResult = { readonly kind: 'found'; readonly blob: UpstreamBlob; readonly onBytes: (count: number) => void } | { readonly kind: 'absent' } | { readonly kind: 'failed'; readonly message: string };

/** How the storage takes a fetched blob. */
export type SpoolCommit =
  /** An upload fed from the spool while it fills (`body` is `size` bytes); it verifies on its own. */
  | { readonly kind: 'stream'; store(body: Readable, size: number): Promise<void> }
  /** The spool file itself (`name`, in the spool directory), verified and fsynced, moved into place. */
  | { readonly kind: 'file'; store(name: string, size: number): Promise<void> };

export interface BlobFetchOptions {
  readonly spoolDir: string;
  /** Opens the upstream response (the first healthy upstream that has the blob). */
  readonly open: () => Promise<OpenResult>;
  /** The body stopped or did not match its digest: records it; the message for clients and logs. */
  readonly streamFailed: (error: unknown) => string;
  /** Stores the blob; throws or reports on failure. */
  readonly commit: SpoolCommit;
}

const READ_CHUNK_BYTES = 1024 * 1024;
/** Received but not yet in the spool: beyond this, the upstream socket waits. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export class BlobFetch {
  /** Resolves once the upstream's headers are in (the size is known), or the fetch failed first. */
  readonly started: Promise<FetchStart>;
  /** Resolves when the fetch and the storage commit are both over, however they ended. */
  readonly finished: Promise<void>;
  private handle: FileHandle | undefined;
  private readonly name = `${process.pid}-${randomUUID()}`;
  private written = 0;
  private size: number | undefined;
  private state: 'fetching' | 'verified' | 'failed' = 'fetching';
  private error: Error | undefined;
  private waiters: Array<() => void> = [];
  /** The fetch itself, the commit and every open reader: the spool closes when none is left. */
  private users = 1;
  private closed = false;
  private resolveStart!: (start: FetchStart) => void;

  constructor(private readonly options: BlobFetchOptions) {
    this.started = new Promise((resolve) => {
      this.resolveStart = resolve;
    });
    this.finished = this.run();
  }

  /** True once the fetch failed: it serves nobody any more, and a new one may be tried. */
  get failed(): boolean {
    return this.state === 'failed';
  }

  /** Why it failed (a line for clients and logs), once it did. */
  get failure(): Error | undefined {
    return this.error;
  }

  /**
   * A stream of bytes [start, end] for a client; it ends only once the blob is verified.
   * Undefined once the spool is gone: the fetch and its commit are over (read the storage).
   */
  reader(range?: { start: number; end: number }): { stream: Readable; size: number } | undefined {
    if (this.closed) return undefined;
    const size = this.size ?? this.written;
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    return { stream: new SpoolReader(this, start, end, true), size: end - start + 1 };
  }

  private async run(): Promise<void> {
    const file = path.join(this.options.spoolDir, this.name);
    try {
      const opened = await this.openSpool(file);
      if (!opened) return;
      const answer = await this.options.open();
      if (answer.kind !== 'found') {
        const message = answer.kind === 'failed' ? answer.message : 'not found upstream';
        this.fail(new Error(message), { ok: false, absent: answer.kind === 'absent', message });
        return;
      }
      const { stream, size } = answer.blob;
      this.size = size;
      const { commit } = this.options;
      const streaming = commit.kind === 'stream' && size !== undefined ? this.streamCommit(size) : undefined;
      if (size !== undefined) this.resolveStart({ ok: true, size });
      await this.receive(stream, size, answer.onBytes);
      // Without a Content-Length the size is known (and the storage written) only now.
      if (size === undefined && this.state === 'verified') this.resolveStart({ ok: true, size: this.written });
      if (streaming) await streaming;
      else if (this.state === 'verified') await (commit.kind === 'stream' ? this.streamCommit(this.written) : this.fileCommit());
    } finally {
      // Moved into the storage by a file commit, or of no use any more; readers keep the descriptor.
      if (this.handle) await unlink(file).catch(() => undefined);
      this.release();
    }
  }

  private async openSpool(file: string): Promise<boolean> {
    try {
      // Readable by others like every blob file, should it become one (the directory is private).
      this.handle = await open(file, 'wx+', 0o644);
      return true;
    } catch (error) {
      const message = `cannot spool the blob in ${this.options.spoolDir}: ${(error as Error).message}`;
      this.fail(new Error(message), { ok: false, absent: false, message });
      return false;
    }
  }

  /**
   * Writes the body to the spool while it keeps arriving: what comes in while a write is
   * in flight goes out in the next one (one writev), so the socket is read at its own
   * pace and readers are woken once per write, not per network chunk.
   */
  private async receive(stream: Readable, size: number | undefined, onBytes: (count: number) => void): Promise<void> {
    const queue: Buffer[] = [];
    let queued = 0;
    let writing: Promise<void> | undefined;
    let writeError: unknown;
    const drain = async (): Promise<void> => {
      for (;;) {
        // Checked and cleared in one step: a chunk queued later starts a new drain.
        if (queue.length === 0) {
          writing = undefined;
          return;
        }
        const buffers = queue.splice(0);
        const bytes = queued;
        queued = 0;
        await this.writeAt(buffers, bytes, this.written);
        this.written += bytes;
        onBytes(bytes);
        this.notify();
      }
    };
    const startWriting = (): void => {
      writing ??= drain().catch((error: unknown) => {
        writeError = error;
        writing = undefined;
      });
    };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (writeError !== undefined) throw writeError;
        queue.push(chunk);
        queued += chunk.length;
        startWriting();
        // A disk slower than the network: stop reading until the spool catches up.
        if (queued >= MAX_QUEUED_BYTES) await writing;
      }
      while (writing) await writing;
      if (writeError !== undefined) throw writeError;
      if (size !== undefined && this.written !== size) throw new Error(`the body had ${this.written} bytes where Content-Length said ${size}`);
      this.size = this.written;
      this.state = 'verified';
      this.notify();
    } catch (error) {
      stream.destroy();
      // A write in flight must end before the spool is given up.
      while (writing) await writing;
      const message = this.options.streamFailed(error);
      this.fail(new Error(message), { ok: false, absent: false, message });
    }
  }

  private async writeAt(buffers: Buffer[], bytes: number, position: number): Promise<void> {
    let done = 0;
    while (done < bytes) {
      const { bytesWritten } = await this.handle!.writev(skipBytes(buffers, done), position + done);
      if (bytesWritten === 0) throw new Error('a spool write made no progress');
      done += bytesWritten;
    }
  }

  private async streamCommit(size: number): Promise<void> {
    const { commit } = this.options;
    if (commit.kind !== 'stream') return;
    const body = new SpoolReader(this, 0, size - 1, false);
    try {
      await commit.store(body, size);
    } finally {
      body.destroy();
    }
  }

  /** The verified spool file goes to the storage as it is: durable first, then moved. */
  private async fileCommit(): Promise<void> {
    const { commit } = this.options;
    if (commit.kind !== 'file') return;
    await this.handle!.sync();
    await commit.store(this.name, this.written);
  }

  private fail(error: Error, start: FetchStart): void {
    this.error = error;
    this.state = 'failed';
    this.resolveStart(start);
    this.notify();
  }

  private notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }

  acquire(): void {
    this.users += 1;
  }

  release(): void {
    this.users -= 1;
    if (this.users > 0) return;
    this.closed = true;
    void this.handle?.close().catch(() => undefined);
  }

  /**
   * Up to 1 MiB from `position` (≤ `end`), waiting until it is here. A client reader
   * (`holdBack`) is not given the last byte of its range before the blob is verified.
   */
  async readAt(position: number, end: number, holdBack: boolean): Promise<Buffer> {
    for (;;) {
      if (this.state === 'failed') throw this.error ?? new Error('the upstream fetch failed');
      const limit = this.state === 'verified' || !holdBack ? this.written : Math.min(this.written, end);
      if (position < limit) {
        const length = Math.min(limit, end + 1, position + READ_CHUNK_BYTES) - position;
        const buffer = Buffer.allocUnsafe(length);
        const { bytesRead } = await this.handle!.read(buffer, 0, length, position);
        if (bytesRead === 0) throw new Error('the spool file ended early');
        return bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Resolves once the blob is verified; throws when the fetch failed. */
  async verified(): Promise<void> {
    while (this.state === 'fetching') await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.state === 'failed') throw this.error ?? new Error('the upstream fetch failed');
  }
}

/** Bytes [start, end] of a fetch's spool, as they arrive, with backpressure. */
class SpoolReader extends Readable {
  private position: number;
  private reading = false;
  private released = false;

  constructor(
    private readonly fetch: BlobFetch,
    start: number,
    private readonly end: number,
    private readonly holdBack: boolean,
  ) {
    super({ highWaterMark: READ_CHUNK_BYTES });
    this.position = start;
    fetch.acquire();
  }

  override _read(): void {
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      while (!this.destroyed) {
        if (this.position > this.end) {
          // Not even the storage commit sees its body end before the digest matched.
          await this.fetch.verified();
          this.push(null);
          return;
        }
        const chunk = await this.fetch.readAt(this.position, this.end, this.holdBack);
        if (this.destroyed) return;
        this.position += chunk.length;
        if (!this.push(chunk)) return;
      }
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.reading = false;
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.released) {
      this.released = true;
      this.fetch.release();
    }
    callback(error);
  }
}

/**
 * Removes spool files a process that is gone left behind (a crash mid-fetch); the files
 * of live processes (another registry on the same data directory) are theirs.
 */
export async function removeAbandonedSpools(spoolDir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(spoolDir).catch(() => [] as string[])) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await unlink(path.join(spoolDir, name)).then(() => (removed += 1), () => undefined);
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

