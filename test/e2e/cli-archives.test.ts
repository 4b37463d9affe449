// Image archives in every direction with the real tools: `berth save` is read by
// docker 20.10 (`docker load`, plain and gzipped), containerd 1.6 (`ctr images import`),
// podman 4.3 (`podman load`) and skopeo (as docker-archive: and oci-archive:);
// `berth load` reads what `docker save`, `ctr images export` (whole index, and one
// platform of an index) and `skopeo copy ... oci-archive:` write. Config digests (the
// image IDs) stay the same everywhere; an image loaded from docker's archive is pushed
// by berth and pulled back by docker as the same image.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarDirectory } from '../support/archive.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, type CliSandbox } from '../support/cli-sandbox.js';
import { startContainerd, type RunningContainerd } from '../support/containerd.js';
import { startDistribution } from '../support/distribution.js';
import { startDockerd, type RunningDockerd } from '../support/dockerd.js';
import { LayoutWriter, writeImage, writeIndex, type BuiltImage } from '../support/images.js';
import { podmanSandbox, type PodmanSandbox } from '../support/podman.js';
import { stopAll } from '../support/process.js';
import { skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let work: string;
let hub: TestRegistry;
let berth: TestRegistry;
let cli: CliSandbox;
let dockerd: RunningDockerd;
let containerd: RunningContainerd;
let podman: PodmanSandbox;
let app: BuiltImage;
let layoutDir: string;

before(async () => {
  work = await scratchDir('cli-archives-');
  [hub, berth, cli, podman] = await Promise.all([startDistribution(), startBerth(), cliSandbox('cli-archives-home-'), podmanSandbox(path.join(work, 'podman'))]);
  [dockerd, containerd] = await Promise.all([startDockerd(path.join(work, 'dockerd')), startContainerd(path.join(work, 'containerd'))]);
  const layout = new LayoutWriter(path.join(work, 'layout'));
  app = await writeImage(layout, { seed: 'cli-archives', layers: 2, layerSize: 128 * 1024 });
  layout.tag(app.manifest, 'v1');
  await layout.save();
  layoutDir = layout.dir;
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${hub.host}/team/app:v1`, { dest: hub, extra: ['--preserve-digests'] });
  await cli.berth(['pull', '-q', `${hub.host}/team/app:v1`]);
  await cli.berth(['tag', `${hub.host}/team/app:v1`, 'berth.test/app:v1']);
});

after(async () => {
  await dockerd?.stop();
  await containerd?.stop();
  await podman?.cleanup();
  await hub?.stop();
  await berth?.stop();
  await stopAll();
  await removeScratchDirs();
});

interface CliImage {
  Name: string;
  Id: string;
  Digest: string;
}

async function berthImages(): Promise<Map<string, CliImage>> {
  const rows = JSON.parse((await cli.berth(['images', '--json'])).stdout) as CliImage[];
  return new Map(rows.map((row) => [row.Name, row]));
}

test('berth save is loaded by docker 20.10, plain and gzipped, as the same image', async () => {
  const plain = path.join(work, 'app.tar');
  const gzipped = path.join(work, 'app.tgz');
  await cli.berth(['save', '-o', plain, 'berth.test/app:v1']);
  await cli.berth(['save', '-o', gzipped, 'berth.test/app:v1']);
  assert.deepEqual([...(await readFile(gzipped)).subarray(0, 2)], [0x1f, 0x8b]);
  for (const file of [plain, gzipped]) {
    const loaded = await dockerd.docker(['load', '--input', file]);
    assert.match(loaded.stdout, /Loaded image: berth\.test\/app:v1/);
    const [inspected] = JSON.parse((await dockerd.docker(['image', 'inspect', 'berth.test/app:v1'])).stdout) as Array<{ Id: string }>;
    assert.equal(inspected?.Id, app.config.digest);
    await dockerd.docker(['rmi', 'berth.test/app:v1']);
  }
});

test('berth save is imported by ctr with the same manifest and config digests', async () => {
  const plain = path.join(work, 'app.tar');
  await containerd.ctr(['images', 'import', plain]);
  const line = (await containerd.ctr(['images', 'ls'])).stdout.split('\n').find((l) => l.startsWith('berth.test/app:v1 '));
  assert.ok(line, 'ctr lists berth.test/app:v1');
  assert.equal(line.trim().split(/\s+/)[2], app.manifest.digest);
  const manifest = JSON.parse((await containerd.ctr(['content', 'get', app.manifest.digest])).stdout) as { config: { digest: string } };
  assert.equal(manifest.config.digest, app.config.digest);
});

test('berth save is loaded by podman (gzipped) and read by skopeo both ways', async () => {
  const loaded = await podman.podman(['load', '--input', path.join(work, 'app.tgz')]);
  assert.match(loaded.stdout, /Loaded image: berth\.test\/app:v1/);
  const [inspected] = JSON.parse((await podman.podman(['image', 'inspect', 'berth.test/app:v1'])).stdout) as Array<{ Id: string }>;
  assert.equal(`sha256:${inspected?.Id}`, app.config.digest);

  const plain = path.join(work, 'app.tar');
  const asOci = JSON.parse((await skopeo(['inspect', `oci-archive:${plain}`])).stdout) as { Digest: string };
  assert.equal(asOci.Digest, app.manifest.digest);
  const asDocker = JSON.parse((await skopeo(['inspect', '--config', `docker-archive:${plain}`])).stdout) as { rootfs: { diff_ids: string[] } };
  const original = JSON.parse(await readFile(path.join(layoutDir, 'blobs', 'sha256', app.config.digest.slice(7)), 'utf8')) as { rootfs: { diff_ids: string[] } };
  assert.deepEqual(asDocker.rootfs.diff_ids, original.rootfs.diff_ids);
});

test("berth load reads docker save (plain and gzipped); the image pushes and docker pulls it back as the same image", async () => {
  const dockerArchive = path.join(work, 'from-docker.docker.tar');
  await skopeoCopy(`oci:${layoutDir}:v1`, `docker-archive:${dockerArchive}:berth.test/docker-src:v1`);
  await dockerd.docker(['load', '--input', dockerArchive]);
  const saved = path.join(work, 'docker-save.tar');
  await dockerd.docker(['save', '--output', saved, 'berth.test/docker-src:v1']);
  const loaded = await cli.berth(['load', '-i', saved]);
  assert.equal(loaded.stdout, 'Loaded image: berth.test/docker-src:v1\n');
  const image = (await berthImages()).get('berth.test/docker-src:v1');
  assert.equal(image?.Id, app.config.digest);

  await writeFile(`${saved}.gz`, gzipSync(await readFile(saved)));
  await cli.berth(['rmi', 'berth.test/docker-src:v1']);
  await cli.berth(['load', '-i', `${saved}.gz`]);
  const again = (await berthImages()).get('berth.test/docker-src:v1');
  assert.equal(again?.Id, app.config.digest);
  assert.equal(again?.Digest, image?.Digest, 'loading the same archive twice gives the same manifest');

  // Pushed by berth, pulled by docker: docker sees the image it saved.
  const ref = `${berth.host}/docker/roundtrip:v1`;
  await cli.berth(['login', '-u', TEST_USER, '--password-stdin', berth.host], { input: TEST_PASSWORD });
  await cli.berth(['push', 'berth.test/docker-src:v1', ref]);
  await dockerd.docker(['login', '--username', TEST_USER, '--password-stdin', berth.host], { input: TEST_PASSWORD });
  await dockerd.docker(['pull', ref]);
  const [pulled] = JSON.parse((await dockerd.docker(['image', 'inspect', ref])).stdout) as Array<{ Id: string }>;
  assert.equal(pulled?.Id, app.config.digest);
});

test('berth load reads ctr images export: a single image, a whole index, and one platform of an index', async () => {
  const single = path.join(work, 'ctr-single.tar');
  await containerd.ctr(['images', 'tag', 'berth.test/app:v1', 'berth.test/from-ctr:v1']);
  await containerd.ctr(['images', 'export', single, 'berth.test/from-ctr:v1']);
  assert.equal((await cli.berth(['load', '-i', single])).stdout, 'Loaded image: berth.test/from-ctr:v1\n');
  const fromCtr = (await berthImages()).get('berth.test/from-ctr:v1');
  assert.deepEqual([fromCtr?.Digest, fromCtr?.Id], [app.manifest.digest, app.config.digest]);

  const layout = new LayoutWriter(path.join(work, 'multi-layout'));
  const multi = await writeIndex(layout, { seed: 'cli-archives-multi' });
  layout.tag(multi.index, 'v2');
  await layout.save();
  const ociArchive = path.join(work, 'multi.oci.tar');
  await tarDirectory(layout.dir, ociArchive);
  await containerd.ctr(['images', 'import', '--all-platforms', '--base-name', 'berth.test/multi', ociArchive]);

  const whole = path.join(work, 'ctr-multi-all.tar');
  await containerd.ctr(['images', 'export', '--all-platforms', whole, 'berth.test/multi:v2']);
  await cli.berth(['load', '-i', whole]);
  assert.equal((await berthImages()).get('berth.test/multi:v2')?.Digest, multi.index.digest);

  // Without --all-platforms ctr keeps the index but only this platform's content.
  const onePlatform = path.join(work, 'ctr-multi-one.tar');
  await containerd.ctr(['images', 'export', '--platform', 'linux/amd64', onePlatform, 'berth.test/multi:v2']);
  const root = path.join(work, 'store-one-platform');
  await cli.berth(['load', '--root', root, '-i', onePlatform]);
  const rows = JSON.parse((await cli.berth(['images', '--root', root, '--json'])).stdout) as CliImage[];
  assert.deepEqual(rows.map((r) => [r.Name, r.Digest, r.Id]), [['berth.test/multi:v2', multi.images[0]!.manifest.digest, multi.images[0]!.config.digest]]);
});

test('berth load reads skopeo oci-archive output with the same digests', async () => {
  const archive = path.join(work, 'skopeo.oci.tar');
  await skopeoCopy(`oci:${layoutDir}:v1`, `oci-archive:${archive}:berth.test/from-skopeo:v1`);
  assert.equal((await cli.berth(['load', '-i', archive])).stdout, 'Loaded image: berth.test/from-skopeo:v1\n');
  const image = (await berthImages()).get('berth.test/from-skopeo:v1');
  assert.deepEqual([image?.Digest, image?.Id], [app.manifest.digest, app.config.digest]);
  const inspected = JSON.parse((await cli.berth(['inspect', 'berth.test/from-skopeo:v1'])).stdout) as Array<{ RootFS: { Layers: string[] } }>;
  assert.equal(inspected[0]?.RootFS.Layers.length, 2);
});
