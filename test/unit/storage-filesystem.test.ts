// The registry storage on the filesystem driver, on a real directory: concurrent uploads of one blob, concurrent
// pushes to one tag, symlinks planted in the data dir, and leftovers of a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { digestOf, parseDigest } from '../../src/oci/digest.js';
import { MEDIA_TYPE } from '../../src/oci/media-types.js';
import type { LayoutStorage } from '../../src/storage/layout-storage.js';
import { openStorage } from '../../src/storage/open.js';
import { blobDataPath } from '../../src/storage/layout.js';

async function withStorage(run: (storage: LayoutStorage, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-storage-'));
  try {
    await run(openStorage({ kind: 'filesystem', root }), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function pushBlob(storage: LayoutStorage, repository: string, data: Buffer): Promise<string> {
  const digest = digestOf(data);
  const session = await storage.startUpload(repository);
  // Several small chunks, so concurrent sessions interleave their writes.
  const chunks = Array.from({ length: 8 }, (_, i) => data.subarray((i * data.length) / 8, ((i + 1) * data.length) / 8));
  const result = await storage.finishUpload(repository, session.id, digest, Readable.from(chunks), { length: data.length });
  assert.ok(result.ok, JSON.stringify(result));
  return digest.value;
}

test('concurrent uploads of the same blob leave one correct copy', async () => {
  await withStorage(async (storage, root) => {
    const data = Buffer.alloc(256 * 1024, 7);
    const digests = await Promise.all(Array.from({ length: 16 }, (_, i) => pushBlob(storage, `repo${i % 4}`, data)));
    assert.equal(new Set(digests).size, 1);
    const digest = parseDigest(digests[0]!)!;
    assert.deepEqual(await readFile(path.join(root, blobDataPath(digest))), data);
    for (let i = 0; i < 4; i++) assert.equal((await storage.statBlob(`repo${i}`, digest))?.size, data.length);
    // No upload session is left behind.
    for (let i = 0; i < 4; i++) {
      const uploads = await readdir(path.join(root, `docker/registry/v2/repositories/repo${i}/_uploads`)).catch(() => []);
      assert.deepEqual(uploads, []);
    }
  });
});

test('concurrent pushes to one tag end on one of the pushed manifests', async () => {
  await withStorage(async (storage) => {
    const config = Buffer.from('{}');
    const configDigest = await pushBlob(storage, 'app', config);
    const manifests = Array.from({ length: 12 }, (_, i) =>
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociManifest, config: { mediaType: MEDIA_TYPE.ociConfig, digest: configDigest, size: 2 }, layers: [], annotations: { n: String(i) } })),
    );
    const results = await Promise.all(manifests.map((bytes) => storage.putManifest({ repository: 'app', reference: 'latest', bytes, contentType: MEDIA_TYPE.ociManifest })));
    assert.ok(results.every((r) => r.ok));
    const current = await storage.getManifest('app', 'latest');
    assert.ok(current);
    assert.ok(manifests.some((bytes) => digestOf(bytes).value === current.digest));
    assert.deepEqual(await storage.listTags('app'), ['latest']);
    // Every pushed revision is still addressable by digest.
    for (const bytes of manifests) assert.ok(await storage.getManifest('app', digestOf(bytes).value));
  });
});

test('a wrong digest commits nothing', async () => {
  await withStorage(async (storage, root) => {
    const session = await storage.startUpload('app');
    const claimed = digestOf('something else');
    const result = await storage.finishUpload('app', session.id, claimed, Readable.from([Buffer.from('actual bytes')]), {});
    assert.equal(result.ok, false);
    assert.equal(await storage.statBlob('app', claimed), undefined);
    const blobs = await readdir(path.join(root, 'docker/registry/v2/blobs')).catch(() => []);
    assert.deepEqual(blobs, []);
  });
});

test('symlinks inside the data dir are never followed', async () => {
  await withStorage(async (storage, root) => {
    const outside = await mkdtemp(path.join(tmpdir(), 'berth-outside-'));
    try {
      await writeFile(path.join(outside, 'link'), digestOf('x').value);
      // A repository directory that is a symlink to somewhere else.
      await mkdir(path.join(root, 'docker/registry/v2/repositories'), { recursive: true });
      await symlink(outside, path.join(root, 'docker/registry/v2/repositories/evil'));
      await assert.rejects(storage.getManifest('evil', 'latest'), /symlink/);
      await assert.rejects(storage.startUpload('evil'), /symlink/);
      assert.deepEqual(await readdir(outside), ['link']);
      assert.deepEqual(await storage.listRepositories(), []);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

test('leftovers of a crash are invisible and purged', async () => {
  await withStorage(async (storage, root) => {
    // A session with data but no commit, and a half-built tag in staging.
    const session = await storage.startUpload('app');
    await storage.appendUpload('app', session.id, Readable.from([Buffer.from('partial')]), {});
    await mkdir(path.join(root, 'docker/registry/v2/repositories/app/_uploads/staging-x/tag/current'), { recursive: true });
    assert.equal(await storage.listTags('app'), undefined);
    assert.deepEqual(await storage.listRepositories(), []);
    const report = await storage.purgeUploads(-1);
    assert.equal(report.removed, 2);
    assert.deepEqual(await readdir(path.join(root, 'docker/registry/v2/repositories/app/_uploads')), []);
  });
});
