// Replica loss under load. Three `berth registry serve` replicas share one SeaweedFS
// bucket and one httpSecret, started as deploy/ha/ installs them (the unit template's
// ExecStart, the sample config, credentials from the environment), behind HAProxy with
// deploy/ha/haproxy.cfg (health from /readyz). containerd 1.6's CRI sits behind
// `berth shim` configured from deploy/ha/image-cri-shim.yaml, which lists all three.
//
// 16 skopeo pushes run at once through the load balancer; 32 crictl pulls go through the
// shim, 16 by tag (each as soon as its push is acknowledged) and, after the images are
// removed from the node, 16 by digest. The first replica is killed with SIGKILL (its
// primary and worker processes together, as when its host dies) while a layer is being
// pulled from it and pushes are running, the second likewise during the digest pulls.
// Fallback is off, so only a replica can serve a pull. Every pull succeeds, every
// acknowledged push reads back byte-identical from the survivor and through containerd,
// the shim's metrics count the failovers (and match its log), and containerd itself pulls
// through deploy/ha/containerd-hosts.toml from the survivor when the first two are down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { RegistryClient } from '../../src/client/registry-client.js';
import { mapLimit } from '../../src/util/pool.js';
import { startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { criImages, startContainerd, type RunningContainerd } from '../support/containerd.js';
import { deployFileWith, execStartArgs } from '../support/deploy.js';
import { LayoutWriter, fastSeededBytes, writeImage, type BuiltImage } from '../support/images.js';
import { testLogPath } from '../support/logs.js';
import { basicAuth, freePort } from '../support/net.js';
import { killWithChildren, run, startProcess, stopAll, stopProcess, waitFor } from '../support/process.js';
import { crictl, installCrictlConfig, installHostsToml, startShim, writeShimConfig, type ShimProcess } from '../support/shim.js';
import { berthRequests } from '../support/shim-lab.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { tool } from '../support/tools.js';

const IMAGES = 16;
/** Two layers of this size per image: long enough on the wire to be caught mid-pull. */
const LAYER = 5 * 1024 * 1024;
const PULL_CONCURRENCY = 8;
const PUSH_ATTEMPTS = 4;

type Replica = TestRegistry & { child: ChildProcess };

let seaweed: Seaweed;
let containerd: RunningContainerd | undefined;
let shim: ShimProcess | undefined;
let balancer: ChildProcess | undefined;

before(async () => {
  seaweed = await startSeaweed();
});

after(async () => {
  await shim?.stop();
  await containerd?.stop();
  if (balancer) await stopProcess(balancer);
  await stopAll();
  await seaweed?.stop();
  await removeScratchDirs();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Three replicas from deploy/ha/: the unit's ExecStart with the sample config, bucket credentials in the environment. */
async function startReplicas(work: string): Promise<Replica[]> {
  const htpasswd = path.join(work, 'registry_htpasswd');
  await run(tool('htpasswd'), ['-Bbc', '-C', '5', htpasswd, TEST_USER, TEST_PASSWORD]);
  const config = path.join(work, 'ha.yaml');
  await writeFile(
    config,
    await deployFileWith('ha/registry.yaml', [
      ['addr: 0.0.0.0:5000', 'addr: 127.0.0.1:5000'],
      ['http://s3.cluster.internal:8333', seaweed.endpoint],
      ['bucket: registry', `bucket: ${seaweed.bucket}`],
      ['rootDirectory: /berth', 'rootDirectory: /replica-loss'],
      ['/etc/registry/registry_htpasswd', htpasswd],
      ['REPLACE-with-the-output-of-openssl-rand-hex-32', randomBytes(32).toString('hex')],
      // Three replicas on one host: each gets its own metrics port.
      ['metricsAddr: 127.0.0.1:5001', 'metricsAddr: 127.0.0.1:0'],
    ]),
  );
  const unit = await execStartArgs('ha/berth-registry@.service', '/usr/local/bin/berth');
  assert.deepEqual(unit.slice(0, 2), ['registry', 'serve']);
  const args = unit.slice(2).map((arg) => arg.replace('/etc/berth/%i.yaml', config));
  assert.deepEqual(args, ['--config', config], 'the unit names its config by instance');
  // What EnvironmentFile=/etc/berth/%i.env gives the replica.
  const env = { ...process.env, AWS_ACCESS_KEY_ID: seaweed.accessKey, AWS_SECRET_ACCESS_KEY: seaweed.secretKey };
  const replicas: Replica[] = [];
  for (let i = 0; i < 3; i++) replicas.push(await startBerthProcess(args, { dataDir: false, env }));
  return replicas;
}

/** HAProxy with deploy/ha/haproxy.cfg in front of the replicas; resolves with its host:port. */
async function startBalancer(work: string, replicas: readonly Replica[]): Promise<string> {
  const port = await freePort();
  const file = path.join(work, 'haproxy.cfg');
  await writeFile(
    file,
    await deployFileWith('ha/haproxy.cfg', [
      ['bind :5000', `bind 127.0.0.1:${port}`],
      ...replicas.map((replica, i) => [`master${i + 1}:5000`, replica.host] as const),
    ]),
  );
  const out = openSync(testLogPath('haproxy'), 'a');
  balancer = startProcess(tool('haproxy'), ['-f', file, '-db'], { stdio: ['ignore', out, out] });
  const host = `127.0.0.1:${port}`;
  await waitFor('HAProxy in front of the replicas', async () => ((await fetch(`http://${host}/v2/`, { headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) } }).catch(() => undefined))?.status === 200 ? true : undefined));
  return host;
}

/** The shim from deploy/ha/image-cri-shim.yaml, with fallback off: only a replica can serve a pull. */
async function startHaShim(work: string, replicas: readonly Replica[], runtimeSocket: string, metricsPort: number): Promise<{ shim: ShimProcess; socket: string }> {
  const socket = path.join(work, 'run', 'image-cri-shim.sock');
  const text = await deployFileWith('ha/image-cri-shim.yaml', [
    ['/var/run/image-cri-shim.sock', socket],
    ['/run/containerd/containerd.sock', runtimeSocket],
    ...replicas.map((replica, i) => [`master${i + 1}:5000`, replica.host] as const),
    ['admin:passw0rd', `${TEST_USER}:${TEST_PASSWORD}`],
    ['fallback: true', 'fallback: false'],
    ['metricsAddr: 127.0.0.1:9531', `metricsAddr: 127.0.0.1:${metricsPort}`],
  ]);
  const file = path.join(work, 'image-cri-shim.yaml');
  await writeShimConfig(file, { ...(parseYaml(text) as Record<string, unknown>), cache: { statsLogInterval: '1h' } });
  return { shim: await startShim(file), socket };
}

/**
 * Whether containerd is in the middle of a layer download: an ingest of at least LAYER
 * bytes that has received some of them and less than half, and grew since the last look
 * (`seen`), so a partial ingest left behind by an earlier cut-off transfer does not count.
 * Pulls are the only writers of ingests here.
 */
async function layerHalfwayIn(contentRoot: string, seen: Map<string, number>): Promise<boolean> {
  const ingest = path.join(contentRoot, 'ingest');
  let found = false;
  for (const name of await readdir(ingest).catch(() => [] as string[])) {
    const [size, total] = await Promise.all([
      stat(path.join(ingest, name, 'data')).then((s) => s.size, () => undefined),
      readFile(path.join(ingest, name, 'total'), 'utf8').then(Number, () => undefined),
    ]);
    if (size === undefined || total === undefined) continue;
    const before = seen.get(name);
    seen.set(name, size);
    if (before !== undefined && size > before && total >= LAYER && size < total / 2) found = true;
  }
  return found;
}

/**
 * SIGKILLs `replica` (its primary and its worker processes, as when its host dies) the
 * moment a layer is halfway in while `pushing()` says pushes are in flight (or none are
 * left to come); the number of processes killed, 0 when the pulls ended first.
 */
async function killDuringPull(replica: Replica, contentRoot: string, pullsDone: () => boolean, pushing: () => boolean, onKill: () => void): Promise<number> {
  const deadline = Date.now() + 180_000;
  const seen = new Map<string, number>();
  while (Date.now() < deadline && !pullsDone()) {
    if ((await layerHalfwayIn(contentRoot, seen)) && pushing()) {
      onKill();
      return killWithChildren(replica.child);
    }
    await sleep(5);
  }
  return 0;
}

interface Pull {
  readonly reference: string;
  readonly image: number;
  readonly code: number | null;
  readonly output: string;
}

/** `crictl pull` through the shim; never throws, so every outcome is counted. */
async function pullThroughShim(crictlConfig: string, reference: string, image: number): Promise<Pull> {
  const result = await crictl(crictlConfig, ['pull', reference], { allowFailure: true });
  return { reference, image, code: result.code, output: `${result.stdout}${result.stderr}`.trim() };
}

/** A counter of the shim's /metrics text per `registry` label. */
function perRegistry(metricsText: string, name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const match of metricsText.matchAll(new RegExp(`^${name}\\{registry="([^"]+)"\\} (\\d+(?:\\.\\d+)?)$`, 'gm'))) values.set(match[1]!, Number(match[2]));
  return values;
}

