// Operating the registry: Prometheus metrics and health endpoints, the per-client upload
// limit, the auth-failure block, slow clients (slowloris) and graceful shutdown that
// finishes an in-flight upload.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { digestOf } from '../../src/oci/digest.js';
import { startBerth, startBerthProcess, TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { basicAuth, freePort } from '../support/net.js';
import { run, stopAll, waitFor } from '../support/process.js';
import { BERTH_BIN } from '../support/tools.js';
import { removeScratchDirs } from '../support/tmp.js';

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

const auth = { authorization: basicAuth(TEST_USER, TEST_PASSWORD) };

async function monolithicUpload(url: string, repository: string, data: Buffer): Promise<Response> {
  return fetch(`${url}/v2/${repository}/blobs/uploads/?digest=${digestOf(data).value}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: data,
  });
}

test('metrics count requests, bytes and upload sessions; livez and readyz answer', async () => {
  const metricsPort = await freePort();
  const registry = await startBerth({ config: { metricsAddr: `127.0.0.1:${metricsPort}` } });
  try {
    const data = Buffer.from('metrics test blob');
    assert.equal((await monolithicUpload(registry.url, 'ops/metrics', data)).status, 201);
    assert.equal((await fetch(`${registry.url}/v2/ops/metrics/blobs/${digestOf(data).value}`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${registry.url}/v2/ops/metrics/blobs/${digestOf('nope').value}`, { headers: auth })).status, 404);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(text, /berth_registry_requests_total\{endpoint="blob",method="GET",status="200"\} 1/);
    assert.match(text, /berth_registry_requests_total\{endpoint="blob",method="GET",status="404"\} 1/);
    assert.match(text, /berth_registry_upload_sessions_total\{outcome="completed"\} 1/);
    assert.match(text, /berth_registry_gc_runs_total 0/);
    const bytesIn = Number(/berth_registry_bytes_received_total (\d+)/.exec(text)?.[1]);
    assert.ok(bytesIn >= data.length, `bytes received ${bytesIn}`);
    for (const base of [registry.url, `http://127.0.0.1:${metricsPort}`]) {
      assert.equal((await fetch(`${base}/livez`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
    }
    // The metrics port is not the registry: no registry API there.
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/v2/`)).status, 404);
    // A garbage collection run as its own process shows in this registry's metrics.
    await run(process.execPath, [BERTH_BIN, 'registry', 'gc', '--data-dir', registry.dataDir, '--grace', '0s']);
    const after = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(after, /berth_registry_gc_runs_total 1/);
    assert.match(after, new RegExp(`berth_registry_gc_bytes_freed_total ${data.length}`));
  } finally {
    await registry.stop();
  }
});

test('a client over its concurrent-upload limit gets 429 TOOMANYREQUESTS', async () => {
  const registry = await startBerth({ config: { limits: { maxUploadsPerClient: 1, maxAuthFailures: 10, authFailureWindowMs: 60_000, authBlockMs: 60_000 } } });
  try {
    const start = await fetch(`${registry.url}/v2/ops/limit/blobs/uploads/`, { method: 'POST', headers: auth });
    const location = start.headers.get('location')!;
    // One upload that keeps its slot: a PATCH whose body has not finished yet.
    const url = new URL(location, registry.url);
    const slow = request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'PATCH', headers: { ...auth, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } });
    slow.on('error', () => undefined);
    slow.write('first bytes');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await monolithicUpload(registry.url, 'ops/limit', Buffer.from('second'));
    assert.equal(second.status, 429);
    assert.equal(((await second.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'TOOMANYREQUESTS');
    slow.end();
    await once(slow, 'response');
    // With the slot free again, uploads work.
    assert.equal((await monolithicUpload(registry.url, 'ops/limit', Buffer.from('third'))).status, 201);
  } finally {
    await registry.stop();
  }
});

test('repeated wrong passwords from one address get 429 for a while, logged; verified users keep working', async () => {
  const registry = await startBerth({ config: { limits: { maxUploadsPerClient: 64, maxAuthFailures: 3, authFailureWindowMs: 60_000, authBlockMs: 1500 } } });
  try {
    assert.equal((await fetch(`${registry.url}/v2/`, { headers: auth })).status, 200);
    const wrong = { authorization: basicAuth(TEST_USER, 'wrong-password') };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${registry.url}/v2/`, { headers: wrong })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
    const blocked = await fetch(`${registry.url}/v2/`, { headers: wrong });
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    assert.equal(((await blocked.json()) as { errors: Array<{ code: string }> }).errors[0]?.code, 'TOOMANYREQUESTS');
    // The credential verified before the block still works (no bcrypt needed).
    assert.equal((await fetch(`${registry.url}/v2/`, { headers: auth })).status, 200);
    assert.match(await registry.logs(), /too many failed logins/);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    assert.equal((await fetch(`${registry.url}/v2/`, { headers: wrong })).status, 401);
  } finally {
    await registry.stop();
  }
});

test('slow clients (slowloris) are cut off and do not block others', async () => {
  const registry = await startBerth({ config: { timeouts: { headersTimeoutMs: 1000, idleTimeoutMs: 5000, keepAliveTimeoutMs: 5000 } } });
  const [host, port] = registry.host.split(':') as [string, string];
  const slow: Socket[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      const socket = connect(Number(port), host);
      socket.on('error', () => undefined);
      socket.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n');
      slow.push(socket);
    }
    const started = Date.now();
    assert.equal((await fetch(`${registry.url}/v2/`, { headers: auth })).status, 200);
    assert.ok(Date.now() - started < 1000, 'a normal request is served while slow clients hold connections');
    // Dribble a header byte now and then: the header deadline still applies.
    const dribble = setInterval(() => slow.forEach((s) => s.writable && s.write('X')), 200);
    try {
      await waitFor('slow connections to be closed', () => (slow.every((s) => s.destroyed || s.readableEnded || s.closed) ? true : undefined), 8000);
    } finally {
      clearInterval(dribble);
    }
  } finally {
    slow.forEach((s) => s.destroy());
    await registry.stop();
  }
});

test('SIGTERM finishes an in-flight upload, then the process exits 0', async () => {
  const registry = await startBerthProcess([]);
  const data = Buffer.alloc(2 * 1024 * 1024, 3);
  const digest = digestOf(data).value;
  const start = await fetch(`${registry.url}/v2/ops/shutdown/blobs/uploads/`, { method: 'POST', headers: auth });
  const url = new URL(start.headers.get('location')!, registry.url);
  url.searchParams.set('digest', digest);
  const put = request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(data.length) } });
  const response = once(put, 'response');
  put.write(data.subarray(0, 1024 * 1024));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const exited = once(registry.child, 'exit');
  registry.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
  put.end(data.subarray(1024 * 1024));
  const [res] = (await response) as [import('node:http').IncomingMessage];
  res.resume();
  assert.equal(res.statusCode, 201);
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
  const blobDir = path.join(registry.dataDir, 'docker/registry/v2/blobs/sha256', digest.slice(7, 9));
  assert.deepEqual(await readdir(blobDir), [digest.slice(7)]);
  assert.match(await registry.logs(), /shutting down/);
});
