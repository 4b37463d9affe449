// containerd 1.6's own client, ctr, against Berth with auth on: an image imported into
// containerd is pushed and pulled back with the same digests; a multi-arch index
// pulled from Berth survives `ctr images export` / `ctr images import` (and a push
// back) with its digest; the CRI plugin pulls from Berth through crictl.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tarDirectory } from '../support/archive.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { startContainerd, writeHostsToml, type RunningContainerd } from '../support/containerd.js';
import { LayoutWriter, sha256, writeImage, writeIndex } from '../support/images.js';
import { basicAuth } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let registry: TestRegistry;
let containerd: RunningContainerd;
let work: string;

const CREDS = `${TEST_USER}:${TEST_PASSWORD}`;
const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json';

before(async () => {
  registry = await startBerth();
  work = await scratchDir('ctr-');
  containerd = await startContainerd(path.join(work, 'containerd'));
});

after(async () => {
  await containerd?.stop();
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

/** name -> target digest, from `ctr images ls` (columns: REF TYPE DIGEST ...). */
async function imageDigests(namespace = 'default'): Promise<Map<string, string>> {
  const { stdout } = await containerd.ctr(['images', 'ls'], { namespace });
  const digests = new Map<string, string>();
  for (const line of stdout.split('\n').slice(1)) {
    const [ref, , digest] = line.trim().split(/\s+/);
    if (ref && digest) digests.set(ref, digest);
  }
  return digests;
}

/** Digests in containerd's content store (`ctr content ls -q`). */
async function contentDigests(): Promise<Set<string>> {
  const { stdout } = await containerd.ctr(['content', 'ls', '-q']);
  return new Set(stdout.split('\n').map((line) => line.trim()).filter((line) => line !== ''));
}

async function berthManifest(repository: string, reference: string): Promise<{ status: number; digest: string | null; bytes: Buffer }> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {
    headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD), accept: OCI_ACCEPT },
  });
  return { status: response.status, digest: response.headers.get('docker-content-digest'), bytes: Buffer.from(await response.arrayBuffer()) };
}

async function berthHasBlob(repository: string, digest: string): Promise<boolean> {
  const response = await fetch(`${registry.url}/v2/${repository}/blobs/${digest}`, {
    method: 'HEAD',
    headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) },
  });
  return response.status === 200;
}

