// The S3 driver: distribution's layout in a bucket of any S3-compatible store (AWS S3,
// SeaweedFS, Ceph RGW, MinIO), under an optional root prefix, with distribution's exact
// keys, so Berth and registry:2's `s3` driver serve one bucket both ways.
//
// - Small objects are single PUTs, which S3 makes visible whole; locks and leases use
//   conditional PUTs (If-None-Match / If-Match) and conditional deletes.
// - Uploads are multipart uploads whose state lives in the bucket (s3-writer.ts).
// - Moves are server-side copies (multipart copies for big objects), then deletes.
// - Reads stream with backpressure, or answer with a presigned URL (redirect mode).
// - Online GC cannot rename, so it claims with a tombstone: reclaim() writes
//   `_berth/reclaiming/<dir>`, re-checks, deletes, removes the tombstone; touch() writes a
//   `_berth/touched/<path>` marker first and then waits out a tombstone on the object's
//   directory. Whichever comes first, the other sees it (S3 is strongly consistent).
// - Errors: "not found" is a value; an engine that cannot be reached, or answers 5xx or
//   throttles, is a StorageUnavailableError (HTTP 503); refused credentials and a
//   missing bucket are StorageConfigErrors, named without the secrets.
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCopyCommand,
  AbortMultipartUploadCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import {
  StorageUnavailableError,
  type ByteRange,
  type ContentSource,
  type DirectoryEntry,
  type FileInfo,
  type FileWriter,
  type MarkedDirectory,
  type ReclaimHooks,
  type ReclaimResult,
  type StorageDriver,
  type WalkEntry,
  type WriterOptions,
} from './driver.js';
import { createWriterState, loadWriterState, S3Writer, sessionKeySuffix, stateSize, type WriterContext, type WriterState } from './s3-writer.js';

export interface S3DriverOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix for everything (registry:2's `rootdirectory`); '' for the bucket's root. */
  readonly rootDirectory: string;
  /** Multipart part size (registry:2's `chunksize`): at least 5 MiB. */
  readonly partSize: number;
  /** Objects above this are moved with a multipart copy; at most 5 GiB (a single CopyObject's limit). */
  readonly multipartCopyThreshold?: number;
  /** Blob GETs answer with a presigned URL valid this long (ms); undefined: stream through. */
  readonly redirectExpiryMs?: number;
  /** Berth's state prefix (markers, tombstones), relative to the root. */
  readonly stateDir: string;
  /** For messages: `s3://bucket/prefix at endpoint`. */
  readonly endpointLabel: string;
}

