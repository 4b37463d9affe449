// One blob fetched for many readers (mirror/blob-fetch.ts), with the upstream played by a
// stream the test feeds by hand: readers get bytes as they arrive but the last byte of
// their range only once the digest matched; a body that fails midway or does not match
// its digest fails every reader and the storage commit; a file commit gets the whole
// verified spool file; no spool file outlives its fetch, and abandoned ones are removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { verifyDigestStream } from '../../src/client/verify-stream.js';
import { BlobFetch, removeAbandonedSpools } from '../../src/mirror/blob-fetch.js';
import { parseDigest } from '../../src/oci/digest.js';
import { seededBytes } from '../support/images.js';
import { scratchDir } from '../support/tmp.js';

interface Scene {
  readonly upstream: PassThrough;
  readonly fetch: BlobFetch;
  readonly committed: Promise<Buffer>;
  readonly spoolDir: string;
  readonly failures: string[];
}

async function scene(data: Buffer, options: { digestOf?: Buffer; size?: number } = {}): Promise<Scene> {
  const spoolDir = await scratchDir('blob-fetch-');
  const upstream = new PassThrough();
  const digest = parseDigest(`sha256:${createHash('sha256').update(options.digestOf ?? data).digest('hex')}`)!;
  const failures: string[] = [];
  let resolveCommit!: (bytes: Buffer) => void;
  let rejectCommit!: (error: Error) => void;
  const committed = new Promise<Buffer>((resolve, reject) => {
    resolveCommit = resolve;
    rejectCommit = reject;
  });
  committed.catch(() => undefined);
  const fetch = new BlobFetch({
    spoolDir,
    open: async () => ({ kind: 'found', blob: { stream: verifyDigestStream(upstream, digest), size: options.size ?? data.length }, onBytes: () => undefined }),
    streamFailed: (error) => {
      failures.push((error as Error).message);
      return `upstream failed: ${(error as Error).message}`;
    },
    commit: {
      kind: 'stream',
      store: async (body) => {
        try {
          resolveCommit(await collect(body));
        } catch (error) {
          rejectCommit(error as Error);
        }
      },
    },
  });
  return { upstream, fetch, committed, spoolDir, failures };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads from `stream` until `count` bytes came, or `ms` passed; what came. */
function readFor(stream: Readable, count: number, ms: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.pause();
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= count) finish();
    };
    const timer = setTimeout(finish, ms);
    stream.on('data', onData);
    stream.resume();
  });
}

test('readers get the bytes as they arrive, the last byte of their range only once the blob is verified; the commit gets all of it', async () => {
  const data = seededBytes('blob-fetch', 300 * 1024);
  const { upstream, fetch, committed, spoolDir } = await scene(data);
  upstream.write(data.subarray(0, 200 * 1024));
  assert.deepEqual(await fetch.started, { ok: true, size: data.length });
  const whole = fetch.reader()!;
  const early = await readFor(whole.stream, 200 * 1024, 2000);
  assert.ok(early.equals(data.subarray(0, 200 * 1024)), 'the first 200 KiB came before the rest was sent');
  assert.deepEqual((await readdir(spoolDir)).map((name) => name.startsWith(`${process.pid}-`)), [true], 'one spool file, named for this process');

  const range = fetch.reader({ start: 1000, end: 1999 })!;
  assert.equal(range.size, 1000);
  const partial = await readFor(range.stream, 1000, 300);
  assert.ok(partial.equals(data.subarray(1000, 1999)), 'a range waits for verification with its last byte only');

  upstream.write(data.subarray(200 * 1024));
  const held = await readFor(whole.stream, data.length, 300);
  assert.equal(held.length, data.length - 200 * 1024 - 1, 'everything but the last byte while the body has not ended');
  upstream.end();
  const rest = await collect(whole.stream);
  assert.ok(Buffer.concat([early, held, rest]).equals(data));
  assert.ok(Buffer.concat([partial, await collect(range.stream)]).equals(data.subarray(1000, 2000)));
  assert.ok((await committed).equals(data), 'the storage got every byte');
  await fetch.finished;
  assert.equal(fetch.reader(), undefined, 'once every reader and the commit are done, the spool is gone (the storage has the blob)');
  assert.deepEqual(await readdir(spoolDir), []);
});

