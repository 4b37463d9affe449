// berth shim between crictl and containerd 1.6, with a Berth registry as the private
// registry and Debian's docker-registry as the public one (docker.io points there).
// Which registry served each pull is read from that registry's own request log, and
// the pulled digest from containerd; never from the shim.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { stopAll, waitFor } from '../support/process.js';
import { buildRunnableImage } from '../support/runnable-image.js';
import { PUBLIC_PASSWORD, PUBLIC_USER, ShimLab, berthRequests, distributionRequests, fetched } from '../support/shim-lab.js';
import { skopeoCopy } from '../support/skopeo.js';
import { writeShimConfig } from '../support/shim.js';
import { removeScratchDirs } from '../support/tmp.js';

const PUBLIC_CREDS = `${PUBLIC_USER}:${PUBLIC_PASSWORD}`;
const SANDBOX = 'docker.io/library/pause:3.9';

let lab: ShimLab;

before(async () => {
  // The sandbox image is named docker.io/..., and is pre-pulled below (CRI pulls it with
  // no credentials of its own otherwise).
  lab = await ShimLab.create({ containerd: { sandboxImage: SANDBOX } });
  await lab.startShim();
});

after(async () => {
  await lab?.stop();
  await stopAll();
  await removeScratchDirs();
});

interface Inspected {
  status: { id: string; repoTags: string[]; repoDigests: string[] };
}

async function inspect(image: string): Promise<Inspected['status']> {
  return (JSON.parse((await lab.crictl(['inspecti', '-o', 'json', image])).stdout) as Inspected).status;
}

/** Runs `pull` and returns what each registry fetched for `repository` meanwhile. */
async function pullAndWatch(args: readonly string[], repository: string, allowFailure = false): Promise<{ code: number | null; stdout: string; stderr: string; fromPrivate: number; fromPublic: number; privateLog: string }> {
  const privateCursor = lab.privateCursor();
  const publicCursor = lab.publicCursor();
  await privateCursor.mark();
  await publicCursor.mark();
  const result = await lab.crictl(['pull', ...args], { allowFailure });
  // docker-registry writes its access log line just after the response.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const privateLog = await privateCursor.since();
  return {
    ...result,
    fromPrivate: fetched(berthRequests(privateLog), repository).length,
    fromPublic: fetched(distributionRequests(await publicCursor.since()), repository).length,
    privateLog,
  };
}

test('present in the private registry: the pull goes there, with the private credentials, not kubelet\'s', async () => {
  const privateImage = await lab.push('private', 'nginx-private', 'library/nginx:1.23.3');
  const publicImage = await lab.push('public', 'nginx-public', 'library/nginx:1.23.3');
  assert.notEqual(privateImage.manifest.digest, publicImage.manifest.digest);

  const pull = await pullAndWatch(['--creds', PUBLIC_CREDS, 'docker.io/library/nginx:1.23.3'], 'library/nginx');
  assert.ok(pull.fromPrivate >= 2, `the private registry served manifest and blobs (${pull.fromPrivate} fetches)`);
  assert.equal(pull.fromPublic, 0, 'the public registry served nothing');
  const users = new Set(berthRequests(pull.privateLog).filter((r) => r.status === 200).map((r) => r.user));
  assert.deepEqual([...users], [TEST_USER], 'the private registry saw its own user');
  assert.ok(!pull.privateLog.includes('authentication failed'), 'kubelet\'s credentials for docker.io never reached it');

  const status = await inspect('docker.io/library/nginx:1.23.3');
  assert.deepEqual(status.repoDigests, [`${lab.privateHost}/library/nginx@${privateImage.manifest.digest}`]);
});

test('absent from the private registry: the pull goes to the public one, with the caller\'s credentials', async () => {
  const publicImage = await lab.push('public', 'redis-public', 'library/redis:7');
  const pull = await pullAndWatch(['--creds', PUBLIC_CREDS, 'redis:7'], 'library/redis');
  assert.equal(pull.fromPrivate, 0);
  assert.ok(pull.fromPublic >= 2, `the public registry served it (${pull.fromPublic} fetches)`);
  const probes = berthRequests(pull.privateLog).filter((r) => r.path === '/v2/library/redis/manifests/7');
  assert.deepEqual(probes.map((r) => `${r.method} ${r.status}`).filter((s) => s !== 'HEAD 401'), ['HEAD 404'], 'the shim only asked the private registry');
  assert.deepEqual((await inspect('redis:7')).repoDigests, [`docker.io/library/redis@${publicImage.manifest.digest}`]);

  // Without credentials the public registry refuses: the caller's credentials are what worked.
  const denied = await pullAndWatch(['docker.io/library/redis:7-alpine'], 'library/redis', true);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /401|unauthorized/i);
});

