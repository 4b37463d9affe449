// dockerd 20.10 and its CLI against Berth with auth on: login and logout, wrong
// passwords refused, and an image loaded from a docker-archive pushed, removed and
// pulled back as the same image (same ID, same repository digest); an OCI image pushed
// by skopeo pulls into docker by its digest.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { startDockerd, type RunningDockerd } from '../support/dockerd.js';
import { LayoutWriter, sha256, writeImage } from '../support/images.js';
import { basicAuth } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let registry: TestRegistry;
let dockerd: RunningDockerd;
let work: string;

before(async () => {
  registry = await startBerth();
  work = await scratchDir('docker-');
  dockerd = await startDockerd(path.join(work, 'dockerd'));
});

after(async () => {
  await dockerd?.stop();
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

interface DockerConfig {
  auths?: Record<string, { auth?: string }>;
}

async function clientConfig(): Promise<DockerConfig> {
  const text = await readFile(path.join(dockerd.clientConfigDir, 'config.json'), 'utf8').catch(() => '{}');
  return JSON.parse(text) as DockerConfig;
}

function login(password: string): ReturnType<RunningDockerd['docker']> {
  return dockerd.docker(['login', '--username', TEST_USER, '--password-stdin', registry.host], { input: password, allowFailure: true });
}

async function inspectImage(ref: string): Promise<{ Id: string; RepoDigests: string[]; RepoTags: string[] }> {
  const { stdout } = await dockerd.docker(['image', 'inspect', ref]);
  const [image] = JSON.parse(stdout) as Array<{ Id: string; RepoDigests: string[]; RepoTags: string[] }>;
  assert.ok(image, `docker image inspect ${ref} returned nothing`);
  return image;
}

async function berthManifest(repository: string, reference: string, accept: string): Promise<{ status: number; digest: string | null; json: { config?: { digest: string } } }> {
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}`, {
    headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD), accept },
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status === 200) assert.equal(sha256(bytes), response.headers.get('docker-content-digest'));
  return { status: response.status, digest: response.headers.get('docker-content-digest'), json: response.status === 200 ? (JSON.parse(bytes.toString('utf8')) as { config?: { digest: string } }) : {} };
}

test('docker login: a wrong password is refused and stores nothing; the right one succeeds', async () => {
  const wrong = await login('wrong-password');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /unauthorized|authentication required/i);
  assert.equal((await clientConfig()).auths?.[registry.host], undefined);

  const right = await login(TEST_PASSWORD);
  assert.equal(right.code, 0, right.stderr);
  assert.match(right.stdout, /Login Succeeded/);
  const stored = (await clientConfig()).auths?.[registry.host]?.auth;
  assert.equal(stored, Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64'));
});

test('docker load, tag, push, rmi, pull: the same image ID and repository digest come back', async () => {
  const layout = new LayoutWriter(path.join(work, 'app-layout'));
  const image = await writeImage(layout, { seed: 'docker-push', layers: 2, layerSize: 64 * 1024 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  const archive = path.join(work, 'app.docker.tar');
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker-archive:${archive}:berth.test/app:v1`);

  const loaded = await dockerd.docker(['load', '--input', archive]);
  assert.match(loaded.stdout, /Loaded image: berth\.test\/app:v1/);
  const original = await inspectImage('berth.test/app:v1');
  // The image ID is the digest of the config, which names every layer's diff ID.
  assert.equal(original.Id, image.config.digest);

  const ref = `${registry.host}/docker/app:v1`;
  await dockerd.docker(['tag', 'berth.test/app:v1', ref]);
  const pushed = await dockerd.docker(['push', ref]);
  const pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
  assert.ok(pushedDigest, pushed.stdout);
  const stored = await berthManifest('docker/app', 'v1', 'application/vnd.docker.distribution.manifest.v2+json');
  assert.equal(stored.status, 200);
  assert.equal(stored.digest, pushedDigest);
  assert.equal(stored.json.config?.digest, image.config.digest);

  await dockerd.docker(['rmi', ref, 'berth.test/app:v1']);
  const gone = await dockerd.docker(['image', 'inspect', original.Id], { allowFailure: true });
  assert.notEqual(gone.code, 0, 'the image is still in dockerd after rmi');

  const pulled = await dockerd.docker(['pull', ref]);
  assert.match(pulled.stdout, new RegExp(`Digest: ${pushedDigest}`));
  const back = await inspectImage(ref);
  assert.equal(back.Id, original.Id);
  assert.deepEqual(back.RepoDigests, [`${registry.host}/docker/app@${pushedDigest}`]);
});

test('an OCI image pushed by skopeo pulls into docker by digest', async () => {
  const layout = new LayoutWriter(path.join(work, 'oci-layout'));
  const image = await writeImage(layout, { seed: 'docker-oci', layers: 1 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${registry.host}/docker/oci:v1`, { dest: registry, extra: ['--preserve-digests'] });

  const ref = `${registry.host}/docker/oci@${image.manifest.digest}`;
  await dockerd.docker(['pull', ref]);
  const pulled = await inspectImage(ref);
  assert.equal(pulled.Id, image.config.digest);
  assert.deepEqual(pulled.RepoDigests, [ref]);
});

test('docker logout forgets the credentials, and pulls are then refused', async () => {
  const out = await dockerd.docker(['logout', registry.host]);
  assert.match(out.stdout, /Removing login credentials/);
  assert.equal((await clientConfig()).auths?.[registry.host], undefined);
  const denied = await dockerd.docker(['pull', `${registry.host}/docker/app:v1`], { allowFailure: true });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /unauthorized|no basic auth credentials|authentication required/i);
});