test('a body that stops midway fails every reader and the commit, and leaves nothing behind', async () => {
  const data = seededBytes('blob-fetch-cut', 100 * 1024);
  const { upstream, fetch, committed, spoolDir, failures } = await scene(data);
  upstream.write(data.subarray(0, 50 * 1024));
  await fetch.started;
  const reader = fetch.reader()!.stream;
  await readFor(reader, 50 * 1024, 2000);
  upstream.destroy(new Error('connection reset'));
  await assert.rejects(collect(reader), /upstream failed: connection reset/);
  await assert.rejects(committed, /connection reset/);
  await fetch.finished;
  assert.ok(fetch.failed);
  assert.deepEqual(failures, ['connection reset']);
  assert.deepEqual(await readdir(spoolDir), []);
});

test('bytes that do not match the digest never reach a reader whole: the last byte is withheld and the stream fails', async () => {
  const data = seededBytes('blob-fetch-corrupt', 64 * 1024);
  const { upstream, fetch, committed, failures } = await scene(data, { digestOf: Buffer.from('something else') });
  await fetch.started.then(() => undefined, () => undefined);
  upstream.end(data);
  const reader = fetch.reader()!.stream;
  const got: Buffer[] = [];
  reader.on('data', (chunk: Buffer) => got.push(chunk));
  await assert.rejects(new Promise((resolve, reject) => reader.once('end', resolve).once('error', reject)), /digest mismatch/);
  assert.ok(Buffer.concat(got).length < data.length, 'the last byte was never sent');
  await assert.rejects(committed);
  assert.match(failures[0] ?? '', /digest mismatch/);
});

test('a Content-Length the body does not keep is a failure too', async () => {
  const data = seededBytes('blob-fetch-short', 10 * 1024);
  const { upstream, fetch, committed } = await scene(data, { size: data.length + 5 });
  upstream.end(data);
  await fetch.started;
  await assert.rejects(collect(fetch.reader()!.stream), /Content-Length said/);
  await assert.rejects(committed);
});

test('an upstream without the blob, or failing before its headers: started says so', async () => {
  const spoolDir = await scratchDir('blob-fetch-');
  const commit = { kind: 'stream', store: async (): Promise<void> => assert.fail('nothing to commit') } as const;
  const absent = new BlobFetch({ spoolDir, open: async () => ({ kind: 'absent' }), streamFailed: () => '', commit });
  assert.deepEqual(await absent.started, { ok: false, absent: true, message: 'not found upstream' });
  const failed = new BlobFetch({ spoolDir, open: async () => ({ kind: 'failed', message: 'http://u: ECONNREFUSED' }), streamFailed: () => '', commit });
  assert.deepEqual(await failed.started, { ok: false, absent: false, message: 'http://u: ECONNREFUSED' });
  await Promise.all([absent.finished, failed.finished]);
  assert.ok(absent.failed && failed.failed);
});

test('a file commit gets the spool file once it is verified and complete, and may move it away', async () => {
  const data = seededBytes('blob-fetch-file', 200 * 1024);
  const spoolDir = await scratchDir('blob-fetch-');
  const upstream = new PassThrough();
  const digest = parseDigest(`sha256:${createHash('sha256').update(data).digest('hex')}`)!;
  const moved = path.join(await scratchDir('blob-fetch-store-'), 'data');
  let stored: Buffer | undefined;
  const fetch = new BlobFetch({
    spoolDir,
    open: async () => ({ kind: 'found', blob: { stream: verifyDigestStream(upstream, digest), size: data.length }, onBytes: () => undefined }),
    streamFailed: (error) => (error as Error).message,
    commit: {
      kind: 'file',
      store: async (name, size) => {
        assert.equal(size, data.length);
        stored = await readFile(path.join(spoolDir, name));
        await rename(path.join(spoolDir, name), moved);
      },
    },
  });
  await fetch.started;
  const reader = fetch.reader()!.stream;
  upstream.end(data);
  assert.ok((await collect(reader)).equals(data));
  await fetch.finished;
  assert.ok(stored?.equals(data), 'the whole verified file');
  assert.ok((await readFile(moved)).equals(data));
  assert.deepEqual(await readdir(spoolDir), []);
});

test('spool files of processes that are gone are removed; those of live ones are not', async () => {
  const spoolDir = await scratchDir('blob-fetch-');
  // PIDs above the kernel's maximum (2^22) cannot be alive.
  await writeFile(path.join(spoolDir, '99999999-abandoned'), 'x');
  await writeFile(path.join(spoolDir, `${process.pid}-live`), 'x');
  await writeFile(path.join(spoolDir, 'not-a-spool'), 'x');
  assert.equal(await removeAbandonedSpools(spoolDir), 1);
  assert.deepEqual((await readdir(spoolDir)).sort(), [`${process.pid}-live`, 'not-a-spool']);
});
