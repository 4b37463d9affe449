// The shim's routing cases, written once and run against every containerd the tests
// drive (shim-routing: Debian's 1.6; shim-containerd-versions: 1.7 and 2.x): an image
// the private registry has comes from there with its own credentials, an absent one
// from the public registry with the caller's, a digest pin is honoured or fails, a
// stopped private registry falls back to the public one, and a pod runs a container
// whose image came through the shim. Which registry served a pull is read from the
// registries' own logs; the pulled digest from containerd.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TEST_USER } from './berth.js';
import { waitFor } from './process.js';
import { buildRunnableImage } from './runnable-image.js';
import { PUBLIC_PASSWORD, PUBLIC_USER, berthRequests, distributionRequests, fetched, type ShimLab } from './shim-lab.js';
import { skopeoCopy } from './skopeo.js';

export const PUBLIC_CREDS = `${PUBLIC_USER}:${PUBLIC_PASSWORD}`;
/** The pod sandbox image: named docker.io/..., pulled through the shim before a pod starts. */
export const SANDBOX = 'docker.io/library/pause:3.9';

export interface WatchedPull {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly fromPrivate: number;
  readonly fromPublic: number;
  readonly privateLog: string;
}

/** Runs `crictl pull` and returns what each registry fetched for `repository` meanwhile. */
export async function pullAndWatch(lab: ShimLab, args: readonly string[], repository: string, allowFailure = false): Promise<WatchedPull> {
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

export async function inspectImage(lab: ShimLab, image: string): Promise<{ id: string; repoTags: string[]; repoDigests: string[] }> {
  return (JSON.parse((await lab.crictl(['inspecti', '-o', 'json', image])).stdout) as { status: { id: string; repoTags: string[]; repoDigests: string[] } }).status;
}

export async function presentInPrivate(lab: ShimLab): Promise<void> {
  const privateImage = await lab.push('private', 'nginx-private', 'library/nginx:1.23.3');
  const publicImage = await lab.push('public', 'nginx-public', 'library/nginx:1.23.3');
  assert.notEqual(privateImage.manifest.digest, publicImage.manifest.digest);

  const pull = await pullAndWatch(lab, ['--creds', PUBLIC_CREDS, 'docker.io/library/nginx:1.23.3'], 'library/nginx');
  assert.ok(pull.fromPrivate >= 2, `the private registry served manifest and blobs (${pull.fromPrivate} fetches)`);
  assert.equal(pull.fromPublic, 0, 'the public registry served nothing');
  const users = new Set(berthRequests(pull.privateLog).filter((r) => r.status === 200).map((r) => r.user));
  assert.deepEqual([...users], [TEST_USER], 'the private registry saw its own user');
  assert.ok(!pull.privateLog.includes('authentication failed'), 'kubelet\'s credentials for docker.io never reached it');

  const status = await inspectImage(lab, 'docker.io/library/nginx:1.23.3');
  assert.deepEqual(status.repoDigests, [`${lab.privateHost}/library/nginx@${privateImage.manifest.digest}`]);
}

export async function absentFromPrivate(lab: ShimLab): Promise<void> {
  const publicImage = await lab.push('public', 'redis-public', 'library/redis:7');
  const pull = await pullAndWatch(lab, ['--creds', PUBLIC_CREDS, 'redis:7'], 'library/redis');
  assert.equal(pull.fromPrivate, 0);
  assert.ok(pull.fromPublic >= 2, `the public registry served it (${pull.fromPublic} fetches)`);
  const probes = berthRequests(pull.privateLog).filter((r) => r.path === '/v2/library/redis/manifests/7');
  assert.deepEqual(probes.map((r) => `${r.method} ${r.status}`).filter((s) => s !== 'HEAD 401'), ['HEAD 404'], 'the shim only asked the private registry');
  assert.deepEqual((await inspectImage(lab, 'redis:7')).repoDigests, [`docker.io/library/redis@${publicImage.manifest.digest}`]);

  // Without credentials the public registry refuses: the caller's credentials are what worked.
  const denied = await pullAndWatch(lab, ['docker.io/library/redis:7-alpine'], 'library/redis', true);
  assert.notEqual(denied.code, 0);
  // 1.6 says 401 Unauthorized; 1.7 and 2.x say "authorization failed: no basic auth credentials".
  assert.match(denied.stderr, /401|unauthorized|authorization failed/i);
}

export async function digestPinned(lab: ShimLab): Promise<void> {
  const privateImage = await lab.push('private', 'pinned-private', 'library/pinned:1.0');
  const publicImage = await lab.push('public', 'pinned-public', 'library/pinned:1.0');

  // The private registry has this digest: served from there.
  const fromPrivate = await pullAndWatch(lab, ['--creds', PUBLIC_CREDS, `pinned@${privateImage.manifest.digest}`], 'library/pinned');
  assert.ok(fromPrivate.fromPrivate >= 2);
  assert.equal(fromPrivate.fromPublic, 0);
  assert.ok(fetched(berthRequests(fromPrivate.privateLog), 'library/pinned').some((r) => r.path.endsWith(`/manifests/${privateImage.manifest.digest}`)));

  // It has the tag but another digest: the public registry serves the pinned digest.
  const fromPublic = await pullAndWatch(lab, ['--creds', PUBLIC_CREDS, `docker.io/library/pinned:1.0@${publicImage.manifest.digest}`], 'library/pinned');
  assert.equal(fromPublic.fromPrivate, 0, 'the private image under the same tag was not used');
  assert.ok(fromPublic.fromPublic >= 2);
  const status = await inspectImage(lab, `docker.io/library/pinned@${publicImage.manifest.digest}`);
  assert.ok(status.repoDigests.includes(`docker.io/library/pinned@${publicImage.manifest.digest}`), status.repoDigests.join(', '));

  // Nobody has it: the pull fails, and nothing else was fetched in its place.
  const missing = `sha256:${'0'.repeat(64)}`;
  const failed = await pullAndWatch(lab, ['--creds', PUBLIC_CREDS, `pinned@${missing}`], 'library/pinned', true);
  assert.notEqual(failed.code, 0);
  assert.equal(failed.fromPrivate, 0);
  assert.equal(failed.fromPublic, 0);
  assert.ok(!(await lab.criImages()).has(`docker.io/library/pinned@${missing}`));
}

/**
 * The private registry stopped (connections refused): an image it holds is pulled from
 * the public registry instead; then it is started again on the same port and data.
 * (shim-fallback covers timings, the breaker and hung registries on 1.6.)
 */
export async function privateRegistryDown(lab: ShimLab): Promise<void> {
  await lab.push('private', 'down-private', 'library/down:1');
  const publicImage = await lab.push('public', 'down-public', 'library/down:1');
  const from = (await lab.shim!.lines()).length;
  await lab.stopPrivate();
  try {
    const pull = await pullAndWatch(lab, ['--creds', PUBLIC_CREDS, 'docker.io/library/down:1'], 'library/down');
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok(pull.fromPublic >= 2, `the public registry served it (${pull.fromPublic} fetches)`);
    assert.equal((await lab.criImages()).get('docker.io/library/down:1'), publicImage.manifest.digest);
    const decision = (await lab.shim!.lines()).slice(from).find((line) => line.msg === 'rewrite decision' && line['original'] === 'docker.io/library/down:1');
    assert.equal(decision?.['reason'], 'unavailable', JSON.stringify(decision));
    assert.match(JSON.stringify(decision?.['probes']), /ECONNREFUSED/);
  } finally {
    await lab.startPrivate();
  }
}

/** runp / create / start of a host-network pod; the container image and the sandbox image come through the shim. */
export async function podThroughShim(lab: ShimLab): Promise<void> {
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
}
