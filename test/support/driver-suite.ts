// The one storage driver test suite, after distribution's registry/storage/driver/
// testsuites: every driver (the filesystem, S3 on a real engine) must pass all of it.
// Each test gets an empty root of its own (a scratch directory, a fresh bucket prefix);
// `another()` opens a second driver on the same root, standing for another process or
// another replica.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { StorageDriver } from '../../src/storage/driver/driver.js';
import { contentStream } from '../../src/storage/content-stream.js';

export interface DriverFixture {
  readonly driver: StorageDriver;
  /** A second driver on the same root (another process, another replica). */
  another(): StorageDriver;
}

/** Bytes written one part at a time must be at least this big to cross a part (S3: 5 MiB). */
const PART = 5 * 1024 * 1024;

async function readAll(driver: StorageDriver, path: string, range?: { start: number; end: number }): Promise<Buffer | undefined> {
  const source = await driver.open(path, range);
  if (!source) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of contentStream(source)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A body that yields `bytes` in chunks of `size`, then (optionally) fails. */
function body(bytes: Buffer, size: number, fail = false): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, Math.min(bytes.length, offset + size));
    if (fail) throw new Error('client went away');
  })();
}

export function driverSuite(name: string, fixture: () => Promise<DriverFixture>): void {
  const it = (title: string, run: (f: DriverFixture) => Promise<void>): void => {
    test(`${name}: ${title}`, async () => run(await fixture()));
  };

  it('small objects: missing is undefined, put replaces whole, content round-trips', async ({ driver }) => {
    assert.equal(await driver.getContent('a/b/c'), undefined);
    await driver.putContent('a/b/c', 'one');
    assert.equal((await driver.getContent('a/b/c'))?.toString(), 'one');
    await driver.putContent('a/b/c', Buffer.from('two, longer'));
    assert.equal((await driver.getContent('a/b/c'))?.toString(), 'two, longer');
    await driver.putContent('empty', '');
    assert.deepEqual(await driver.getContent('empty'), Buffer.alloc(0));
    const big = randomBytes(200_000);
    await driver.putContent('x/big', big);
    assert.equal(sha((await driver.getContent('x/big'))!), sha(big));
  });

  it('createExclusive and compare-and-swap', async ({ driver, another }) => {
    assert.equal(await driver.createExclusive('locks/l', 'first'), true);
    assert.equal(await another().createExclusive('locks/l', 'second'), false);
    const held = await driver.getVersioned('locks/l');
    assert.equal(held?.content.toString(), 'first');
    assert.equal(await driver.putIfVersion('locks/l', 'renewed', held!.version), true);
    assert.equal(await driver.putIfVersion('locks/l', 'stale writer', held!.version), false, 'an old version no longer matches');
    assert.equal((await driver.getContent('locks/l'))?.toString(), 'renewed');
    assert.equal(await driver.deleteIfVersion('locks/l', held!.version), false);
    const now = await driver.getVersioned('locks/l');
    assert.equal(await another().deleteIfVersion('locks/l', now!.version), true);
    assert.equal(await driver.getContent('locks/l'), undefined);
    assert.equal(await driver.deleteIfVersion('locks/l', now!.version), false, 'nothing to delete');
    assert.equal(await driver.createExclusive('locks/l', 'again'), true);
  });

  it('stat, list and walk', async ({ driver }) => {
    await driver.putContent('tree/a/one', '1');
    await driver.putContent('tree/a/two', '22');
    await driver.putContent('tree/b/c/three', '333');
    await driver.putContent('tree/file', '4444');
    await driver.putContent('treeish/other', 'x');
    const info = await driver.stat('tree/b/c/three');
    assert.equal(info?.size, 3);
    assert.ok(Math.abs(info!.modifiedMs - Date.now()) < 60_000);
    assert.equal(await driver.stat('tree/missing'), undefined);
    assert.equal(await driver.stat('tree/a'), undefined, 'a directory is not a file');
    const listed = (await driver.list('tree')).map((e) => `${e.name}${e.isDirectory ? '/' : ''}`).sort();
    assert.deepEqual(listed, ['a/', 'b/', 'file']);
    assert.deepEqual(await driver.list('tree/nothing'), []);
    const walked: string[] = [];
    for await (const entry of driver.walk('tree')) walked.push(`${entry.path}:${entry.size}`);
    assert.deepEqual(walked.sort(), ['tree/a/one:1', 'tree/a/two:2', 'tree/b/c/three:3', 'tree/file:4']);
  });

  it('open: whole, ranges, missing', async ({ driver }) => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    await driver.putContent('blob/data', bytes);
    assert.equal(sha((await readAll(driver, 'blob/data'))!), sha(bytes));
    assert.deepEqual(await readAll(driver, 'blob/data', { start: 10, end: 19 }), bytes.subarray(10, 20));
    assert.deepEqual(await readAll(driver, 'blob/data', { start: bytes.length - 5, end: bytes.length - 1 }), bytes.subarray(bytes.length - 5));
    const first = await driver.open('blob/data', { start: 0, end: 99 });
    assert.equal(first?.size, 100);
    // Opened only for its size: closed here, as a handler closes what it does not send.
    if (first) contentStream(first).destroy();
    assert.equal(await driver.open('blob/none'), undefined);
  });

  it('move: a file replaces its target and counts as written now; a directory moves whole', async ({ driver }) => {
    await driver.putContent('src/file', 'moving');
    await driver.putContent('dst/file', 'old');
    const before = Date.now() - 2000;
    await driver.move('src/file', 'dst/file');
    assert.equal(await driver.getContent('src/file'), undefined);
    assert.equal((await driver.getContent('dst/file'))?.toString(), 'moving');
    assert.ok(((await driver.lastUsed('dst/file')) ?? 0) >= before);
    await driver.putContent('dir/x/1', 'a');
    await driver.putContent('dir/x/y/2', 'b');
    await driver.move('dir/x', 'moved/here/x');
    assert.deepEqual((await driver.list('dir')).length, 0);
    assert.equal((await driver.getContent('moved/here/x/y/2'))?.toString(), 'b');
    assert.equal((await driver.getContent('moved/here/x/1'))?.toString(), 'a');
    await assert.rejects(driver.move('nothing/here', 'x'), (error: NodeJS.ErrnoException) => error.code === 'ENOENT');
  });

  it('delete: files and trees, never a sibling that shares a prefix; missing is fine', async ({ driver }) => {
    await driver.putContent('d/ab/1', '1');
    await driver.putContent('d/ab/deep/2', '2');
    await driver.putContent('d/abc/3', '3');
    await driver.putContent('d/ab.txt', '4');
    await driver.delete('d/ab');
    assert.equal(await driver.getContent('d/ab/1'), undefined);
    assert.equal(await driver.getContent('d/ab/deep/2'), undefined);
    assert.equal((await driver.getContent('d/abc/3'))?.toString(), '3');
    assert.equal((await driver.getContent('d/ab.txt'))?.toString(), '4');
    await driver.delete('d/ab.txt');
    assert.equal(await driver.getContent('d/ab.txt'), undefined);
    await driver.delete('d/never/was');
  });

  it('writer: appends across requests and processes, small chunks and whole parts, then commit', async ({ driver, another }) => {
    const bytes = randomBytes(2 * PART + 123_457);
    const writer = await driver.create('up/1/data');
    assert.equal(writer.size, 0);
    // Several small appends (each below a part), as clients PATCH in small chunks.
    let offset = 0;
    const seen = createHash('sha256');
    for (const size of [1, 1000, 300_000, 700_000]) {
      const appended = await writer.append(body(bytes.subarray(offset, offset + size), 4096), (chunk) => seen.update(chunk));
      offset += size;
      assert.deepEqual(appended, { size: offset, bodyFailed: false });
    }
    // Another process picks the session up, told the offset it should be at.
    const resumed = await another().resume('up/1/data', { expectedSize: offset });
    assert.ok(resumed);
    assert.equal(resumed.size, offset);
    const big = await resumed.append(body(bytes.subarray(offset, offset + PART + 5), 65_536), (chunk) => seen.update(chunk));
    offset += PART + 5;
    assert.equal(big.size, offset);
    // And the first one finishes it, without knowing what happened meanwhile.
    const last = await driver.resume('up/1/data');
    assert.ok(last);
    assert.equal(last.size, offset);
    await last.append(body(bytes.subarray(offset), 1 << 20), (chunk) => seen.update(chunk));
    await last.commit();
    const stored = await readAll(another(), 'up/1/data');
    assert.equal(stored?.length, bytes.length);
    assert.equal(sha(stored!), sha(bytes));
    assert.equal(seen.digest('hex'), sha(bytes), 'the stored() callback saw exactly the stored bytes');
  });

  it('writer: a failed body keeps what arrived; cancel removes everything; empty commits', async ({ driver }) => {
    const bytes = randomBytes(100_000);
    const writer = await driver.create('up/2/data');
    const outcome = await writer.append(body(bytes, 10_000, true), () => undefined);
    assert.deepEqual(outcome, { size: bytes.length, bodyFailed: true });
    assert.equal((await driver.resume('up/2/data'))?.size, bytes.length);
    await (await driver.resume('up/2/data'))!.cancel();
    assert.equal(await driver.resume('up/2/data'), undefined);
    assert.equal(await driver.resume('up/never/data'), undefined);
    const empty = await driver.create('up/3/data');
    await empty.commit();
    assert.deepEqual(await readAll(driver, 'up/3/data'), Buffer.alloc(0));
  });

  it('touch and lastUsed', async ({ driver }) => {
    assert.equal(await driver.touch('t/missing'), undefined);
    assert.equal(await driver.lastUsed('t/missing'), undefined);
    await driver.putContent('t/obj/data', 'x');
    const before = Date.now() - 2000;
    assert.equal((await driver.touch('t/obj/data'))?.size, 1);
    assert.ok(((await driver.lastUsed('t/obj/data')) ?? 0) >= before);
  });

  it('reclaim: deleted unless kept; a touch during the claim never answers true for a deleted object', async ({ driver, another }) => {
    await driver.putContent('r/one/data', '1');
    assert.equal(await driver.reclaim('r/one', async () => false), 'deleted');
    assert.equal(await driver.getContent('r/one/data'), undefined);
    assert.equal(await driver.reclaim('r/one', async () => false), 'gone');

    // A pusher on another replica touches objects while they are claimed. Either the
    // touch fails (the filesystem moved the directory away), or it waits until the claim
    // is decided; whichever: a touch that answers true means the object is still there.
    for (const keepTouched of [false, true]) {
      const dir = `r/two-${keepTouched}`;
      await driver.putContent(`${dir}/data`, '2');
      const claimedAfter = Date.now() + 5000;
      let touch: Promise<unknown> | undefined;
      const result = await driver.reclaim(dir, async (lastUsed) => keepTouched && ((await lastUsed(`${dir}/data`)) ?? 0) >= claimedAfter - 60_000, {
        afterClaim: async () => {
          touch = another().touch(`${dir}/data`);
          // Let the touch run (it must not need the claim to end to make its mark).
          await Promise.race([touch, new Promise((resolve) => setTimeout(resolve, 300))]);
        },
      });
      const touched = (await touch!) !== undefined;
      const exists = (await driver.getContent(`${dir}/data`)) !== undefined;
      assert.equal(exists, result === 'in-use', `${dir}: ${result}`);
      if (touched) assert.ok(exists, `${dir}: a touch that answered true must leave the object in place`);
      if (!keepTouched) assert.equal(result, 'deleted');
    }

    await driver.putContent('r/three/data', '3');
    assert.equal(await driver.reclaim('r/three', async (lastUsed) => (await lastUsed('r/three/data')) !== undefined), 'in-use');
    assert.equal((await driver.getContent('r/three/data'))?.toString(), '3');
    assert.equal((await driver.touch('r/three/data'))?.size, 1, 'an object given back can be touched');
    assert.equal(await driver.recoverReclaims(), 0, 'nothing left half done');
  });

  it('findMarkedDirectories: the directories holding `_` children', async ({ driver }) => {
    await driver.putContent('repos/library/nginx/_manifests/tags/v1/current/link', 'x');
    await driver.putContent('repos/library/nginx/_layers/sha256/aa/link', 'x');
    await driver.putContent('repos/app/_uploads/u/startedat', 'x');
    await driver.putContent('repos/a/b/c/_layers/sha256/bb/link', 'x');
    await driver.putContent('repos/a/b/c/d/_manifests/revisions/sha256/cc/link', 'x');
    await driver.putContent('repos/plain/file', 'x');
    const found = await driver.findMarkedDirectories('repos');
    assert.deepEqual(found.map((dir) => dir.path).sort(), ['a/b/c', 'a/b/c/d', 'app', 'library/nginx']);
    for (const dir of found) {
      if (dir.markers === undefined) continue;
      if (dir.path === 'app') assert.deepEqual(dir.markers, ['_uploads']);
      if (dir.path === 'library/nginx') assert.deepEqual([...dir.markers].sort(), ['_layers', '_manifests']);
    }
  });

  it('purgeAbandonedWrites keeps fresh writes', async ({ driver }) => {
    const writer = await driver.create('p/1/data');
    await writer.append(Readable.from([Buffer.from('fresh')]), () => undefined);
    await driver.purgeAbandonedWrites(60_000);
    assert.equal((await driver.resume('p/1/data'))?.size, 5);
  });

  it('checkHealth passes', async ({ driver }) => {
    await driver.checkHealth();
  });
}
