// podman 4.3 against Berth with auth on: login refused with a wrong password and
// accepted with the right one; an image loaded from an OCI archive is pushed, removed
// and pulled back as the same image; one platform of a multi-arch index pulls by
// --arch; logout forgets the credentials. (`podman run` cannot work in this sandbox and
// is not used.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { tarDirectory } from '../support/archive.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { LayoutWriter, sha256, writeImage, writeIndex } from '../support/images.js';
import { basicAuth } from '../support/net.js';
import { podmanSandbox, type PodmanSandbox } from '../support/podman.js';
import { stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let registry: TestRegistry;
let sandbox: PodmanSandbox;
let work: string;

before(async () => {
  registry = await startBerth();
  work = await scratchDir('podman-');
  sandbox = await podmanSandbox(path.join(work, 'podman'));
});

after(async () => {
  await sandbox?.cleanup();
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

async function storedAuth(): Promise<string | undefined> {
  const text = await readFile(sandbox.authFile, 'utf8').catch(() => '{}');
  return (JSON.parse(text) as { auths?: Record<string, { auth?: string }> }).auths?.[registry.host]?.auth;
}

function login(password: string): ReturnType<PodmanSandbox['podman']> {
  return sandbox.podman(['login', '--tls-verify=false', '--username', TEST_USER, '--password-stdin', registry.host], { input: password, allowFailure: true });
}

async function inspectImage(ref: string): Promise<{ Id: string; Digest: string; RepoDigests: string[] }> {
  const { stdout } = await sandbox.podman(['image', 'inspect', ref]);
  const [image] = JSON.parse(stdout) as Array<{ Id: string; Digest: string; RepoDigests: string[] }>;
  assert.ok(image, `podman image inspect ${ref} returned nothing`);
  return image;
}

test('podman login: a wrong password is refused and stores nothing; the right one succeeds', async () => {
  const wrong = await login('wrong-password');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /unauthorized|authentication required|invalid username\/password/i);
  assert.equal(await storedAuth(), undefined);

  const right = await login(TEST_PASSWORD);
  assert.equal(right.code, 0, right.stderr);
  assert.match(right.stdout, /Login Succeeded/);
  assert.equal(await storedAuth(), Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64'));
});

test('podman load, tag, push, rmi, pull: the same image and manifest digest come back', async () => {
  const layout = new LayoutWriter(path.join(work, 'app-layout'));
  const image = await writeImage(layout, { seed: 'podman-push', layers: 2, layerSize: 64 * 1024 });
  layout.tag(image.manifest, 'berth.test/app:v1');
  await layout.save();
  const archive = path.join(work, 'app.oci.tar');
  await tarDirectory(layout.dir, archive);

  const loaded = await sandbox.podman(['load', '--input', archive]);
  assert.match(loaded.stdout, /Loaded image.*berth\.test\/app:v1/);
  const original = await inspectImage('berth.test/app:v1');
  // podman's image ID is the config digest without the algorithm.
  assert.equal(`sha256:${original.Id}`, image.config.digest);

  const ref = `${registry.host}/podman/app:v1`;
  await sandbox.podman(['tag', 'berth.test/app:v1', ref]);
  const digestFile = path.join(work, 'pushed.digest');
  await sandbox.podman(['push', '--tls-verify=false', '--digestfile', digestFile, ref]);
  const pushedDigest = (await readFile(digestFile, 'utf8')).trim();
  const response = await fetch(`${registry.url}/v2/podman/app/manifests/v1`, {
    headers: {
      authorization: basicAuth(TEST_USER, TEST_PASSWORD),
      accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  assert.equal(response.status, 200);
  const bytes = Buffer.from(await response.arrayBuffer());
  assert.equal(response.headers.get('docker-content-digest'), pushedDigest);
  assert.equal(sha256(bytes), pushedDigest);
  assert.equal((JSON.parse(bytes.toString('utf8')) as { config: { digest: string } }).config.digest, image.config.digest);

  await sandbox.podman(['rmi', ref, 'berth.test/app:v1']);
  const gone = await sandbox.podman(['image', 'exists', original.Id], { allowFailure: true });
  assert.notEqual(gone.code, 0, 'the image is still in podman storage after rmi');

  await sandbox.podman(['pull', '--tls-verify=false', ref]);
  const back = await inspectImage(ref);
  assert.equal(back.Id, original.Id);
  assert.equal(back.Digest, pushedDigest);
  assert.ok(back.RepoDigests.includes(`${registry.host}/podman/app@${pushedDigest}`), JSON.stringify(back.RepoDigests));
});

test('podman pull --arch picks its platform out of a multi-arch index on Berth', async () => {
  const layout = new LayoutWriter(path.join(work, 'multi-layout'));
  const built = await writeIndex(layout, { seed: 'podman-index' });
  layout.tag(built.index, 'multi');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:multi`, `docker://${registry.host}/podman/multi:1.0`, { dest: registry, extra: ['--all', '--preserve-digests'] });

  const arm64 = built.images.find((image) => image.manifest.platform?.architecture === 'arm64');
  assert.ok(arm64);
  const ref = `${registry.host}/podman/multi:1.0`;
  await sandbox.podman(['pull', '--tls-verify=false', '--arch', 'arm64', '--variant', 'v8', ref]);
  const pulled = await inspectImage(ref);
  assert.equal(`sha256:${pulled.Id}`, arm64.config.digest);
  // podman records the digest it pulled by (the index) and the instance it chose.
  assert.equal(pulled.Digest, built.index.digest);
  for (const digest of [built.index.digest, arm64.manifest.digest]) {
    assert.ok(pulled.RepoDigests.includes(`${registry.host}/podman/multi@${digest}`), `${digest} not in ${JSON.stringify(pulled.RepoDigests)}`);
  }
});

test('podman logout forgets the credentials, and pulls are then refused', async () => {
  await sandbox.podman(['logout', registry.host]);
  assert.equal(await storedAuth(), undefined);
  const denied = await sandbox.podman(['pull', '--tls-verify=false', `${registry.host}/podman/app:v1`], { allowFailure: true });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /unauthorized|authentication required/i);
});
