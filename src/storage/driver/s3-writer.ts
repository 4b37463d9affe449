// The S3 driver's writer: one object appended to across requests (an upload session),
// as an S3 multipart upload. All of its state lives in the bucket, so any process that
// shares the bucket can continue it:
//
//   <path>.multipart       {"uploadId": ...}: which multipart upload holds the parts
//   parts 1..n             each exactly `partSize` bytes (S3 wants ≥ 5 MiB but the last)
//   <path>.tail.<start>    the bytes after the parts (< partSize), starting at <start>
//
// Chunks smaller than a part (a client's small PATCHes) gather in the tail object and
// join the next part, as distribution re-seeds small parts. The tail's name carries its
// start: once a part that took in a tail's bytes is uploaded, that tail no longer starts
// at the parts' end and is ignored (then deleted), so a crash between the two writes
// never counts bytes twice. A session's size is the parts' bytes plus a current tail.
//
// Memory: at most one part buffered and one uploading per append (2 × partSize).
import type { S3Client } from '@aws-sdk/client-s3';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { WriterGoneError, type AppendOutcome, type FileWriter } from './driver.js';

export interface Part {
  readonly number: number;
  readonly etag: string;
  readonly size: number;
}

export interface WriterState {
  readonly uploadId: string;
  parts: Part[];
  /** The current tail's bytes (loaded), or undefined when there is none. */
  tail: Buffer | undefined;
  /** Keys of tail objects that are no longer current, to delete. */
  staleTails: string[];
}

/** What the writer needs from its driver: keys, calls with error mapping, deletes. */
export interface WriterContext {
  readonly client: S3Client;
  readonly bucket: string;
  readonly partSize: number;
  key(path: string): string;
  call<T>(what: string, path: string, send: () => Promise<T>): Promise<T>;
  getBytes(key: string): Promise<Buffer | undefined>;
  deleteKeys(keys: readonly string[]): Promise<void>;
  listKeys(prefix: string): Promise<Array<{ key: string; size: number }>>;
  /** Forgets (or remembers) the state of the writer at `path` for this process. */
  remember(path: string, state: WriterState | undefined): void;
}

export const sessionKeySuffix = '.multipart';
const tailInfix = '.tail.';

function partsBytes(parts: readonly Part[]): number {
  return parts.reduce((sum, part) => sum + part.size, 0);
}

export function stateSize(state: WriterState): number {
  return partsBytes(state.parts) + (state.tail?.length ?? 0);
}

/** Starts a new multipart upload at `path`. */
export async function createWriterState(ctx: WriterContext, path: string): Promise<WriterState> {
  const key = ctx.key(path);
  const created = await ctx.call('create multipart upload', path, () => ctx.client.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: key })));
  const uploadId = created.UploadId!;
  await writeSessionRecord(ctx, path, uploadId);
  return { uploadId, parts: [], tail: undefined, staleTails: [] };
}

/** The session record names the multipart upload; rewritten as the session goes on (its activity). */
async function writeSessionRecord(ctx: WriterContext, path: string, uploadId: string): Promise<void> {
  const body = Buffer.from(JSON.stringify({ uploadId }));
  await ctx.call('write session', path, () =>
    ctx.client.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: `${ctx.key(path)}${sessionKeySuffix}`, Body: body, ContentLength: body.length, ContentType: 'application/json' })),
  );
}

/** The state of the writer at `path` from the bucket; undefined when there is none (or it was finished). */
export async function loadWriterState(ctx: WriterContext, path: string): Promise<WriterState | undefined> {
  const key = ctx.key(path);
  const record = await ctx.getBytes(`${key}${sessionKeySuffix}`);
  if (!record) return undefined;
  let uploadId: string;
  try {
    uploadId = (JSON.parse(record.toString('utf8')) as { uploadId: string }).uploadId;
  } catch {
    return undefined;
  }
  if (typeof uploadId !== 'string') return undefined;
  const parts: Part[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 100; page++) {
    const listed = await ctx.call('list parts', path, () =>
      ctx.client.send(new ListPartsCommand({ Bucket: ctx.bucket, Key: key, UploadId: uploadId, ...(marker ? { PartNumberMarker: marker } : {}) })),
    ).catch((error: unknown) => {
      if ((error as { name?: string }).name === 'NoSuchUpload') return undefined;
      throw error;
    });
    if (!listed) return undefined;
    for (const part of listed.Parts ?? []) parts.push({ number: part.PartNumber!, etag: part.ETag!, size: part.Size ?? 0 });
    if (!listed.IsTruncated) break;
    marker = listed.NextPartNumberMarker;
  }
  parts.sort((a, b) => a.number - b.number);
  // Parts must run 1..n: a gap means a part upload that never finished, and what follows
  // it cannot be trusted as the session's continuation.
  const contiguous: Part[] = [];
  for (const part of parts) {
    if (part.number !== contiguous.length + 1) break;
    contiguous.push(part);
  }
  const start = partsBytes(contiguous);
  let tail: Buffer | undefined;
  const staleTails: string[] = [];
  for (const object of await ctx.listKeys(`${key}${tailInfix}`)) {
    if (object.key === `${key}${tailInfix}${start}` && tail === undefined) tail = await ctx.getBytes(object.key);
    else staleTails.push(object.key);
  }
  return { uploadId, parts: contiguous, tail, staleTails };
}

export class S3Writer implements FileWriter {
  constructor(
    private readonly ctx: WriterContext,
    private readonly path: string,
    private readonly state: WriterState,
  ) {}

  get size(): number {
    return stateSize(this.state);
  }

  private get key(): string {
    return this.ctx.key(this.path);
  }

