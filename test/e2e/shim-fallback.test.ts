// When the private registry fails: stopped (connections refused), hung (accepts and
// never answers), or holding a manifest whose blob is gone. The pull falls back to the
// original reference within the probe timeout plus the pull time, the breaker keeps a
// dead registry off the path and lets it back after its reset time, and with
// `fallback: false` the pull fails with a clear error. Which registry served each pull
// comes from the registries' own logs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { freePort } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { installHostsToml, writeShimConfig, type LogLine } from '../support/shim.js';
import { PUBLIC_PASSWORD, PUBLIC_USER, ShimLab, berthRequests, distributionRequests, fetched } from '../support/shim-lab.js';
import { removeScratchDirs } from '../support/tmp.js';

const PUBLIC_CREDS = `${PUBLIC_USER}:${PUBLIC_PASSWORD}`;
const PROBE_TIMEOUT_MS = 2000;
const RESET_TIMEOUT_MS = 4000;
const LAYER = 1024 * 1024;

let lab: ShimLab;
let baselineMs = 0;
const figures: Record<string, number> = {};

function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return lab.baseConfig({ probeTimeout: `${PROBE_TIMEOUT_MS}ms`, breaker: { failureThreshold: 3, resetTimeout: `${RESET_TIMEOUT_MS}ms` }, ...extra });
}

before(async () => {
  lab = await ShimLab.create();
  await lab.startShim(config());
});

after(async () => {
  await lab?.stop();
  await stopAll();
  await removeScratchDirs();
  process.stdout.write(`# shim fallback figures (ms): ${JSON.stringify(figures)}\n`);
});

interface Pull {
  readonly code: number | null;
  readonly stderr: string;
  readonly ms: number;
  readonly fromPrivate: number;
  readonly fromPublic: number;
  readonly privateLog: string;
}

async function pull(image: string, repository: string, allowFailure = false): Promise<Pull> {
  const privateCursor = lab.privateCursor();
  const publicCursor = lab.publicCursor();
  await privateCursor.mark();
  await publicCursor.mark();
  const started = performance.now();
  const result = await lab.crictl(['pull', '--creds', PUBLIC_CREDS, image], { allowFailure });
  const ms = Math.round(performance.now() - started);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const privateLog = await privateCursor.since();
  return {
    code: result.code,
    stderr: result.stderr,
    ms,
    fromPrivate: fetched(berthRequests(privateLog), repository).length,
    fromPublic: fetched(distributionRequests(await publicCursor.since()), repository).length,
    privateLog,
  };
}

async function rmi(image: string): Promise<void> {
  await lab.crictl(['rmi', image], { allowFailure: true });
}

async function decisionsSince(from: number): Promise<LogLine[]> {
  return (await lab.shim!.lines()).slice(from).filter((line) => line.msg === 'rewrite decision' && line['action'] === 'PullImage');
}

