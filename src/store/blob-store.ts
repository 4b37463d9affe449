// Content-addressed blobs of the local store. A blob is written to ingest/ first,
// hashed on the way, fsynced, checked against its digest and size, and only then
// renamed into blobs/<alg>/<hex>: a reader never sees a half-written or wrong blob,
// and an interrupted write leaves only a temp file that garbage collection removes.
import { randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, digestFromHash, parseDigest, type Digest, type DigestAlgorithm } from '../oci/digest.js';
import { verifyDigestStream } from '../client/verify-stream.js';
import { handleSink } from './handle-sink.js';
import { BLOBS_DIR, INGEST_DIR, blobFile } from './layout.js';

export class BlobNotFoundError extends Error {
  constructor(readonly digest: string) {
    super(`blob ${digest} is not in the image store`);
  }
}

export class BlobVerifyError extends Error {}

export interface ExpectedBlob {
  readonly digest: string;
  /** Checked when given. */
  readonly size?: number;
}

function toDigest(text: string): Digest {
  const digest = parseDigest(text);
  if (!digest) throw new BlobVerifyError(`invalid digest ${JSON.stringify(text)}`);
  return digest;
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class BlobStore {
  constructor(readonly root: string) {}

  file(digest: string): string {
    return blobFile(this.root, toDigest(digest));
  }

  /** A fresh temp path in ingest/; the PID prefix tells GC whose it is. */
  ingestPath(purpose = 'blob'): string {
    return path.join(this.root, INGEST_DIR, `${process.pid}-${purpose}-${randomBytes(8).toString('hex')}`);
  }

  /** The blob's size, or undefined when absent. */
  async size(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.file(digest))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** A stream of the blob that errors at its end if the bytes do not match. */
  async open(digest: string): Promise<Readable> {
    const parsed = toDigest(digest);
    let handle: FileHandle;
    try {
      handle = await open(blobFile(this.root, parsed), constants.O_RDONLY);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(digest);
      throw error;
    }
    return verifyDigestStream(createReadStream('', { fd: handle, highWaterMark: 1024 * 1024 }), parsed);
  }

  /** The whole (small) blob, verified. */
  async read(digest: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(digest)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** Streams `source` in as `expected`; rejects (and keeps nothing) on a mismatch. */
  async write(expected: ExpectedBlob, source: Readable): Promise<void> {
    const digest = toDigest(expected.digest);
    const temporary = this.ingestPath();
    const result = await this.ingest(temporary, source, digest.algorithm).catch(async (error: unknown) => {
      await rm(temporary, { force: true });
      throw error;
    });
    if (result.digest.value !== digest.value || (expected.size !== undefined && result.size !== expected.size)) {
      await rm(temporary, { force: true });
      throw new BlobVerifyError(
        result.digest.value !== digest.value
          ? `content of ${digest.value} has digest ${result.digest.value}`
          : `blob ${digest.value} has ${result.size} bytes, expected ${expected.size}`,
      );
    }
    await this.adopt(temporary, digest.value);
  }

  /** Stores bytes whose digest is computed here. */
  async writeBytes(bytes: Buffer, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    const digest = digestFromHash(algorithm, createDigester(algorithm).update(bytes)).value;
    if ((await this.size(digest)) !== bytes.length) {
      await this.write({ digest, size: bytes.length }, Readable.from([bytes]));
    }
    return digest;
  }

  /**
   * Writes `source` to the file `temporary` (in ingest/), fsynced, and reports its
   * digest and size. The caller adopts or removes the file.
   */
  async ingest(temporary: string, source: AsyncIterable<Buffer>, algorithm: DigestAlgorithm = 'sha256'): Promise<{ digest: Digest; size: number }> {
    try {
      return await this.ingestUnguarded(temporary, source, algorithm);
    } catch (error) {
      // A source nobody reads any more must not fail later with no one listening (a
      // download aborted when the client closes would otherwise crash the process).
      if (source instanceof Readable) source.destroy();
      throw error;
    }
  }

  private async ingestUnguarded(temporary: string, source: AsyncIterable<Buffer>, algorithm: DigestAlgorithm): Promise<{ digest: Digest; size: number }> {
    await mkdir(path.dirname(temporary), { recursive: true });
    const hash = createDigester(algorithm);
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      await pipeline(source, counter, handleSink(handle));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { digest: digestFromHash(algorithm, hash), size };
  }

  /** Renames a verified file from ingest/ into place (replacing an identical copy is harmless). */
  async adopt(temporary: string, digest: string): Promise<void> {
    const target = this.file(digest);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(temporary, target);
    await syncDirectory(path.dirname(target));
  }

  /** Every blob present, with its size. */
  async list(): Promise<Array<{ digest: string; size: number }>> {
    const found: Array<{ digest: string; size: number }> = [];
    const algorithms = await readdir(path.join(this.root, BLOBS_DIR)).catch(() => [] as string[]);
    for (const algorithm of algorithms) {
      const names = await readdir(path.join(this.root, BLOBS_DIR, algorithm)).catch(() => [] as string[]);
      for (const name of names) {
        const digest = `${algorithm}:${name}`;
        if (!parseDigest(digest)) continue;
        const size = await this.size(digest);
        if (size !== undefined) found.push({ digest, size });
      }
    }
    return found;
  }

  async remove(digest: string): Promise<void> {
    await rm(this.file(digest), { force: true });
  }
}
