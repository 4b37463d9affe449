// `berth registry save` pulls into a distribution-layout directory with no server in
// between, really in parallel; docker-registry 2.8 and `berth registry serve` both serve
// the directory, and skopeo pulls every image from each with every digest intact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RegistryClient } from '../../src/client/registry-client.js';
import { startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, writeLogins, type CliSandbox } from '../support/cli-sandbox.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, sha256, writeImage, writeIndex, type BuiltImage, type BuiltIndex } from '../support/images.js';
import { stopAll } from '../support/process.js';
import { startProxy, type TestProxy } from '../support/proxy.js';
import { skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let source: TestRegistry;
let home: CliSandbox;
let work: string;
let layout: LayoutWriter;
let app: BuiltImage;
let multi: BuiltIndex;
let dockerList: BuiltIndex;
let tool: BuiltImage;

/** Pushes blobs and manifests straight from the layout (for Docker media types, which skopeo 1.9 cannot read from an OCI layout). */
async function pushBuilt(client: RegistryClient, repository: string, tag: string, images: BuiltImage[], index?: BuiltIndex): Promise<void> {
  const file = (digest: string): string => path.join(layout.dir, 'blobs', 'sha256', digest.slice(7));
  for (const image of images) {
    for (const blob of [image.config, ...image.layers]) await client.pushBlob(repository, blob.digest, blob.size, () => createReadStream(file(blob.digest)));
    await client.putManifest(repository, index ? image.manifest.digest : tag, image.manifestBytes, image.manifest.mediaType);
  }
  if (index) await client.putManifest(repository, tag, index.indexBytes, index.index.mediaType);
}

before(async () => {
  work = await scratchDir('registry-save-');
  source = await startDistribution({ user: TEST_USER, password: TEST_PASSWORD });
  home = await cliSandbox();
  layout = new LayoutWriter(path.join(work, 'layout'));
  app = await writeImage(layout, { seed: 'save-app', layers: 2, layerSize: 64 * 1024 });
  tool = await writeImage(layout, { seed: 'save-tool', layers: 1 });
  multi = await writeIndex(layout, { seed: 'save-multi' });
  dockerList = await writeIndex(layout, { seed: 'save-docker', format: 'docker' });
  layout.tag(app.manifest, 'app');
  layout.tag(multi.index, 'multi');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:app`, `docker://${source.host}/library/app:1`, { dest: source });
  await skopeoCopy(`oci:${layout.dir}:multi`, `docker://${source.host}/lib/multi:2`, { dest: source, extra: ['--all', '--preserve-digests'] });
  const client = new RegistryClient({ registry: source.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }) });
  await pushBuilt(client, 'vendor/list', '3', dockerList.images, dockerList);
  await pushBuilt(client, 'tools/tool', 'v9', [tool]);
  client.close();
});

after(async () => {
  await source.stop();
  await stopAll();
  await removeScratchDirs();
});

/** Copies `reference` with skopeo to dir: and checks the top manifest digest and every file's digest. */
async function pullAndVerify(registry: TestRegistry, reference: string, expectedDigest: string): Promise<number> {
  const out = path.join(await scratchDir('pulled-'), 'dir');
  await skopeoCopy(`docker://${registry.host}/${reference}`, `dir:${out}`, { src: registry, extra: ['--all'] });
  assert.equal(sha256(await readFile(path.join(out, 'manifest.json'))), expectedDigest, `${registry.host}/${reference}`);
  let checked = 0;
  for (const name of await readdir(out)) {
    if (/^[0-9a-f]{64}$/.test(name)) {
      assert.equal(sha256(await readFile(path.join(out, name))), `sha256:${name}`, `${reference}: blob ${name}`);
      checked += 1;
    }
  }
  return checked;
}

let saved: string;
let proxy: TestProxy;

