// The registry client against two real servers, Berth and distribution 2.8: Basic
// auth, image copies between them (single image, whole index), chunked uploads,
// cross-repository mounts, tag pagination and failures that must surface.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { copyImage } from '../../src/client/copy-image.js';
import { RegistryClient } from '../../src/client/registry-client.js';
import { RegistryRepository } from '../../src/client/registry-repository.js';
import { UnauthorizedError } from '../../src/client/errors.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, writeImage, writeIndex } from '../support/images.js';
import { stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let berth: TestRegistry;
let distribution: TestRegistry;
let work: string;

function clientFor(registry: TestRegistry, password = registry.password): RegistryClient {
  return new RegistryClient({ registry: registry.host, credentials: () => ({ username: registry.user ?? '', password: password ?? '' }), retryDelayMs: 10 });
}

before(async () => {
  berth = await startBerth();
  distribution = await startDistribution({ user: TEST_USER, password: TEST_PASSWORD });
  work = await scratchDir('client-');
});

after(async () => {
  await berth.stop();
  await distribution.stop();
  await stopAll();
  await removeScratchDirs();
});

test('copies a multi-platform index from distribution to Berth keeping its digest', async () => {
  const layout = new LayoutWriter(path.join(work, 'idx'));
  const built = await writeIndex(layout, { seed: 'client-index' });
  layout.tag(built.index, 'v1');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${distribution.host}/lib/app:v1`, { dest: distribution, extra: ['--all', '--preserve-digests'] });

  const from = clientFor(distribution);
  const to = clientFor(berth);
  const events: string[] = [];
  const result = await copyImage(new RegistryRepository(from, 'lib/app'), new RegistryRepository(to, 'mirror/app'), 'v1', ['v1', 'stable'], {
    allPlatforms: true,
    onEvent: (event) => events.push(event.kind),
  });
  assert.equal(result.digest, built.index.digest);
  assert.equal(result.blobs.uploaded, 4); // one config and one layer per platform
  const head = await to.headManifest('mirror/app', 'stable');
  assert.equal(head?.digest, built.index.digest);
  assert.deepEqual(await to.listTags('mirror/app'), ['stable', 'v1']);

  // A second copy transfers no blob: everything exists.
  const again = await copyImage(new RegistryRepository(from, 'lib/app'), new RegistryRepository(to, 'mirror/app'), 'v1', ['v1'], { allPlatforms: true });
  assert.equal(again.blobs.uploaded, 0);
  from.close();
  to.close();
});

test('single-platform copy picks the requested platform', async () => {
  const from = clientFor(distribution);
  const to = clientFor(berth);
  const source = await from.getManifest('lib/app', 'v1');
  assert.ok(source);
  const index = JSON.parse(source.bytes.toString()) as { manifests: Array<{ digest: string; platform: { architecture: string } }> };
  const arm = index.manifests.find((m) => m.platform.architecture === 'arm64');
  const result = await copyImage(new RegistryRepository(from, 'lib/app'), new RegistryRepository(to, 'single/app'), 'v1', ['v1'], {
    platform: { os: 'linux', architecture: 'arm64' },
  });
  assert.equal(result.digest, arm?.digest);
  await assert.rejects(
    copyImage(new RegistryRepository(from, 'lib/app'), new RegistryRepository(to, 'single/app'), 'v1', ['v1'], { platform: { os: 'linux', architecture: 's390x' } }),
    /no linux\/s390x image/,
  );
  from.close();
  to.close();
});

test('chunked upload, mount and tag pagination against both servers', async () => {
  const layout = new LayoutWriter(path.join(work, 'chunks'));
  const image = await writeImage(layout, { seed: 'client-chunks', layers: 1, layerSize: 300_000 });
  const layer = image.layers[0]!;
  const open = () => createReadStream(path.join(layout.dir, 'blobs', 'sha256', layer.digest.slice(7)));
  for (const registry of [berth, distribution]) {
    const client = clientFor(registry);
    assert.equal(await client.pushBlob('chunk/a', layer.digest, layer.size, open, { chunkSize: 65536 }), 'uploaded');
    assert.equal(await client.headBlob('chunk/a', layer.digest), layer.size);
    assert.equal(await client.pushBlob('chunk/a', layer.digest, layer.size, open), 'exists');
    assert.equal(await client.pushBlob('chunk/b', layer.digest, layer.size, open, { mountFrom: 'chunk/a' }), 'mounted');
    client.close();
  }
  const client = clientFor(berth);
  const config = image.config;
  await client.pushBlob('chunk/a', config.digest, config.size, () => createReadStream(path.join(layout.dir, 'blobs', 'sha256', config.digest.slice(7))));
  const tags = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, '0')}`);
  for (const tag of tags) await client.putManifest('chunk/a', tag, image.manifestBytes, image.manifest.mediaType);
  assert.deepEqual(await client.listTags('chunk/a', 7), tags);
  assert.equal(await client.listTags('never/pushed'), undefined);
  client.close();
});

test('a wrong password is an UnauthorizedError on both servers', async () => {
  for (const registry of [berth, distribution]) {
    const client = clientFor(registry, 'not-the-password');
    await assert.rejects(client.checkLogin(), (error: unknown) => error instanceof UnauthorizedError);
    client.close();
  }
});