/** Credentials refused, or the bucket missing: not a transient fault. */
export class StorageConfigError extends Error {
  readonly code = 'ESTORAGECONFIG';
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_SINGLE_COPY = 5 * 1024 * 1024 * 1024;
const COPY_PART_BYTES = 64 * 1024 * 1024;
const COPY_CONCURRENCY = 8;
/** A tombstone older than this belongs to a collection that died; a touch ignores it. */
const TOMBSTONE_LIMIT_MS = 60_000;
/** A collection gives up its claim (keeps the object) when re-checking took longer than this. */
const CLAIM_LIMIT_MS = 20_000;
const TOMBSTONE_POLL_MS = 100;

interface SdkError {
  readonly name?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly message?: string;
}

function statusOf(error: unknown): number | undefined {
  return (error as SdkError).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as SdkError).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

function isPreconditionFailed(error: unknown): boolean {
  const status = statusOf(error);
  // 409: AWS answers ConditionalRequestConflict to two racing conditional writes.
  return status === 412 || status === 409 || (error as SdkError).name === 'PreconditionFailed';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class S3Driver implements StorageDriver {
  readonly name = 's3';
  readonly location: string;
  readonly listsInBulk = true;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly writers = new LRUCache<string, WriterState>({ max: 10_000 });
  private readonly writerContext: WriterContext;

  constructor(private readonly options: S3DriverOptions) {
    if (options.partSize < MIN_PART_SIZE) throw new StorageConfigError(`S3 chunk size ${options.partSize} is below the 5 MiB minimum of multipart uploads`);
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.rootDirectory.replace(/^\/+|\/+$/g, '');
    this.location = options.endpointLabel;
    this.writerContext = {
      client: this.client,
      bucket: this.bucket,
      partSize: options.partSize,
      key: (path) => this.key(path),
      call: (what, path, send) => this.call(what, path, send),
      getBytes: (key) => this.getBytes(key),
      deleteKeys: (keys) => this.deleteKeys(keys),
      listKeys: async (prefix) => {
        const found: Array<{ key: string; size: number }> = [];
        for await (const object of this.listObjects(prefix)) found.push({ key: object.key, size: object.size });
        return found;
      },
      remember: (path, state) => {
        if (state) this.writers.set(path, state);
        else this.writers.delete(path);
      },
    };
  }

  private key(path: string): string {
    return this.prefix === '' ? path : `${this.prefix}/${path}`;
  }

  /** The path (relative to the root) of a key under the root. */
  private pathOf(key: string): string {
    return this.prefix === '' ? key : key.slice(this.prefix.length + 1);
  }

  /**
   * Sends one request and maps the failures that are not values: an engine that is
   * unreachable, overloaded or failing becomes StorageUnavailableError; refused
   * credentials and a missing bucket become StorageConfigError. Other errors (404s,
   * precondition failures) are left to the caller, which knows what they mean.
   */
  private async call<T>(what: string, path: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const status = statusOf(error);
      const name = (error as SdkError).name ?? 'Error';
      if (name === 'NoSuchBucket') throw new StorageConfigError(`the bucket ${this.bucket} does not exist (${this.location})`);
      if (status === 403 || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied') {
        throw new StorageConfigError(`the S3 endpoint refused the credentials (${name}) for ${what} at ${this.location}`);
      }
      if (status === undefined || status >= 500 || status === 429 || name === 'SlowDown' || name === 'TimeoutError') {
        const reason = status === undefined ? ((error as SdkError).code ?? name) : `${status} ${name}`;
        throw new StorageUnavailableError(`S3 ${what} of ${path} failed: ${reason} (${this.location})`, error);
      }
      throw error;
    }
  }

  private async getBytes(key: string): Promise<Buffer | undefined> {
    const path = this.pathOf(key);
    try {
      const response = await this.call('get', path, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
      return Buffer.from(await response.Body!.transformToByteArray());
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async head(key: string): Promise<{ size: number; modifiedMs: number; etag: string } | undefined> {
    try {
      const response = await this.call('head', this.pathOf(key), () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return { size: response.ContentLength ?? 0, modifiedMs: response.LastModified?.getTime() ?? 0, etag: response.ETag ?? '' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async *listObjects(prefix: string): AsyncIterable<{ key: string; size: number; modifiedMs: number }> {
    let token: string | undefined;
    for (;;) {
      const page = await this.call('list', this.pathOf(prefix), () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) })),
      );
      for (const object of page.Contents ?? []) yield { key: object.Key!, size: object.Size ?? 0, modifiedMs: object.LastModified?.getTime() ?? 0 };
      if (!page.IsTruncated || !page.NextContinuationToken) return;
      token = page.NextContinuationToken;
    }
  }

  /** Common prefixes and objects one level below `prefix` (which ends with the delimiter's start). */
  private async listLevel(prefix: string, delimiter: string): Promise<{ prefixes: string[]; keys: string[] }> {
    const prefixes: string[] = [];
    const keys: string[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await this.call('list', this.pathOf(prefix), () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: delimiter, ...(token ? { ContinuationToken: token } : {}) })),
      );
      for (const common of page.CommonPrefixes ?? []) prefixes.push(common.Prefix!);
      for (const object of page.Contents ?? []) keys.push(object.Key!);
      if (!page.IsTruncated || !page.NextContinuationToken) return { prefixes, keys };
      token = page.NextContinuationToken;
    }
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const result = await this.call('delete', this.pathOf(batch[0]!), () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      const failed = (result.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new StorageUnavailableError(`S3 delete of ${failed.length} object(s) failed: ${failed[0]!.Code} (${this.location})`);
    }
  }

  // ---- small objects -------------------------------------------------------------

  getContent(path: string): Promise<Buffer | undefined> {
    return this.getBytes(this.key(path));
  }

  /** A small object's PUT; the length is always given (the SDK warns on an empty body without one). */
  private putObject(key: string, content: string | Uint8Array, conditions: { IfNoneMatch?: string; IfMatch?: string } = {}): PutObjectCommand {
    const body = typeof content === 'string' ? Buffer.from(content) : content;
    return new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ...conditions });
  }