test('a digest reference is pulled by exactly that digest, or fails; the tag is never substituted', async () => {
  const privateImage = await lab.push('private', 'pinned-private', 'library/pinned:1.0');
  const publicImage = await lab.push('public', 'pinned-public', 'library/pinned:1.0');

  // The private registry has this digest: served from there.
  const fromPrivate = await pullAndWatch(['--creds', PUBLIC_CREDS, `pinned@${privateImage.manifest.digest}`], 'library/pinned');
  assert.ok(fromPrivate.fromPrivate >= 2);
  assert.equal(fromPrivate.fromPublic, 0);
  assert.ok(fetched(berthRequests(fromPrivate.privateLog), 'library/pinned').some((r) => r.path.endsWith(`/manifests/${privateImage.manifest.digest}`)));

  // It has the tag but another digest: the public registry serves the pinned digest.
  const fromPublic = await pullAndWatch(['--creds', PUBLIC_CREDS, `docker.io/library/pinned:1.0@${publicImage.manifest.digest}`], 'library/pinned');
  assert.equal(fromPublic.fromPrivate, 0, 'the private image under the same tag was not used');
  assert.ok(fromPublic.fromPublic >= 2);
  const status = await inspect(`docker.io/library/pinned@${publicImage.manifest.digest}`);
  assert.ok(status.repoDigests.includes(`docker.io/library/pinned@${publicImage.manifest.digest}`), status.repoDigests.join(', '));

  // Nobody has it: the pull fails, and nothing else was fetched in its place.
  const missing = `sha256:${'0'.repeat(64)}`;
  const failed = await pullAndWatch(['--creds', PUBLIC_CREDS, `pinned@${missing}`], 'library/pinned', true);
  assert.notEqual(failed.code, 0);
  assert.equal(failed.fromPrivate, 0);
  assert.equal(failed.fromPublic, 0);
  assert.ok(!(await lab.criImages()).has(`docker.io/library/pinned@${missing}`));
});

test('crictl images, inspecti and rmi work for rewritten images', async () => {
  const image = await lab.push('private', 'busybox-private', 'library/busybox:1.36');
  await lab.crictl(['pull', 'busybox:1.36']);
  const rewritten = `${lab.privateHost}/library/busybox:1.36`;
  const listed = JSON.parse((await lab.crictl(['images', '-o', 'json'])).stdout) as { images: Array<{ id: string; repoTags: string[] }> };
  const entry = listed.images.find((i) => i.repoTags.includes(rewritten));
  assert.ok(entry, `crictl images lists ${rewritten} (under the name it was pulled by)`);
  const status = await inspect('busybox:1.36');
  assert.equal(status.id, entry.id);
  assert.deepEqual(status.repoDigests, [`${lab.privateHost}/library/busybox@${image.manifest.digest}`]);
  // crictl images with a name filter goes through ImageStatus too.
  assert.match((await lab.crictl(['images', 'docker.io/library/busybox:1.36'])).stdout, /busybox/);

  await lab.crictl(['rmi', 'docker.io/library/busybox:1.36']);
  assert.ok(![...(await lab.criImages()).keys()].some((name) => name.includes('library/busybox')), 'removed from containerd');
  const gone = await lab.crictl(['inspecti', 'busybox:1.36'], { allowFailure: true });
  assert.notEqual(gone.code, 0);
});