test('replica loss under load: 16 pushes through the load balancer, 32 pulls through the shim, two of three replicas killed -9', { timeout: 10 * 60_000 }, async (t) => {
  const seconds: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string): void => {
    seconds[name] = Math.round((performance.now() - mark) / 100) / 10;
    mark = performance.now();
  };
  const work = await scratchDir('replica-loss-');
  const replicas = await startReplicas(work);
  const [a, b, c] = replicas as [Replica, Replica, Replica];
  const balanced = await startBalancer(work, replicas);

  containerd = await startContainerd(path.join(work, 'containerd'));
  for (const replica of replicas) await installHostsToml(containerd.hostsDir, replica.host);
  await mkdir(path.join(containerd.hostsDir, 'sealos.hub:5000'), { recursive: true });
  await writeFile(
    path.join(containerd.hostsDir, 'sealos.hub:5000', 'hosts.toml'),
    await deployFileWith(
      'ha/containerd-hosts.toml',
      replicas.map((replica, i) => [`master${i + 1}:5000`, replica.host] as const),
    ),
  );
  const metricsPort = await freePort();
  const started = await startHaShim(work, replicas, containerd.socket, metricsPort);
  shim = started.shim;
  const crictlConfig = path.join(work, 'crictl.yaml');
  await installCrictlConfig(crictlConfig, containerd.socket, started.socket);
  const contentRoot = path.join(containerd.dir, 'root', 'io.containerd.content.v1.content');

  lap('setup');
  const images: Array<{ layout: string; built: BuiltImage }> = [];
  for (let j = 0; j < IMAGES; j++) {
    const layout = path.join(work, 'layouts', `ha-${j}`);
    const writer = new LayoutWriter(layout);
    const built = await writeImage(writer, { seed: `replica-loss-${j}`, layers: 2, layerSize: LAYER, fill: fastSeededBytes });
    writer.tag(built.manifest, 'image');
    await writer.save();
    images.push({ layout, built });
  }

  lap('images');
  // Pushes: 16 at once through the load balancer, their starts half a second apart so
  // they end apart too and some are still running when the first pulls (and the first
  // kill) come. One cut off by a kill is not acknowledged; it is pushed again, as a client
  // would, and lands on a live replica.
  let pushesInterrupted = 0;
  let pushesRunning = 0;
  let pushesOver = false;
  const pushesRunningAtKill: number[] = [];
  const acknowledged = images.map(() => {
    let settle!: (ok: boolean) => void;
    const promise = new Promise<boolean>((resolve) => (settle = resolve));
    return { promise, settle };
  });
  const push = async (j: number): Promise<void> => {
    await sleep(j * 500);
    for (let attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++) {
      pushesRunning += 1;
      const result = await skopeoCopy(`oci:${images[j]!.layout}:image`, `docker://${balanced}/library/ha-${j}:1`, { dest: a, extra: ['--preserve-digests'], allowFailure: true });
      pushesRunning -= 1;
      if (result.code === 0) {
        acknowledged[j]!.settle(true);
        return;
      }
      pushesInterrupted += 1;
      await sleep(500);
    }
    acknowledged[j]!.settle(false);
  };
  const pushes = Promise.all(images.map((_, j) => push(j))).finally(() => (pushesOver = true));
  const underPushes = (): boolean => pushesRunning > 0 || pushesOver;

  // Phase 1: a pull by tag as soon as each push is acknowledged; the first replica
  // (the shim's first choice) dies while a layer is coming from it.
  let phase1Done = false;
  const killA = killDuringPull(a, contentRoot, () => phase1Done, underPushes, () => pushesRunningAtKill.push(pushesRunning));
  const byTag = await mapLimit(images, PULL_CONCURRENCY, async (_, j) => {
    assert.ok(await acknowledged[j]!.promise, `push ${j} was acknowledged within ${PUSH_ATTEMPTS} attempts`);
    return pullThroughShim(crictlConfig, `docker.io/library/ha-${j}:1`, j);
  });
  phase1Done = true;
  await pushes;
  const killedA = await killA;
  assert.ok(killedA > 0, 'the first replica was killed while a layer was being pulled from it');
  const onNode = await criImages(containerd);
  lap('pushesAndTagPulls');

  // Phase 2: the images off the node (through the shim, under the names they were pulled
  // by), then pulled by digest; the second replica dies while a layer is coming from it.
  for (let j = 0; j < IMAGES; j++) await crictl(crictlConfig, ['rmi', `docker.io/library/ha-${j}:1`]);
  assert.deepEqual([...(await criImages(containerd)).keys()].filter((name) => name.includes('/library/ha-')), [], 'the node no longer has them');
  let phase2Done = false;
  const killB = killDuringPull(b, contentRoot, () => phase2Done, () => true, () => pushesRunningAtKill.push(pushesRunning));
  const byDigest = await mapLimit(images, PULL_CONCURRENCY, (image, j) => pullThroughShim(crictlConfig, `docker.io/library/ha-${j}@${image.built.manifest.digest}`, j));
  phase2Done = true;
  const killedB = await killB;
  assert.ok(killedB > 0, 'the second replica was killed while a layer was being pulled from it');
  lap('digestPulls');

  // Every pull succeeded, with the pushed image: containerd verified every blob against
  // its digest, and the image ID it reports is the pushed config's digest.
  const pulls = [...byTag, ...byDigest];
  assert.equal(pulls.length, 32);
  for (const pull of pulls) {
    assert.equal(pull.code, 0, `${pull.reference}: ${pull.output}`);
    assert.match(pull.output, new RegExp(`Image is up to date for ${images[pull.image]!.built.config.digest}`), pull.reference);
  }
  for (let j = 0; j < IMAGES; j++) {
    const names = [...onNode].filter(([name]) => name.endsWith(`/library/ha-${j}:1`));
    assert.equal(names.length, 1, `image ${j} was on the node under one replica's name after the tag pulls`);
    assert.equal(names[0]![1], images[j]!.built.manifest.digest);
  }

  // Every acknowledged push reads back byte-identical from the survivor.
  const client = new RegistryClient({ registry: c.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), attempts: 1 });
  try {
    for (const [j, { layout, built }] of images.entries()) {
      const manifest = await client.getManifest(`library/ha-${j}`, '1');
      assert.equal(manifest?.digest, built.manifest.digest);
      assert.ok(manifest.bytes.equals(built.manifestBytes));
      for (const blob of [built.config, ...built.layers]) {
        const { stream } = await client.getBlob(`library/ha-${j}`, blob.digest);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        assert.ok(Buffer.concat(chunks).equals(await readFile(path.join(layout, 'blobs', 'sha256', blob.digest.slice('sha256:'.length)))), `ha-${j}@${blob.digest}`);
      }
    }
  } finally {
    client.close();
  }

  // containerd on its own (the sandbox image's path) through deploy/ha/containerd-hosts.toml:
  // the first two hosts refuse, the third serves.
  await containerd.crictl(['pull', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, 'sealos.hub:5000/library/ha-0:1']);
  assert.equal((await criImages(containerd)).get('sealos.hub:5000/library/ha-0:1'), images[0]!.built.manifest.digest);

  lap('verify');
  // The shim's metrics show the failovers, and agree with its log.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const failovers = perRegistry(metrics, 'berth_shim_failovers_total');
  const served = perRegistry(metrics, 'berth_shim_pulls_total');
  const failures = perRegistry(metrics, 'berth_shim_private_pull_failures_total');
  assert.ok((failovers.get(a.host) ?? 0) >= 1, `a pull failed over from the first replica: ${metrics.match(/^berth_shim_failovers_total.*$/gm)?.join('; ')}`);
  assert.ok((failovers.get(b.host) ?? 0) >= 1, 'a pull failed over from the second replica');
  assert.equal(failovers.get(c.host) ?? 0, 0, 'the survivor never failed');
  assert.deepEqual(perRegistry(metrics, 'berth_shim_fallbacks_total'), new Map(), 'no fallback (it is off)');
  assert.equal(served.get('original') ?? 0, 0);
  assert.equal([...served.values()].reduce((sum, n) => sum + n, 0), 32, 'every pull served by a replica');
  assert.notEqual(perRegistry(metrics, 'berth_shim_breaker_state').get(a.host), 0, 'the first replica is out of use (breaker open)');
  const decisions = (await shim.lines()).filter((line) => line.msg === 'rewrite decision' && line['action'] === 'PullImage');
  const failoverLines = decisions.filter((line) => line['reason'] === 'failover');
  // containerd may fail the attempt after a failover on its own (pull-errors.ts): such a
  // failure is tried once more from the same replica.
  const retryLines = decisions.filter((line) => line['reason'] === 'runtime-retry');
  const total = (counts: Map<string, number>): number => [...counts.values()].reduce((sum, n) => sum + n, 0);
  assert.equal(failoverLines.length, total(failovers), 'one warn line per failover');
  assert.ok(failoverLines.every((line) => line['level'] === 'warn' && (line['failed'] === a.host || line['failed'] === b.host)));
  assert.equal(total(failures), failoverLines.length + retryLines.length, 'every failed attempt was followed by another one, none ended a pull');

  // Pushes were spread over the replicas by the load balancer.
  const manifestPuts = await Promise.all(
    replicas.map(async (replica) => berthRequests(await replica.logs()).filter((r) => r.method === 'PUT' && r.status === 201 && /^\/v2\/library\/ha-\d+\/manifests\//.test(r.path)).length),
  );
  // (A replica killed -9 may lose its last log lines, so these are lower bounds.)
  assert.ok(manifestPuts.filter((n) => n > 0).length >= 2, `manifests landed on several replicas (${manifestPuts.join('/')})`);
  t.diagnostic(
    `replica loss: pushes=${IMAGES} acknowledged=${IMAGES} running_at_first_kill=${pushesRunningAtKill[0]} interrupted_and_retried=${pushesInterrupted} manifest_puts_per_replica=${manifestPuts.join('/')}; ` +
      `pulls=${pulls.length} ok=${pulls.filter((p) => p.code === 0).length} served_by=${[a, b, c].map((r) => served.get(r.host) ?? 0).join('/')}; ` +
      `failovers first=${failovers.get(a.host) ?? 0} second=${failovers.get(b.host) ?? 0} runtime_retries=${retryLines.length}; killed -9: first replica ${killedA} processes, second ${killedB}; seconds ${JSON.stringify(seconds)}`,
  );
});

