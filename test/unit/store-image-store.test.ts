// The local image store under concurrency and failure: the lock file serialises
// index.json updates from many store instances (as from many processes), a stale lock
// of a dead process is broken, blobs that do not match their digest are never stored,
// and garbage collection keeps what index.json and live leases name while removing
// what dead processes left behind.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BlobVerifyError } from '../../src/store/blob-store.js';
import { acquireLock, LockTimeoutError, withLock } from '../../src/store/file-lock.js';
import { ImageStore } from '../../src/store/image-store.js';
import { entryName } from '../../src/store/index-file.js';
import { familiarName, normaliseImageName } from '../../src/store/names.js';
import { setImageName, StoreSource, StoreTarget } from '../../src/store/store-content.js';
import { copyImage } from '../../src/client/copy-image.js';
import { LayoutWriter, sha256, writeImage } from '../support/images.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { layoutReader } from '../support/layout-reader.js';

after(removeScratchDirs);

/** A PID that is certainly not running: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

test('withLock admits one holder at a time', async () => {
  const dir = await scratchDir('lock-');
  const file = path.join(dir, 'lock');
  let inside = 0;
  let maxInside = 0;
  await Promise.all(
    Array.from({ length: 20 }, () =>
      withLock(file, async () => {
        inside += 1;
        maxInside = Math.max(maxInside, inside);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inside -= 1;
      }),
    ),
  );
  assert.equal(maxInside, 1);
  assert.deepEqual(await readdir(dir), [], 'the lock file is gone after the last release');
});

test('a lock left by a dead process is broken; a live holder makes others time out', async () => {
  const dir = await scratchDir('lock-');
  const file = path.join(dir, 'lock');
  await writeFile(file, `${deadPid()} deadbeef\n`);
  const release = await acquireLock(file, { timeoutMs: 2000 });
  const holder = JSON.parse(await readFile(file, 'utf8')) as { pid: number };
  assert.equal(holder.pid, process.pid);
  await assert.rejects(acquireLock(file, { timeoutMs: 200 }), LockTimeoutError);
  await release();
});

test('concurrent name updates from 40 store instances lose none', async () => {
  const root = await scratchDir('store-');
  const layout = new LayoutWriter(path.join(root, '..', `${path.basename(root)}-layout`));
  const image = await writeImage(layout, { seed: 'concurrent-names', layers: 1, layerSize: 1024 });
  const stores = await Promise.all(Array.from({ length: 40 }, () => ImageStore.open(root)));
  await Promise.all(
    stores.map((store, i) => setImageName(store, normaliseImageName(`team/app:v${i}`), { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size })),
  );
  const names = (await stores[0]!.entries()).map(entryName).sort();
  assert.equal(names.length, 40);
  assert.ok(names.includes('docker.io/team/app:v39'));
  assert.equal(familiarName('docker.io/library/nginx:1.25'), 'nginx:1.25');
});

test('a blob whose bytes do not match its digest is refused and leaves nothing', async () => {
  const store = await ImageStore.open(await scratchDir('store-'));
  const bytes = Buffer.from('hello');
  await assert.rejects(store.blobs.write({ digest: sha256('other'), size: bytes.length }, Readable.from([bytes])), BlobVerifyError);
  await assert.rejects(store.blobs.write({ digest: sha256(bytes), size: 99 }, Readable.from([bytes])), BlobVerifyError);
  assert.deepEqual(await store.blobs.list(), []);
  assert.deepEqual(await readdir(path.join(store.root, 'ingest')), []);
});

test('copyImage into the store and back out keeps every digest', async () => {
  const work = await scratchDir('store-copy-');
  const layout = new LayoutWriter(path.join(work, 'layout'));
  const image = await writeImage(layout, { seed: 'copy-in-out', layers: 2, layerSize: 8192 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  const store = await ImageStore.open(path.join(work, 'store'));
  const lease = await store.lease();
  const name = normaliseImageName('example.test/app:v1');
  const result = await copyImage(layoutReader(layout.dir), new StoreTarget(store, lease), 'v1', [name], { platform: { os: 'linux', architecture: 'amd64' } });
  await lease.release();
  assert.equal(result.digest, image.manifest.digest);
  const back = await new StoreSource(store).readManifest(name);
  assert.equal(back?.digest, image.manifest.digest);
  assert.deepEqual(back?.bytes, image.manifestBytes);
  // A second pull finds everything present and writes nothing.
  const again = await store.lease();
  const second = await copyImage(layoutReader(layout.dir), new StoreTarget(store, again), 'v1', [name], {});
  await again.release();
  assert.deepEqual(second.blobs, { uploaded: 0, existed: 3, mounted: 0, bytes: 0 });
});

test('garbage collection keeps named and leased blobs and removes the rest, and dead leftovers', async () => {
  const work = await scratchDir('store-gc-');
  const store = await ImageStore.open(path.join(work, 'store'));
  const layout = new LayoutWriter(path.join(work, 'layout'));
  const kept = await writeImage(layout, { seed: 'gc-kept', layers: 1 });
  const dropped = await writeImage(layout, { seed: 'gc-dropped', layers: 1 });
  layout.tag(kept.manifest, 'kept');
  layout.tag(dropped.manifest, 'dropped');
  await layout.save();
  const lease = await store.lease();
  for (const [tag, name] of [['kept', 'x.test/kept:1'], ['dropped', 'x.test/dropped:1']] as const) {
    await copyImage(layoutReader(layout.dir), new StoreTarget(store, lease), tag, [name], {});
  }
  await lease.release();
  // A live command's lease protects a blob nothing names yet.
  const live = await store.lease();
  const pending = await store.blobs.writeBytes(Buffer.from('pending upload'));
  await live.add([pending]);
  // What a crashed command left: its lease and a temp file.
  const dead = deadPid();
  await writeFile(path.join(store.root, 'leases', `${dead}-abc`), `${dropped.config.digest}\n`);
  await mkdir(path.join(store.root, 'ingest'), { recursive: true });
  await writeFile(path.join(store.root, 'ingest', `${dead}-blob-x`), 'partial');

  await store.updateIndex((entries) => ({ entries: entries.filter((e) => entryName(e) !== 'x.test/dropped:1'), result: undefined }));
  const report = await store.collectGarbage();
  const present = new Set((await store.blobs.list()).map((b) => b.digest));
  for (const digest of [kept.manifest.digest, kept.config.digest, ...kept.layers.map((l) => l.digest), pending]) assert.ok(present.has(digest), `kept ${digest}`);
  for (const digest of [dropped.manifest.digest, dropped.config.digest, ...dropped.layers.map((l) => l.digest)]) assert.ok(!present.has(digest), `removed ${digest}`);
  assert.equal(report.blobs, 3);
  assert.deepEqual(await readdir(path.join(store.root, 'ingest')), []);
  assert.deepEqual((await readdir(path.join(store.root, 'leases'))).filter((n) => n.startsWith(`${dead}-`)), []);
  await live.release();
});