test('runp / create / start: a host-network pod whose container image came through the shim runs and exits 0', async () => {
  const layout = path.join(lab.work, 'layouts', 'runnable');
  await buildRunnableImage(path.join(lab.work, 'gcc'), layout, 'v1');
  const privateRegistry = lab.privateRegistry;
  await skopeoCopy(`oci:${layout}:v1`, `docker://${privateRegistry.host}/library/hello:1`, { dest: privateRegistry, extra: ['--preserve-digests'] });
  await skopeoCopy(`oci:${layout}:v1`, `docker://${privateRegistry.host}/library/pause:3.9`, { dest: privateRegistry, extra: ['--preserve-digests'] });
  // The sandbox image: pulled through the shim like kubeadm's pre-pull does.
  await lab.crictl(['pull', SANDBOX]);
  await lab.containerd.ctr(['images', 'tag', `${lab.privateHost}/library/pause:3.9`, SANDBOX], { namespace: 'k8s.io' });

  const pulled = await lab.crictl(['pull', 'docker.io/library/hello:1']);
  const imageId = /Image is up to date for (\S+)/.exec(pulled.stdout)?.[1];
  assert.ok(imageId, pulled.stdout);

  const podConfig = path.join(lab.work, 'pod.json');
  const containerConfig = path.join(lab.work, 'container.json');
  await writeFile(
    podConfig,
    JSON.stringify({
      metadata: { name: 'shim-pod', namespace: 'default', uid: 'shim-pod-uid', attempt: 1 },
      log_directory: path.join(lab.work, 'pod-logs'),
      linux: { security_context: { namespace_options: { network: 2 } } },
    }),
  );
  // Like kubelet: the container names the image by the ID PullImage returned.
  await writeFile(containerConfig, JSON.stringify({ metadata: { name: 'hello' }, image: { image: imageId }, command: ['/hello', 'through', 'the', 'shim'], log_path: 'hello.log', linux: {} }));
  const pod = (await lab.crictl(['runp', podConfig])).stdout.trim();
  const container = (await lab.crictl(['create', '--no-pull', pod, containerConfig, podConfig])).stdout.trim();
  await lab.crictl(['start', container]);
  const exited = await waitFor(
    'the container to exit',
    async () => {
      const info = JSON.parse((await lab.crictl(['inspect', '-o', 'json', container])).stdout) as { status: { state: string; exitCode: number } };
      return info.status.state === 'CONTAINER_EXITED' ? info.status : undefined;
    },
    30_000,
  );
  assert.equal(exited.exitCode, 0);
  const logs = await lab.crictl(['logs', container]);
  assert.match(logs.stdout + logs.stderr, /hello from container through the shim/);
  await lab.crictl(['stopp', pod]);
  await lab.crictl(['rmp', pod]);
});

test('a path prefix and prefixSourceRegistry: docker.io/library/prefixed:1 is pulled from <private>/mirror/docker.io/library/prefixed:1', async () => {
  const from = (await lab.shim!.lines()).length;
  await writeShimConfig(lab.configFile, lab.baseConfig({ address: `http://${lab.privateHost}/mirror`, prefixSourceRegistry: true }));
  await lab.shim!.waitForLine('the reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from });
  try {
    const image = await lab.push('private', 'prefixed-private', 'mirror/docker.io/library/prefixed:1');
    await lab.push('private', 'prefixed-wrong-place', 'library/prefixed:1');
    const pull = await pullAndWatch(['docker.io/library/prefixed:1'], 'mirror/docker.io/library/prefixed');
    assert.ok(pull.fromPrivate >= 2, 'served from the prefixed path');
    assert.equal(fetched(berthRequests(pull.privateLog), 'library/prefixed').length, 0, 'the unprefixed repository was not used');
    assert.deepEqual((await inspect('docker.io/library/prefixed:1')).repoDigests, [`${lab.privateHost}/mirror/docker.io/library/prefixed@${image.manifest.digest}`]);
  } finally {
    const restore = (await lab.shim!.lines()).length;
    await writeShimConfig(lab.configFile, lab.baseConfig());
    await lab.shim!.waitForLine('the reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from: restore });
  }
});

test('the shim logged one decision per pull, and no credential', async () => {
  const log = await lab.shim!.logText();
  const decisions = (await lab.shim!.lines()).filter((line) => line.msg === 'rewrite decision' && line['action'] === 'PullImage');
  const nginx = decisions.find((d) => d['original'] === 'docker.io/library/nginx:1.23.3');
  assert.ok(nginx, 'a decision line for the nginx pull');
  assert.equal(nginx['result'], `${lab.privateHost}/library/nginx:1.23.3`);
  assert.equal(nginx['registry'], lab.privateHost);
  assert.equal(nginx['reason'], 'present');
  assert.equal(nginx['credentials'], 'replaced');
  for (const key of ['action', 'original', 'result', 'registry', 'cache', 'reason']) assert.ok(key in nginx, `decision lines carry ${key}`);
  for (const secret of [TEST_PASSWORD, PUBLIC_PASSWORD, Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64')]) {
    assert.ok(!log.includes(secret), 'no password in the shim log');
  }
  assert.ok((await readFile(lab.shim!.logFile, 'utf8')).length > 0);
});