/** Rewrites the config file and waits until the shim says it applied it. */
async function reconfigure(next: Record<string, unknown>): Promise<void> {
  const from = (await lab.shim!.lines()).length;
  await writeShimConfig(lab.configFile, next);
  await lab.shim!.waitForLine('the config reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from, timeoutMs: 10_000 });
}

test('baseline: a public pull of the same size through the shim', async () => {
  await lab.push('public', 'baseline-public', 'library/baseline:1', LAYER);
  const result = await pull('docker.io/library/baseline:1', 'library/baseline');
  assert.ok(result.fromPublic >= 2);
  baselineMs = result.ms;
  figures['publicPull'] = baselineMs;
});

test('private registry stopped: the pull falls back within the probe timeout plus the pull time; the breaker opens', async () => {
  await lab.push('private', 'app-private', 'library/app:1', LAYER);
  const publicApp = await lab.push('public', 'app-public', 'library/app:1', LAYER);
  const first = await pull('docker.io/library/app:1', 'library/app');
  assert.ok(first.fromPrivate >= 2, 'served by the private registry while it runs');
  await rmi('docker.io/library/app:1');

  await lab.stopPrivate();
  const from = (await lab.shim!.lines()).length;
  // The cached decision says "private"; its re-check is refused at once and the pull goes public.
  const fallback = await pull('docker.io/library/app:1', 'library/app');
  assert.equal(fallback.code, 0);
  assert.ok(fallback.fromPublic >= 2, 'served by the public registry');
  figures['fallbackAfterStop'] = fallback.ms;
  assert.ok(fallback.ms < PROBE_TIMEOUT_MS + baselineMs + 1500, `fallback took ${fallback.ms} ms (probe timeout ${PROBE_TIMEOUT_MS} + public pull ${baselineMs})`);
  const decisions = await decisionsSince(from);
  assert.deepEqual(
    decisions.map((d) => `${d['reason']}:${d['result']}`),
    ['unavailable:docker.io/library/app:1'],
  );
  assert.match(JSON.stringify(decisions[0]!['probes']), /ECONNREFUSED/);
  assert.deepEqual((await lab.criImages()).get('docker.io/library/app:1'), publicApp.manifest.digest);

  // Each further pull probes (refused at once) and goes public; the third failure opens the breaker.
  for (let i = 0; i < 3; i++) {
    await rmi('docker.io/library/app:1');
    const next = await pull('docker.io/library/app:1', 'library/app');
    assert.ok(next.fromPublic >= 2);
    figures[`pullWhileDown${i + 1}`] = next.ms;
  }
  await lab.shim!.waitForLine('the breaker to open', (line) => line['breaker'] === 'open' && line['registry'] === lab.privateHost, { from, timeoutMs: 5000 });
});

test('private registry back: the shim uses it again within the breaker reset time', async () => {
  const opened = (await lab.shim!.lines()).findLast((line) => line['breaker'] === 'open');
  assert.ok(opened);
  const openedAt = Date.parse(String(opened['time']));
  const from = (await lab.shim!.lines()).length;
  await lab.startPrivate();
  const backAt = Date.now();

  // While the breaker is open the registry is not even asked.
  await rmi('docker.io/library/app:1');
  const skipped = await pull('docker.io/library/app:1', 'library/app');
  if (Date.now() - openedAt < RESET_TIMEOUT_MS - 500) {
    assert.equal(skipped.fromPrivate, 0);
    assert.equal(berthRequests(skipped.privateLog).length, 0, 'no probe while the breaker is open');
    const [decision] = await decisionsSince(from);
    const probes = decision?.['probes'] as Array<{ outcome: string }> | undefined;
    assert.equal(probes?.[0]?.outcome, 'breaker-open');
  }

  let servedAt = 0;
  for (let attempt = 0; attempt < 40 && servedAt === 0; attempt++) {
    await rmi('docker.io/library/app:1');
    const next = await pull('docker.io/library/app:1', 'library/app');
    if (next.fromPrivate >= 2) servedAt = Date.now();
    else await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.ok(servedAt > 0, 'the private registry serves again');
  figures['recoveryAfterRestart'] = servedAt - backAt;
  figures['recoveryAfterBreakerOpened'] = servedAt - openedAt;
  assert.ok(servedAt - backAt <= RESET_TIMEOUT_MS + 2500, `back in use ${servedAt - backAt} ms after the restart (reset time ${RESET_TIMEOUT_MS} ms)`);
  assert.ok(servedAt - openedAt >= RESET_TIMEOUT_MS - 250, 'not before the reset time');
  await lab.shim!.waitForLine('the breaker to close', (line) => line['breaker'] === 'closed', { from });
});

/**
 * A TCP proxy in front of the private registry that can start hanging: existing
 * connections are cut, new ones are accepted and never answered.
 */
class HangingProxy {
  hang = false;
  private readonly open = new Set<Socket>();
  private readonly server: Server;
  constructor(private readonly target: number) {
    this.server = createServer((client) => {
      this.open.add(client);
      client.on('close', () => this.open.delete(client));
      client.on('error', () => undefined);
      if (this.hang) return;
      const upstream = connect(this.target, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
  }
  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }
  startHanging(): void {
    this.hang = true;
    for (const socket of this.open) socket.destroy();
  }
  close(): void {
    for (const socket of this.open) socket.destroy();
    this.server.close();
  }
}

test('private registry hangs (accepts, never answers): one probe timeout, then the pull goes public — also for an image cached as private', async () => {
  const port = await freePort();
  const proxy = new HangingProxy(lab.privatePort);
  await proxy.listen(port);
  const proxyHost = `127.0.0.1:${port}`;
  // containerd reaches the proxy over plain HTTP, like the registry behind it.
  await installHostsToml(lab.containerd.hostsDir, proxyHost);
  try {
    await reconfigure(config({ address: `http://${proxyHost}` }));
    await lab.push('private', 'hang-private', 'library/hang:1', LAYER);
    const publicHang = await lab.push('public', 'hang-public', 'library/hang:1', LAYER);
    const cached = await pull('docker.io/library/hang:1', 'library/hang');
    assert.ok(cached.fromPrivate >= 2, 'served by the private registry through the proxy, and cached');
    await rmi('docker.io/library/hang:1');
    await rmi(`${proxyHost}/library/hang:1`);

    proxy.startHanging();
    let from = (await lab.shim!.lines()).length;
    const afterCache = await pull('docker.io/library/hang:1', 'library/hang');
    assert.equal(afterCache.code, 0);
    assert.ok(afterCache.fromPublic >= 2);
    figures['hungAfterCachedMatch'] = afterCache.ms;
    assert.ok(afterCache.ms >= PROBE_TIMEOUT_MS - 100, `the re-check of the cached match waited its timeout (${afterCache.ms} ms)`);
    assert.ok(afterCache.ms < PROBE_TIMEOUT_MS + baselineMs + 1500, `pull took ${afterCache.ms} ms (probe timeout ${PROBE_TIMEOUT_MS} + public pull ${baselineMs})`);
    const [recheck] = await decisionsSince(from);
    assert.equal(recheck!['reason'], 'unavailable');
    assert.match(JSON.stringify(recheck!['probes']), /timed out/);
    assert.equal((await lab.criImages()).get('docker.io/library/hang:1'), publicHang.manifest.digest);

    await lab.push('public', 'slow-public', 'library/slow:1', LAYER);
    from = (await lab.shim!.lines()).length;
    const fresh = await pull('docker.io/library/slow:1', 'library/slow');
    assert.ok(fresh.fromPublic >= 2);
    figures['hungNotCached'] = fresh.ms;
    assert.ok(fresh.ms >= PROBE_TIMEOUT_MS - 100, `the probe waited its timeout (${fresh.ms} ms)`);
    assert.ok(fresh.ms < PROBE_TIMEOUT_MS + baselineMs + 1500, `pull took ${fresh.ms} ms`);
    assert.equal((await decisionsSince(from))[0]!['reason'], 'unavailable');
  } finally {
    proxy.close();
    await reconfigure(config());
  }
});

async function dropLayerBlob(repositoryTag: string, seed: string): Promise<void> {
  const built = await lab.push('private', seed, repositoryTag);
  const hex = built.layers[0]!.digest.slice('sha256:'.length);
  await rm(path.join(lab.privateDataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), { recursive: true });
}

test('manifest present, blob missing: the fallback pull succeeds with the caller\'s credentials', async () => {
  await dropLayerBlob('library/broken:1', 'broken-private');
  const publicImage = await lab.push('public', 'broken-public', 'library/broken:1');
  const from = (await lab.shim!.lines()).length;
  const result = await pull('docker.io/library/broken:1', 'library/broken');
  assert.equal(result.code, 0);
  const privateRequests = berthRequests(result.privateLog).filter((r) => r.path.startsWith('/v2/library/broken/'));
  assert.ok(privateRequests.some((r) => r.path.includes('/blobs/') && r.status === 404), 'the private registry was asked for the blob and did not have it');
  assert.ok(result.fromPublic >= 2, 'the public registry served the fallback');
  assert.equal((await lab.criImages()).get('docker.io/library/broken:1'), publicImage.manifest.digest);
  const decisions = await decisionsSince(from);
  assert.deepEqual(
    decisions.map((d) => d['reason']),
    ['present', 'private-pull-failed'],
  );
  assert.equal(decisions[1]!['level'], 'warn');
});

test('fallback: false: the failed private pull is an error that says why, and the public registry is not asked', async () => {
  await reconfigure(config({ fallback: false }));
  try {
    await dropLayerBlob('library/strict:1', 'strict-private');
    await lab.push('public', 'strict-public', 'library/strict:1');
    const result = await pull('docker.io/library/strict:1', 'library/strict', true);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`pull of ${lab.privateHost.replace(/\./g, '\\.')}/library/strict:1 from registry ${lab.privateHost.replace(/\./g, '\\.')} failed and fallback is off \\(fallback: false\\)`));
    assert.equal(result.fromPublic, 0);
    assert.ok(!(await lab.criImages()).has('docker.io/library/strict:1'));
  } finally {
    await reconfigure(config());
  }
});

test('metrics on metricsAddr: rewrites, cache hits and misses, fallbacks, probe latency, breaker state', async () => {
  const port = await freePort();
  await lab.shim!.stop();
  await lab.startShim(config({ metricsAddr: `127.0.0.1:${port}` }));
  await lab.push('private', 'metrics-private', 'library/metrics:1');
  await pull('docker.io/library/metrics:1', 'library/metrics');
  await pull('docker.io/library/metrics:1', 'library/metrics');
  await dropLayerBlob('library/metrics-broken:1', 'metrics-broken-private');
  await lab.push('public', 'metrics-broken-public', 'library/metrics-broken:1');
  await pull('docker.io/library/metrics-broken:1', 'library/metrics-broken');
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(text, /berth_shim_rewrites_total\{action="PullImage",outcome="rewritten"\} [1-9]/);
  assert.match(text, /berth_shim_cache_misses_total [1-9]/);
  assert.match(text, /berth_shim_cache_hits_total\{kind="present"\} [1-9]/);
  assert.match(text, new RegExp(`berth_shim_breaker_state\\{registry="${lab.privateHost.replace(/\./g, '\\.')}"\\} 0`));
  assert.match(text, /berth_shim_probe_duration_seconds_count\{registry="[^"]+",outcome="present"\} [1-9]/);
  assert.match(text, new RegExp(`berth_shim_fallbacks_total\\{registry="${lab.privateHost.replace(/\./g, '\\.')}"\\} 1`));
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
});
