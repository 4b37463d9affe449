// Unpacks an image archive (tar, optionally gzipped) into a staging directory inside
// the store's ingest/ area, hashing every file on the way. Nothing is written outside
// the store, no archive path is ever used as a file system path (files are staged
// under sequence numbers), and the store is not touched until the whole archive has
// been read and checked. A dead loader's staging dir is removed by garbage collection.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { createDigester, digestFromHash, parseDigest } from '../oci/digest.js';
import type { BlobStore } from '../store/blob-store.js';
import { INGEST_DIR } from '../store/layout.js';
import { ArchiveError } from './errors.js';

type ArchiveEntry = tarStream.Extract extends AsyncIterable<infer T> ? T : never;

export interface StagedFile {
  /** Where the bytes are, inside the staging directory. */
  readonly file: string;
  /** sha256 of the bytes. */
  readonly digest: string;
  readonly size: number;
}

/** Bounds for hostile archives: entry count, link chains, JSON sizes. */
const MAX_ENTRIES = 200_000;
const MAX_LINK_HOPS = 16;
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** `./a//b` → `a/b`; undefined for paths that leave the archive root. */
export function normaliseArchivePath(name: string): string | undefined {
  const normal = path.posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
  return normal === '' || normal.startsWith('..') ? undefined : normal;
}

/** A stream's first bytes, put back so the stream still yields them. */
async function peek(stream: Readable, bytes: number): Promise<Buffer> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      stream.unshift(chunk);
      return chunk.subarray(0, bytes);
    }
    if (stream.readableEnded) return Buffer.alloc(0);
    await Promise.race([once(stream, 'readable'), once(stream, 'end')]);
  }
  return Buffer.alloc(0);
}

export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Errors that mean "this archive is broken", as opposed to a full disk or a permission. */
function isArchiveDamage(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  // streamx (tar-stream) reports a destroyed entry as STREAM_DESTROYED.
  return code === undefined || code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'STREAM_DESTROYED';
}

export class Staging {
  readonly files = new Map<string, StagedFile>();
  private readonly links = new Map<string, string>();
  private sequence = 0;

  private constructor(
    readonly dir: string,
    private readonly blobs: BlobStore,
    readonly label: string,
  ) {}

  static async create(blobs: BlobStore, label: string): Promise<Staging> {
    const dir = path.join(blobs.root, INGEST_DIR, `${process.pid}-load-${randomBytes(8).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return new Staging(dir, blobs, label);
  }

  corrupt(detail: string): ArchiveError {
    return new ArchiveError(`${this.label} is not a valid image archive: ${detail}`, 'check the file (was it copied completely?); nothing was loaded');
  }

  /** Reads the whole archive from `input` (gzip is detected from the first bytes). */
  async extract(input: Readable): Promise<void> {
    let current: ArchiveEntry | undefined;
    // The first failure of the input or gunzip is the one to report: what the entry and
    // tar streams fail with afterwards only says they were destroyed.
    let failure: Error | undefined;
    try {
      const head = await peek(input, 2);
      const source = isGzip(head) ? input.pipe(createGunzip()) : input;
      const extract = tarStream.extract();
      // pipe() forwards no errors: a failing input or gunzip must end the extraction,
      // and the entry being staged, or both would wait for data forever.
      const fail = (error: Error): void => {
        failure ??= error;
        current?.destroy(error);
        extract.destroy(error);
      };
      if (source !== input) input.once('error', fail);
      source.once('error', fail);
      // tar-stream's own verdict ("Unexpected end of data") arrives on the extractor.
      extract.on('error', (error: Error) => {
        failure ??= error;
      });
      source.pipe(extract);
      let count = 0;
      for await (const entry of extract) {
        if (++count > MAX_ENTRIES) throw this.corrupt(`more than ${MAX_ENTRIES} entries`);
        current = entry;
        await this.take(entry);
        current = undefined;
      }
    } catch (caught) {
      if (caught instanceof ArchiveError) throw caught;
      // The entry stream may fail a moment before the extractor reports why.
      if (failure === undefined) await new Promise((resolve) => setImmediate(resolve));
      const error = failure ?? caught;
      if (isArchiveDamage(error)) throw this.corrupt((error as Error).message.split('\n')[0] ?? 'unreadable');
      throw error;
    }
  }

  private async take(entry: ArchiveEntry): Promise<void> {
    const { header } = entry;
    const name = normaliseArchivePath(header.name);
    if (name !== undefined && (header.type === 'file' || header.type === 'contiguous-file')) {
      const file = path.join(this.dir, String(this.sequence++));
      // A plain generator, not the (streamx) entry itself: node's pipeline() would treat
      // the entry as a node stream and miss its destruction when the archive breaks.
      const { digest, size } = await this.blobs.ingest(file, chunksOf(entry));
      this.files.set(name, { file, digest: digest.value, size });
      return;
    }
    if (name !== undefined && header.type === 'symlink' && header.linkname) {
      const target = normaliseArchivePath(path.posix.join(path.posix.dirname(name), header.linkname));
      if (target !== undefined) this.links.set(name, target);
    } else if (name !== undefined && header.type === 'link' && header.linkname) {
      const target = normaliseArchivePath(header.linkname);
      if (target !== undefined) this.links.set(name, target);
    }
    // Directories, devices, pax headers: nothing to keep, but the stream must be drained.
    for await (const _chunk of entry) {
      // discard
    }
  }

  /** The file at an archive path, following symlinks and hard links inside the archive. */
  lookup(archivePath: string): StagedFile | undefined {
    let current = normaliseArchivePath(archivePath);
    for (let hop = 0; current !== undefined && hop <= MAX_LINK_HOPS; hop++) {
      const file = this.files.get(current);
      if (file) return file;
      current = this.links.get(current);
    }
    return undefined;
  }

  has(archivePath: string): boolean {
    return this.lookup(archivePath) !== undefined;
  }

  async readJson(archivePath: string): Promise<unknown> {
    const file = this.lookup(archivePath);
    if (!file) throw this.corrupt(`${archivePath} is missing`);
    if (file.size > MAX_JSON_BYTES) throw this.corrupt(`${archivePath} is larger than ${MAX_JSON_BYTES} bytes`);
    try {
      return JSON.parse(await readFile(file.file, 'utf8')) as unknown;
    } catch {
      throw this.corrupt(`${archivePath} is not valid JSON`);
    }
  }

  /** The staged blob `blobs/<alg>/<hex>`, checked against its digest. */
  async blob(digest: string): Promise<StagedFile | undefined> {
    const parsed = parseDigest(digest);
    if (!parsed) throw this.corrupt(`invalid digest ${JSON.stringify(digest)}`);
    const file = this.lookup(`blobs/${parsed.algorithm}/${parsed.hex}`);
    if (!file) return undefined;
    const actual = parsed.algorithm === 'sha256' ? file.digest : await hashFile(file.file, parsed.algorithm);
    if (actual !== parsed.value) throw this.corrupt(`blob ${digest} does not match its digest (content is ${actual})`);
    return file;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** A fresh file path inside the staging dir (for converted layers). */
  newFile(): string {
    return path.join(this.dir, `gen-${this.sequence++}`);
  }
}

async function* chunksOf(entry: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of entry) yield chunk as Buffer;
}

async function hashFile(file: string, algorithm: 'sha256' | 'sha512'): Promise<string> {
  const hash = createDigester(algorithm);
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return digestFromHash(algorithm, hash).value;
}