  /** A request on the multipart upload; one that S3 no longer knows is a WriterGoneError. */
  private async onUpload<T>(what: string, send: () => Promise<T>): Promise<T> {
    try {
      return await this.ctx.call(what, this.path, send);
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchUpload') throw new WriterGoneError(this.path);
      throw error;
    }
  }

  async append(body: AsyncIterable<Uint8Array>, stored: (chunk: Uint8Array) => void): Promise<AppendOutcome> {
    const state = this.state;
    const partSize = this.ctx.partSize;
    // The writer's state is only trusted again once this append ended cleanly.
    this.ctx.remember(this.path, undefined);
    const hadTail = state.tail !== undefined;
    let pending: Buffer[] = state.tail ? [state.tail] : [];
    let pendingBytes = state.tail?.length ?? 0;
    const oldTailStart = partsBytes(state.parts);
    let inFlight: Promise<void> = Promise.resolve();
    const upload = (bytes: Buffer): void => {
      const number = state.parts.length + 1;
      state.parts.push({ number, etag: '', size: bytes.length });
      const previous = inFlight;
      inFlight = previous.then(async () => {
        const result = await this.onUpload('upload part', () =>
          this.ctx.client.send(new UploadPartCommand({ Bucket: this.ctx.bucket, Key: this.key, UploadId: state.uploadId, PartNumber: number, Body: bytes, ContentLength: bytes.length })),
        );
        const index = state.parts.findIndex((part) => part.number === number);
        state.parts[index] = { number, etag: result.ETag!, size: bytes.length };
        // Parts are not objects: upload purging sees a session's activity in its record.
        await this.writeRecord();
      });
      // Seen at the next await of inFlight; an unobserved rejection would end the process.
      inFlight.catch(() => undefined);
    };
    let bodyFailed = false;
    try {
      for await (const chunk of body) {
        stored(chunk);
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        pendingBytes += chunk.length;
        while (pendingBytes >= partSize) {
          const all = Buffer.concat(pending, pendingBytes);
          await inFlight; // one part uploading while the next fills: bounded memory
          upload(all.subarray(0, partSize));
          pending = pendingBytes > partSize ? [all.subarray(partSize)] : [];
          pendingBytes -= partSize;
        }
      }
    } catch {
      // The client went away: what arrived is kept, as on disk.
      bodyFailed = true;
    }
    await inFlight;
    state.tail = pendingBytes > 0 ? Buffer.concat(pending, pendingBytes) : undefined;
    const tailStart = partsBytes(state.parts);
    if (state.tail) {
      await this.ctx.call('write tail', this.path, () =>
        this.ctx.client.send(new PutObjectCommand({ Bucket: this.ctx.bucket, Key: `${this.key}${tailInfix}${tailStart}`, Body: state.tail, ContentLength: state.tail!.length })),
      );
    } else {
      // No tail: refresh the session record, so upload purging sees this session as active.
      await this.writeRecord();
    }
    if (hadTail && (oldTailStart !== tailStart || !state.tail)) state.staleTails.push(`${this.key}${tailInfix}${oldTailStart}`);
    await this.dropStaleTails();
    this.ctx.remember(this.path, state);
    return { size: stateSize(state), bodyFailed };
  }

  private async writeRecord(): Promise<void> {
    await writeSessionRecord(this.ctx, this.path, this.state.uploadId);
  }

  private async dropStaleTails(): Promise<void> {
    const current = this.state.tail ? `${this.key}${tailInfix}${partsBytes(this.state.parts)}` : undefined;
    const stale = [...new Set(this.state.staleTails)].filter((key) => key !== current);
    this.state.staleTails = [];
    if (stale.length > 0) await this.ctx.deleteKeys(stale);
  }

  async commit(): Promise<void> {
    const state = this.state;
    this.ctx.remember(this.path, undefined);
    if (state.tail) {
      // The last part may be smaller than 5 MiB.
      const number = state.parts.length + 1;
      const tail = state.tail;
      const result = await this.onUpload('upload part', () =>
        this.ctx.client.send(new UploadPartCommand({ Bucket: this.ctx.bucket, Key: this.key, UploadId: state.uploadId, PartNumber: number, Body: tail, ContentLength: tail.length })),
      );
      state.parts.push({ number, etag: result.ETag!, size: tail.length });
      state.staleTails.push(`${this.key}${tailInfix}${partsBytes(state.parts) - tail.length}`);
      state.tail = undefined;
    }
    if (state.parts.length === 0) {
      // S3 completes no upload without parts: an empty object is written directly.
      await this.abortUpload();
      await this.ctx.call('write object', this.path, () => this.ctx.client.send(new PutObjectCommand({ Bucket: this.ctx.bucket, Key: this.key, Body: Buffer.alloc(0), ContentLength: 0 })));
    } else {
      await this.onUpload('complete multipart upload', () =>
        this.ctx.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.ctx.bucket,
            Key: this.key,
            UploadId: state.uploadId,
            MultipartUpload: { Parts: state.parts.map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
          }),
        ),
      );
    }
    await this.dropStaleTails();
    await this.ctx.deleteKeys([`${this.key}${sessionKeySuffix}`]);
  }

  async cancel(): Promise<void> {
    this.ctx.remember(this.path, undefined);
    await this.abortUpload();
    const tails = (await this.ctx.listKeys(`${this.key}${tailInfix}`)).map((object) => object.key);
    await this.ctx.deleteKeys([...tails, `${this.key}${sessionKeySuffix}`]);
  }

  private async abortUpload(): Promise<void> {
    await this.ctx
      .call('abort multipart upload', this.path, () =>
        this.ctx.client.send(new AbortMultipartUploadCommand({ Bucket: this.ctx.bucket, Key: this.key, UploadId: this.state.uploadId })),
      )
      .catch((error: unknown) => {
        if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
      });
  }
}
