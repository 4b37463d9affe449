// Berth as a pull-through mirror for nodes: node 1 pulls through berth shim (crictl, CRI,
// Debian's containerd 1.6), which sends docker.io images to the mirror; node 2 is a
// second containerd with its own state that reaches the mirror without a shim, through
// deploy/containerd-mirror-hosts.toml (containerd's `?ns=docker.io`). The mirror is set
// up from deploy/registry-mirror.yml, its docker.io upstream pointed at Debian's
// docker-registry (Basic auth, access log on), whose log says what was fetched upstream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import { TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { writeLogins } from '../support/cli-sandbox.js';
import { startContainerd, type RunningContainerd } from '../support/containerd.js';
import { blobDigests, blobGets, upstreamRequests } from '../support/mirror.js';
import { stopAll } from '../support/process.js';
import { PUBLIC_PASSWORD, PUBLIC_USER, ShimLab, berthRequests } from '../support/shim-lab.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { PROJECT_ROOT } from '../support/tools.js';

let lab: ShimLab;
let node2: RunningContainerd;

before(async () => {
  const secrets = await scratchDir('mirror-containerd-');
  lab = await ShimLab.create({
    privateConfig: async (upstream) => {
      const authFile = path.join(secrets, 'upstream-auth.json');
      await writeLogins(authFile, { [upstream.host]: { user: PUBLIC_USER, password: PUBLIC_PASSWORD } });
      const text = (await readFile(path.join(PROJECT_ROOT, 'deploy', 'registry-mirror.yml'), 'utf8'))
        .replaceAll('https://registry-1.docker.io', upstream.url)
        .replaceAll('/etc/registry/upstream-auth.json', authFile);
      const config = readRegistryConfigDocument(parse(text));
      if (!config.ok) throw new Error(config.reason);
      return { mirrors: config.values.mirrors ?? [] };
    },
  });
  await lab.startShim(lab.baseConfig({ mirrors: ['docker.io'], prefixSourceRegistry: true }));
  node2 = await startContainerd(path.join(lab.work, 'node2'));
  const hosts = (await readFile(path.join(PROJECT_ROOT, 'deploy', 'containerd-mirror-hosts.toml'), 'utf8'))
    .replaceAll('sealos.hub:5000', lab.privateHost)
    .replace('https://registry-1.docker.io', lab.publicRegistry.url);
  await mkdir(path.join(node2.hostsDir, 'docker.io'), { recursive: true });
  await writeFile(path.join(node2.hostsDir, 'docker.io', 'hosts.toml'), hosts);
});

after(async () => {
  await node2?.stop();
  await lab?.stop();
  await stopAll();
  await removeScratchDirs();
});

/** Names and digests in a containerd's CRI namespace. */
async function criImages(node: RunningContainerd): Promise<Map<string, string>> {
  const { stdout } = await node.ctr(['images', 'ls'], { namespace: 'k8s.io' });
  return new Map(stdout.split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((cells) => cells.length >= 3).map((cells) => [cells[0]!, cells[2]!]));
}

/** Upstream blob GETs made by Berth (its user agent in docker-registry's access log). */
async function blobGetsByBerth(digest: string): Promise<number> {
  const log = await lab.publicRegistry.logs();
  return [...log.matchAll(/"GET (\S+) HTTP\/[\d.]+" 200 \d+ "[^"]*" "([^"]*)"/g)].filter((m) => m[1]!.endsWith(`/blobs/${digest}`) && m[2]!.startsWith('berth/')).length;
}

test('miss, then hit: crictl through the shim fills the mirror with one upstream fetch per blob; a second node pulls with none', async () => {
  const image = await lab.push('public', 'mirror-node', 'library/mirrored:1', 1024 * 1024);
  const seeded = (await upstreamRequests(lab.publicRegistry)).length;
  await lab.crictl(['pull', 'docker.io/library/mirrored:1']);
  assert.equal((await lab.criImages()).get(`${lab.privateHost}/docker.io/library/mirrored:1`), image.manifest.digest, 'node 1 pulled it from the mirror');
  const afterFirst = (await upstreamRequests(lab.publicRegistry)).slice(seeded);
  for (const digest of blobDigests(image)) {
    assert.equal(blobGets(afterFirst, digest), 1, `one upstream GET of ${digest}`);
    assert.equal(await blobGetsByBerth(digest), 1, `made by the mirror, not by containerd`);
  }

  const before = (await berthRequests(await lab.privateRequests())).length;
  await node2.crictl(['pull', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, 'docker.io/library/mirrored:1']);
  assert.equal((await criImages(node2)).get('docker.io/library/mirrored:1'), image.manifest.digest);
  const afterSecond = (await upstreamRequests(lab.publicRegistry)).slice(seeded);
  for (const digest of blobDigests(image)) assert.equal(blobGets(afterSecond, digest), 1, `no new upstream GET of ${digest}`);
  const served = (await berthRequests(await lab.privateRequests())).slice(before);
  for (const digest of blobDigests(image)) {
    assert.ok(served.some((r) => r.method === 'GET' && r.status === 200 && r.path === `/v2/library/mirrored/blobs/${digest}`), `node 2 got ${digest} from the mirror (?ns=)`);
  }
});

test('containerd with hosts.toml pulls docker.io/library/... through the mirror (?ns=docker.io): a miss is fetched by the mirror and stored under its prefix', async () => {
  const image = await lab.push('public', 'ns-fresh', 'library/nsfresh:1', 256 * 1024);
  await node2.crictl(['pull', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, 'docker.io/library/nsfresh:1']);
  assert.equal((await criImages(node2)).get('docker.io/library/nsfresh:1'), image.manifest.digest);
  for (const digest of blobDigests(image)) assert.equal(await blobGetsByBerth(digest), 1, `the mirror fetched ${digest} once`);
  const requests = berthRequests(await lab.privateRequests());
  assert.ok(requests.some((r) => r.method === 'GET' && r.status === 200 && r.path.startsWith('/v2/library/nsfresh/blobs/')), 'containerd asked the mirror');
  const stored = await readFile(path.join(lab.privateDataDir, 'docker/registry/v2/repositories/docker.io/library/nsfresh/_manifests/tags/1/current/link'), 'utf8');
  assert.equal(stored, image.manifest.digest, 'kept under the mirror prefix');
});