test('save pulls every image into a directory, several at once', async () => {
  proxy = await startProxy(source.host, { delayMs: 150 });
  await writeLogins(home.authFile, { [proxy.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const list = path.join(work, 'images.txt');
  await writeFile(list, `# images for the cluster\n"${proxy.host}/lib/multi:2"\n\n${proxy.host}/vendor/list:3\n`);
  saved = path.join(work, 'saved');
  const result = await home.berth([
    'registry', 'save',
    '--images', `${proxy.host}/library/app:1,${proxy.host}/tools/tool@${tool.manifest.digest}`,
    '--images-file', list,
    '--all-platforms', '--max-pull-procs', '4',
    saved,
  ]);
  assert.match(result.stdout, /Save completed: 4 image\(s\): 4 copied, 0 up to date, 0 failed/);
  assert.match(result.stdout, new RegExp(`copied ${proxy.host}/lib/multi:2 -> lib/multi:2 ${multi.index.digest}`));
  assert.match(result.stdout, new RegExp(`copied ${proxy.host}/tools/tool@${tool.manifest.digest} -> tools/tool@${tool.manifest.digest}`));
  assert.ok(proxy.maxRepositoriesInFlight() >= 3, `images were pulled one after another (at most ${proxy.maxRepositoriesInFlight()} at once)`);
  await proxy.close();

  // The same list with --max-pull-procs 1 really is sequential: the flag is what decides.
  const sequentialProxy = await startProxy(source.host, { delayMs: 20 });
  await writeLogins(home.authFile, { [sequentialProxy.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  await home.berth(['registry', 'save', '--images', ['library/app:1', 'lib/multi:2', 'vendor/list:3'].map((r) => `${sequentialProxy.host}/${r}`).join(','), '--all-platforms', '--max-pull-procs', '1', path.join(work, 'sequential')]);
  assert.equal(sequentialProxy.maxRepositoriesInFlight(), 1);
  await sequentialProxy.close();

  // A second run finds everything in place and transfers nothing.
  const again = await startProxy(source.host);
  await writeLogins(home.authFile, { [again.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const rerun = await home.berth(['registry', 'save', '--images', `${again.host}/library/app:1,${again.host}/lib/multi:2`, '--all-platforms', saved]);
  assert.match(rerun.stdout, /2 image\(s\): 0 copied, 2 up to date, 0 failed; 0 blob\(s\)/);
  assert.equal(again.requests.filter((r) => r.path.includes('/blobs/')).length, 0);
  await again.close();
});

test('without --all-platforms the machine platform is saved; a bad image fails alone', async () => {
  await writeLogins(home.authFile, { [source.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const single = path.join(work, 'single');
  const result = await home.berth(['registry', 'save', '--images', `${source.host}/lib/multi:2,${source.host}/lib/nothing:1,${source.host}/library/app:1`, single], { allowFailure: true });
  assert.match(oneErrorLine(result), /1 of 3 image\(s\) could not be saved to .*: .*lib\/nothing:1.*manifest unknown/);
  assert.match(result.stdout, /FAILED .*lib\/nothing:1/);
  const amd64 = multi.images.find((i) => i.manifest.platform?.architecture === 'amd64')!;
  const link = await readFile(path.join(single, 'docker/registry/v2/repositories/lib/multi/_manifests/tags/2/current/link'), 'utf8');
  assert.equal(link, amd64.manifest.digest);

  const nothing = path.join(work, 'never-created');
  const unknown = await home.berth(['registry', 'save', '--images', `${source.host}/lib/nothing:1`, nothing], { allowFailure: true });
  assert.match(oneErrorLine(unknown), /1 of 1 image\(s\) could not be saved/);
  await assert.rejects(readdir(nothing), /ENOENT/, 'nothing is created when nothing could be saved');
  const down = await home.berth(['registry', 'save', '--images', '127.0.0.1:9/x/y:1', nothing], { allowFailure: true });
  assert.match(oneErrorLine(down), /registry http:\/\/127\.0\.0\.1:9 is not reachable: connection refused/);
});

test('docker-registry 2.8 and berth registry serve both serve the saved directory; skopeo pulls every image from each', async () => {
  const expected: Array<[string, string]> = [
    ['library/app:1', app.manifest.digest],
    ['lib/multi:2', multi.index.digest],
    ['vendor/list:3', dockerList.index.digest],
    [`tools/tool@${tool.manifest.digest}`, tool.manifest.digest],
  ];
  const distribution = await startDistribution({ dataDir: saved });
  const served = await startBerthProcess([], { dataDir: saved });
  for (const server of [distribution, served]) {
    for (const [reference, digest] of expected) {
      const blobs = await pullAndVerify(server, reference, digest);
      assert.ok(blobs >= 2, `${reference} from ${server.host}: ${blobs} blobs`);
    }
    for (const image of [...multi.images, ...dockerList.images]) {
      const repository = multi.images.includes(image) ? 'lib/multi' : 'vendor/list';
      const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', ...(server.user ? ['--creds', `${server.user}:${server.password}`] : ['--no-creds']), `docker://${server.host}/${repository}@${image.manifest.digest}`]);
      assert.equal(sha256(raw.stdout), image.manifest.digest);
    }
    const catalog = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', ...(server.user ? ['--creds', `${server.user}:${server.password}`] : ['--no-creds']), `docker://${server.host}/lib/multi`])).stdout) as { Tags: string[] };
    assert.deepEqual(catalog.Tags, ['2']);
  }
  await distribution.stop();
  await served.stop();
});