  async putContent(path: string, content: string | Uint8Array): Promise<void> {
    await this.call('put', path, () => this.client.send(this.putObject(this.key(path), content)));
  }

  async createExclusive(path: string, content: string | Uint8Array): Promise<boolean> {
    try {
      await this.call('create', path, () => this.client.send(this.putObject(this.key(path), content, { IfNoneMatch: '*' })));
      return true;
    } catch (error) {
      if (isPreconditionFailed(error)) return false;
      throw error;
    }
  }

  async getVersioned(path: string): Promise<{ content: Buffer; version: string } | undefined> {
    try {
      const response = await this.call('get', path, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) })));
      return { content: Buffer.from(await response.Body!.transformToByteArray()), version: response.ETag ?? '' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async putIfVersion(path: string, content: string | Uint8Array, version: string): Promise<boolean> {
    try {
      await this.call('put', path, () => this.client.send(this.putObject(this.key(path), content, { IfMatch: version })));
      return true;
    } catch (error) {
      if (isPreconditionFailed(error) || isNotFound(error)) return false;
      throw error;
    }
  }

  async deleteIfVersion(path: string, version: string): Promise<boolean> {
    try {
      await this.call('delete', path, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(path), IfMatch: version })));
      return true;
    } catch (error) {
      if (isPreconditionFailed(error) || isNotFound(error)) return false;
      throw error;
    }
  }

  // ---- content -------------------------------------------------------------------

  async open(path: string, range?: ByteRange): Promise<ContentSource | undefined> {
    try {
      const response = await this.call('get', path, () =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) })),
      );
      return { kind: 'stream', stream: response.Body as Readable, size: response.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async redirectUrl(path: string): Promise<string | undefined> {
    if (this.options.redirectExpiryMs === undefined) return undefined;
    const expiresIn = Math.max(1, Math.round(this.options.redirectExpiryMs / 1000));
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(path) }), { expiresIn });
  }

  async create(path: string): Promise<FileWriter> {
    const state = await createWriterState(this.writerContext, path);
    this.writers.set(path, state);
    return new S3Writer(this.writerContext, path, state);
  }

  async resume(path: string, options: WriterOptions = {}): Promise<FileWriter | undefined> {
    // The session's signed offset says whether what this process remembers is current
    // (another replica may have appended since); without it, the bucket decides.
    const cached = this.writers.get(path);
    if (cached && options.expectedSize !== undefined && stateSize(cached) === options.expectedSize) return new S3Writer(this.writerContext, path, cached);
    const state = await loadWriterState(this.writerContext, path);
    if (!state) return undefined;
    this.writers.set(path, state);
    return new S3Writer(this.writerContext, path, state);
  }

  // ---- metadata ------------------------------------------------------------------

  async stat(path: string): Promise<FileInfo | undefined> {
    const found = await this.head(this.key(path));
    return found && { size: found.size, modifiedMs: found.modifiedMs };
  }

  /**
   * Children from the objects themselves (a listing without delimiter): SeaweedFS keeps
   * listing a "directory" as a common prefix for a while after its last object is
   * deleted, which would resurrect deleted tags. Costs one request per thousand objects
   * below `path`; the layout lists only directories with few objects per child.
   */
  async list(path: string): Promise<DirectoryEntry[]> {
    const prefix = `${this.key(path)}/`;
    const children = new Map<string, boolean>();
    for await (const object of this.listObjects(prefix)) {
      const rest = object.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      const name = slash < 0 ? rest : rest.slice(0, slash);
      if (name !== '') children.set(name, (children.get(name) ?? false) || slash >= 0);
    }
    return [...children].map(([name, isDirectory]) => ({ name, isDirectory }));
  }

  async exists(path: string): Promise<boolean> {
    if (await this.head(this.key(path))) return true;
    const page = await this.call('list', path, () => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.key(path)}/`, MaxKeys: 1 })));
    return (page.KeyCount ?? page.Contents?.length ?? 0) > 0;
  }

  async listingVersion(): Promise<number | undefined> {
    return undefined;
  }

  async *walk(path: string): AsyncIterable<WalkEntry> {
    for await (const object of this.listObjects(`${this.key(path)}/`)) {
      yield { path: this.pathOf(object.key), size: object.size, modifiedMs: object.modifiedMs };
    }
  }

  /**
   * One listing with the delimiter `/_` rolls every key of a repository up into
   * `<name>/_`: a repository's keys all continue with `/_manifests`, `/_layers` or
   * `/_uploads` right after its name, and no name component starts with `_`.
   */
  async findMarkedDirectories(path: string): Promise<MarkedDirectory[]> {
    const prefix = `${this.key(path)}/`;
    const { prefixes } = await this.listLevel(prefix, '/_');
    return prefixes.map((p) => ({ path: p.slice(prefix.length, -2) })).filter((dir) => dir.path !== '');
  }

  // ---- moves and deletes -----------------------------------------------------------

  /**
   * Copies, then deletes. A directory moves object by object (not atomically); its
   * sources are deleted in reverse key order, so a tag's `current/link` goes last.
   */
  async move(from: string, to: string): Promise<void> {
    const single = await this.head(this.key(from));
    if (single) {
      await this.copy(this.key(from), this.key(to), single.size);
      await this.deleteKeys([this.key(from)]);
      return;
    }
    const sources: Array<{ key: string; size: number }> = [];
    for await (const object of this.listObjects(`${this.key(from)}/`)) sources.push(object);
    if (sources.length === 0) throw Object.assign(new Error(`nothing to move at ${from}`), { code: 'ENOENT' });
    const fromPrefix = this.key(from);
    for (const source of sources) await this.copy(source.key, `${this.key(to)}${source.key.slice(fromPrefix.length)}`, source.size);
    await this.deleteKeys(sources.map((s) => s.key).sort().reverse());
  }

  private async copy(fromKey: string, toKey: string, size: number): Promise<void> {
    const source = `${this.bucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`;
    const path = this.pathOf(toKey);
    if (size <= Math.min(this.options.multipartCopyThreshold ?? MAX_SINGLE_COPY, MAX_SINGLE_COPY)) {
      await this.call('copy', path, () => this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: toKey, CopySource: source })));
      return;
    }
    const created = await this.call('create multipart copy', path, () => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: toKey })));
    const uploadId = created.UploadId!;
    try {
      const ranges: Array<{ number: number; start: number; end: number }> = [];
      for (let start = 0, number = 1; start < size; start += COPY_PART_BYTES, number++) ranges.push({ number, start, end: Math.min(size, start + COPY_PART_BYTES) - 1 });
      const etags = new Map<number, string>();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ranges.length) {
          const range = ranges[next++]!;
          const result = await this.call('copy part', path, () =>
            this.client.send(
              new UploadPartCopyCommand({ Bucket: this.bucket, Key: toKey, UploadId: uploadId, PartNumber: range.number, CopySource: source, CopySourceRange: `bytes=${range.start}-${range.end}` }),
            ),
          );
          etags.set(range.number, result.CopyPartResult!.ETag!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, ranges.length) }, worker));
      await this.call('complete multipart copy', path, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: toKey,
            UploadId: uploadId,
            MultipartUpload: { Parts: ranges.map((range) => ({ PartNumber: range.number, ETag: etags.get(range.number)! })) },
          }),
        ),
      );
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: toKey, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  }

  async delete(path: string): Promise<void> {
    const keys: string[] = [];
    for await (const object of this.listObjects(`${this.key(path)}/`)) keys.push(object.key);
    keys.push(this.key(path));
    await this.deleteKeys(keys);
  }

  // ---- online GC -------------------------------------------------------------------

  private markerKey(path: string): string {
    return this.key(`${this.options.stateDir}/touched/${path}`);
  }

  private tombstoneKey(dir: string): string {
    return this.key(`${this.options.stateDir}/reclaiming/${dir}`);
  }

  /**
   * Marker first, then the tombstone check, then existence. A collection that claimed
   * the directory before our marker was written is waited out (its claim is short, and
   * it deletes only what was not touched); one that claims it after sees our marker.
   * The existence check may run beside the tombstone check: if there is no tombstone,
   * no collection can delete the object any more (it would see the marker).
   */
  async touch(path: string): Promise<FileInfo | undefined> {
    await this.call('touch', path, () => this.client.send(this.putObject(this.markerKey(path), '')));
    const tombstoneKey = this.tombstoneKey(path.slice(0, path.lastIndexOf('/')));
    const deadline = Date.now() + TOMBSTONE_LIMIT_MS;
    let [tombstone, object] = await Promise.all([this.head(tombstoneKey), this.head(this.key(path))]);
    while (tombstone && Date.now() - tombstone.modifiedMs <= TOMBSTONE_LIMIT_MS && Date.now() <= deadline) {
      await sleep(TOMBSTONE_POLL_MS);
      [tombstone, object] = await Promise.all([this.head(tombstoneKey), this.head(this.key(path))]);
    }
    return object && { size: object.size, modifiedMs: object.modifiedMs };
  }

  async lastUsed(path: string): Promise<number | undefined> {
    const [object, marker] = await Promise.all([this.head(this.key(path)), this.head(this.markerKey(path))]);
    if (!object) return undefined;
    return Math.max(object.modifiedMs, marker?.modifiedMs ?? 0);
  }

  async reclaim(dir: string, keep: (lastUsed: (path: string) => Promise<number | undefined>) => Promise<boolean>, hooks?: ReclaimHooks): Promise<ReclaimResult> {
    const tombstone = this.tombstoneKey(dir);
    const claimedAt = Date.now();
    await this.call('claim', dir, () => this.client.send(this.putObject(tombstone, new Date(claimedAt).toISOString())));
    try {
      await hooks?.afterClaim?.();
      if (await keep((path) => this.lastUsed(path))) return 'in-use';
      // A touch ignores a tombstone older than TOMBSTONE_LIMIT_MS: past CLAIM_LIMIT_MS
      // this claim may no longer hold, so the object stays.
      if (Date.now() - claimedAt > CLAIM_LIMIT_MS) return 'in-use';
      const keys: string[] = [];
      for await (const object of this.listObjects(`${this.key(dir)}/`)) keys.push(object.key, this.markerKey(this.pathOf(object.key)));
      if (keys.length === 0) return 'gone';
      await this.deleteKeys(keys);
      return 'deleted';
    } finally {
      await this.deleteKeys([tombstone]);
    }
  }

  /** Tombstones of collections that died are dropped; nothing was moved, so nothing is put back. */
  async recoverReclaims(): Promise<number> {
    const stale: string[] = [];
    for await (const object of this.listObjects(this.key(`${this.options.stateDir}/reclaiming/`))) {
      if (Date.now() - object.modifiedMs > TOMBSTONE_LIMIT_MS) stale.push(object.key);
    }
    await this.deleteKeys(stale);
    return 0;
  }

  /** Multipart uploads nobody continued for `maxAgeMs` (sessions lost in a crash) are aborted. */
  async purgeAbandonedWrites(maxAgeMs: number): Promise<{ removed: number }> {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    const now = Date.now();
    for (let page = 0; page < 1000; page++) {
      const listed = await this.call('list multipart uploads', '', () =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            ...(this.prefix ? { Prefix: `${this.prefix}/` } : {}),
            ...(keyMarker ? { KeyMarker: keyMarker, UploadIdMarker: uploadMarker } : {}),
          }),
        ),
      );
      for (const upload of listed.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId || now - (upload.Initiated?.getTime() ?? now) <= maxAgeMs) continue;
        // A session still in use refreshes its record at every append.
        const record = await this.head(`${upload.Key}${sessionKeySuffix}`);
        if (record && now - record.modifiedMs <= maxAgeMs) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId })).catch(() => undefined);
        removed += 1;
      }
      if (!listed.IsTruncated) break;
      keyMarker = listed.NextKeyMarker;
      uploadMarker = listed.NextUploadIdMarker;
    }
    return { removed };
  }

  async checkHealth(): Promise<void> {
    await this.call('head bucket', '', () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))).catch((error: unknown) => {
      if (isNotFound(error)) throw new StorageConfigError(`the bucket ${this.bucket} does not exist (${this.location})`);
      throw error;
    });
  }
}
