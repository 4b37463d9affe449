// skopeo, a real client, against Berth: copies in every direction keep digests, a
// multi-arch index survives `--all`, and inspect, list-tags and delete work.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerth, type TestRegistry } from '../support/berth.js';
import { LayoutWriter, sha256, writeImage, writeIndex } from '../support/images.js';
import { stopAll } from '../support/process.js';
import { credsFor, skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let registry: TestRegistry;
let work: string;

before(async () => {
  registry = await startBerth();
  work = await scratchDir('skopeo-');
});

after(async () => {
  await registry.stop();
  await stopAll();
  await removeScratchDirs();
});

test('multi-layer image: oci: -> docker:// -> dir: and oci: keeps every digest', async () => {
  const layout = new LayoutWriter(path.join(work, 'src'));
  const image = await writeImage(layout, { seed: 'skopeo-multi', layers: 3, layerSize: 256 * 1024 });
  layout.tag(image.manifest, 'v1');
  await layout.save();

  const target = `docker://${registry.host}/team/app:v1`;
  await skopeoCopy(`oci:${layout.dir}:v1`, target, { dest: registry, extra: ['--preserve-digests'] });

  const inspected = JSON.parse((await skopeo(['inspect', '--tls-verify=false', ...credsFor(registry), target])).stdout) as { Digest: string; Layers: string[] };
  assert.equal(inspected.Digest, image.manifest.digest);
  assert.deepEqual(inspected.Layers, image.layers.map((l) => l.digest));

  const dirOut = path.join(work, 'dir-out');
  await skopeoCopy(target, `dir:${dirOut}`, { src: registry });
  const pulledManifest = await readFile(path.join(dirOut, 'manifest.json'));
  assert.equal(sha256(pulledManifest), image.manifest.digest);
  for (const layer of [...image.layers, image.config]) {
    assert.equal(sha256(await readFile(path.join(dirOut, layer.digest.slice(7)))), layer.digest);
  }

  const ociOut = path.join(work, 'oci-out');
  await skopeoCopy(target, `oci:${ociOut}:v1`, { src: registry, extra: ['--preserve-digests'] });
  const index = JSON.parse(await readFile(path.join(ociOut, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(index.manifests[0]?.digest, image.manifest.digest);
});

test('multi-arch index copied with --all keeps its index digest', async () => {
  const layout = new LayoutWriter(path.join(work, 'multi'));
  const built = await writeIndex(layout, { seed: 'skopeo-index' });
  layout.tag(built.index, 'multi');
  await layout.save();
  const target = `docker://${registry.host}/team/multi:1.0`;
  await skopeoCopy(`oci:${layout.dir}:multi`, target, { dest: registry, extra: ['--all', '--preserve-digests'] });

  const raw = (await skopeo(['inspect', '--raw', '--tls-verify=false', ...credsFor(registry), target])).stdout;
  assert.equal(sha256(raw), built.index.digest);
  for (const image of built.images) {
    const child = (await skopeo(['inspect', '--raw', '--tls-verify=false', ...credsFor(registry), `docker://${registry.host}/team/multi@${image.manifest.digest}`])).stdout;
    assert.equal(sha256(child), image.manifest.digest);
  }
  const back = path.join(work, 'multi-back');
  await skopeoCopy(target, `oci:${back}:multi`, { src: registry, extra: ['--all', '--preserve-digests'] });
  const index = JSON.parse(await readFile(path.join(back, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(index.manifests[0]?.digest, built.index.digest);
});

test('list-tags and delete', async () => {
  const layout = new LayoutWriter(path.join(work, 'tags'));
  const image = await writeImage(layout, { seed: 'skopeo-tags', layers: 1 });
  layout.tag(image.manifest, 'a');
  await layout.save();
  for (const tag of ['a', 'b', 'c']) {
    await skopeoCopy(`oci:${layout.dir}:a`, `docker://${registry.host}/team/tags:${tag}`, { dest: registry });
  }
  const listed = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', ...credsFor(registry), `docker://${registry.host}/team/tags`])).stdout) as { Tags: string[] };
  assert.deepEqual(listed.Tags, ['a', 'b', 'c']);

  // skopeo delete resolves the tag and deletes the manifest by digest: every tag goes.
  await skopeo(['delete', '--tls-verify=false', ...credsFor(registry), `docker://${registry.host}/team/tags:a`]);
  const after = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', ...credsFor(registry), `docker://${registry.host}/team/tags`])).stdout) as { Tags: string[] };
  assert.deepEqual(after.Tags, []);
  const gone = await skopeo(['inspect', '--tls-verify=false', ...credsFor(registry), `docker://${registry.host}/team/tags:b`], { allowFailure: true });
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /manifest unknown/i);
});

test('wrong credentials are refused and nothing is written', async () => {
  const layout = new LayoutWriter(path.join(work, 'denied'));
  const image = await writeImage(layout, { seed: 'skopeo-denied', layers: 1 });
  layout.tag(image.manifest, 'x');
  await layout.save();
  const result = await skopeo(
    ['copy', '--dest-tls-verify=false', '--dest-creds', 'admin:wrong-password', `oci:${layout.dir}:x`, `docker://${registry.host}/denied/app:x`],
    { allowFailure: true },
  );
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /unauthorized|authentication required/i);
  const catalog = (await fetch(`${registry.url}/v2/_catalog`, { headers: { authorization: `Basic ${Buffer.from('admin:passw0rd').toString('base64')}` } }).then((r) => r.json())) as {
    repositories: string[];
  };
  assert.ok(!catalog.repositories.includes('denied/app'));
});