test('ctr images push, rm, pull: manifest, config and layer digests survive the round trip', async () => {
  const layout = new LayoutWriter(path.join(work, 'app-layout'));
  const image = await writeImage(layout, { seed: 'ctr-push', layers: 2, layerSize: 128 * 1024 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  const archive = path.join(work, 'app.oci.tar');
  await tarDirectory(layout.dir, archive);

  const ref = `${registry.host}/ctr/app:v1`;
  // The layout names the image "v1"; --base-name turns that into the full reference.
  await containerd.ctr(['images', 'import', '--base-name', `${registry.host}/ctr/app`, archive]);
  assert.equal((await imageDigests()).get(ref), image.manifest.digest);

  await containerd.ctr(['images', 'push', '--plain-http', '--user', CREDS, ref]);
  const pushed = await berthManifest('ctr/app', 'v1');
  assert.equal(pushed.status, 200);
  assert.equal(pushed.digest, image.manifest.digest);
  assert.equal(sha256(pushed.bytes), image.manifest.digest);
  for (const blob of [image.config, ...image.layers]) assert.ok(await berthHasBlob('ctr/app', blob.digest), `Berth lacks ${blob.digest}`);

  // Forget the image and let containerd's GC drop its content, so the pull must fetch.
  await containerd.ctr(['images', 'rm', '--sync', ref]);
  const left = await contentDigests();
  for (const blob of [image.manifest, image.config, ...image.layers]) assert.ok(!left.has(blob.digest), `${blob.digest} still in the content store`);

  await containerd.ctr(['images', 'pull', '--plain-http', '--user', CREDS, ref]);
  assert.equal((await imageDigests()).get(ref), image.manifest.digest);
  // The content store verifies every digest as it writes, so presence means the bytes match.
  const pulled = await contentDigests();
  for (const blob of [image.manifest, image.config, ...image.layers]) assert.ok(pulled.has(blob.digest), `pull did not fetch ${blob.digest}`);
});

test('ctr images pull with a wrong password is refused', async () => {
  const result = await containerd.ctr(['images', 'pull', '--plain-http', '--user', `${TEST_USER}:wrong-password`, `${registry.host}/ctr/app:v1`], {
    allowFailure: true,
  });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /401|unauthorized/i);
});

test('ctr export/import of a multi-arch index pulled from Berth keeps its digest, and pushes back unchanged', async () => {
  const layout = new LayoutWriter(path.join(work, 'multi-layout'));
  const built = await writeIndex(layout, { seed: 'ctr-index' });
  layout.tag(built.index, 'multi');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:multi`, `docker://${registry.host}/ctr/multi:1.0`, { dest: registry, extra: ['--all', '--preserve-digests'] });

  const ref = `${registry.host}/ctr/multi:1.0`;
  await containerd.ctr(['images', 'pull', '--all-platforms', '--plain-http', '--user', CREDS, ref]);
  assert.equal((await imageDigests()).get(ref), built.index.digest);

  const exported = path.join(work, 'multi-export.tar');
  await containerd.ctr(['images', 'export', '--all-platforms', exported, ref]);
  await containerd.ctr(['images', 'rm', '--sync', ref]);
  assert.equal((await imageDigests()).get(ref), undefined);
  const left = await contentDigests();
  assert.ok(!left.has(built.index.digest), 'the index is still in the content store after rm --sync');

  await containerd.ctr(['images', 'import', '--all-platforms', exported]);
  assert.equal((await imageDigests()).get(ref), built.index.digest);
  const imported = await contentDigests();
  for (const image of built.images) {
    for (const blob of [image.manifest, image.config, ...image.layers]) assert.ok(imported.has(blob.digest), `import lacks ${blob.digest}`);
  }

  // Push the imported index to a fresh repository: every byte must be what Berth served.
  const copy = `${registry.host}/ctr/multi-copy:1.0`;
  await containerd.ctr(['images', 'tag', ref, copy]);
  await containerd.ctr(['images', 'push', '--plain-http', '--user', CREDS, copy]);
  const index = await berthManifest('ctr/multi-copy', '1.0');
  assert.equal(index.status, 200);
  assert.equal(index.digest, built.index.digest);
  assert.equal(sha256(index.bytes), built.index.digest);
  for (const image of built.images) {
    const child = await berthManifest('ctr/multi-copy', image.manifest.digest);
    assert.equal(child.digest, image.manifest.digest);
    for (const blob of [image.config, ...image.layers]) assert.ok(await berthHasBlob('ctr/multi-copy', blob.digest), `Berth lacks ${blob.digest}`);
  }
});

test('the CRI plugin pulls from Berth with credentials (crictl, hosts.toml for plain HTTP)', async () => {
  // The CRI plugin speaks HTTPS unless hosts.toml says otherwise.
  await writeHostsToml(containerd.hostsDir, registry.host, registry.url);
  const ref = `${registry.host}/ctr/app:v1`;
  const pulled = await containerd.crictl(['pull', '--creds', CREDS, ref]);
  const imageId = /Image is up to date for (\S+)/.exec(pulled.stdout)?.[1];
  assert.ok(imageId, pulled.stdout);
  const inspected = JSON.parse((await containerd.crictl(['inspecti', '-o', 'json', ref])).stdout) as { status: { repoDigests: string[] } };
  const manifest = await berthManifest('ctr/app', 'v1');
  assert.ok(manifest.digest);
  assert.deepEqual(inspected.status.repoDigests, [`${registry.host}/ctr/app@${manifest.digest}`]);
  // The CRI plugin keeps its images in namespace k8s.io, apart from ctr's default one.
  assert.equal((await imageDigests('k8s.io')).get(ref), manifest.digest);

  const denied = await containerd.crictl(['pull', '--creds', `${TEST_USER}:wrong-password`, `${registry.host}/ctr/multi:1.0`], { allowFailure: true });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /401|unauthorized/i);
  const log = await readFile(registry.logFile, 'utf8');
  assert.match(log, /authentication failed/);
});
