// Berth as a pull-through mirror, with skopeo as the client and Debian's docker-registry
// as the upstreams: one with Bearer token auth standing in for docker.io, one with Basic
// auth standing in for registry.k8s.io (distribution 2.8's own proxy cannot mirror that
// one). What the mirror fetched is read from the upstreams' access logs, never from Berth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { writeLogins } from '../support/cli-sandbox.js';
import { startDistribution } from '../support/distribution.js';
import { blobDigests, blobGets, mirrorSettings, seedImage, startHungServer, upstreamRequests } from '../support/mirror.js';
import { basicAuth } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { startProxy, type TestProxy } from '../support/proxy.js';
import { skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { startTokenRegistry } from '../support/token-issuer.js';

const AUTH = { authorization: basicAuth(TEST_USER, TEST_PASSWORD) };

let work: string;
let hub: TestRegistry;
let k8s: TestRegistry;
let k8sProxy: TestProxy;
let mirror: TestRegistry;
/** Blob paths the proxy in front of registry.k8s.io tampers with, and how. */
const tampering = new Map<string, { flip?: boolean; until?: Promise<void> }>();

before(async () => {
  work = await scratchDir('mirror-');
  const token = await startTokenRegistry(work, { accessLog: true });
  // The issuer grants TEST_USER push (seeding) and anyone pull.
  hub = { ...token.registry, user: TEST_USER, password: TEST_PASSWORD, stop: token.stop };
  k8s = await startDistribution({ user: TEST_USER, password: TEST_PASSWORD, accessLog: true });
  k8sProxy = await startProxy(k8s.host, {
    tamper: ({ method, path: requestPath }) => {
      const plan = method === 'GET' ? tampering.get(requestPath) : undefined;
      if (!plan) return undefined;
      return { ...(plan.flip ? { flipFirstByte: true } : {}), ...(plan.until ? { holdLast: { bytes: 1024, until: plan.until } } : {}) };
    },
  });
  const authFile = path.join(work, 'upstream-auth.json');
  await writeLogins(authFile, { [k8sProxy.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  mirror = await startBerth({
    config: {
      mirrors: mirrorSettings([
        { source: 'docker.io', upstreams: [{ url: `http://${hub.host}`, username: TEST_USER, password: TEST_PASSWORD }] },
        { source: 'registry.k8s.io', upstreams: [{ url: `http://${k8sProxy.host}`, authFile }] },
      ]),
    },
  });
});

after(async () => {
  await mirror?.stop();
  await k8sProxy?.close();
  await hub?.stop();
  await stopAll();
  await removeScratchDirs();
});

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Blob data files in a data directory (distribution's layout). */
async function storedBlobs(dataDir: string): Promise<Set<string>> {
  const found = new Set<string>();
  const root = path.join(dataDir, 'docker/registry/v2/blobs/sha256');
  for (const prefix of await readdir(root).catch(() => [] as string[])) {
    for (const hex of await readdir(path.join(root, prefix)).catch(() => [] as string[])) {
      if (await stat(path.join(root, prefix, hex, 'data')).catch(() => undefined)) found.add(`sha256:${hex}`);
    }
  }
  return found;
}

test('eight concurrent skopeo pulls of an uncached image: one upstream GET per blob, every copy intact; then served from the cache', async () => {
  const image = await seedImage(hub, work, 'single-flight', 'library/app:1', { layers: 2, layerSize: 3 * 1024 * 1024 });
  const source = `docker://${mirror.host}/docker.io/library/app:1`;
  const seeded = (await upstreamRequests(hub)).length;
  const copies = Array.from({ length: 8 }, (_, i) => path.join(work, `copy-${i}`));
  await Promise.all(copies.map((dir) => skopeoCopy(source, `dir:${dir}`, { src: mirror })));
  for (const dir of copies) {
    for (const digest of blobDigests(image)) assert.equal(sha256(await readFile(path.join(dir, digest.slice(7)))), digest, `${dir} holds ${digest} intact`);
  }
  const requests = (await upstreamRequests(hub)).slice(seeded);
  for (const digest of blobDigests(image)) assert.equal(blobGets(requests, digest), 1, `one upstream GET of ${digest}`);
  assert.equal(requests.filter((r) => r.method === 'GET' && r.status === 200 && r.path.includes('/manifests/')).length, 1, 'one upstream manifest GET');

  await skopeoCopy(source, `dir:${path.join(work, 'copy-cached')}`, { src: mirror });
  const after = (await upstreamRequests(hub)).slice(seeded);
  for (const digest of blobDigests(image)) assert.equal(blobGets(after, digest), 1, `${digest} came from the cache`);
  assert.ok((await storedBlobs(mirror.dataDir)).has(image.layers[0]!.digest), 'the mirror stored the layer');
});

test('a blob streams to the client while it arrives: bytes before the upstream finished, the last byte only once verified', async () => {
  const image = await seedImage(k8s, work, 'streaming', 'pause:3.9', { layers: 1, layerSize: 2 * 1024 * 1024 });
  const layer = image.layers[0]!;
  let release!: () => void;
  tampering.set(`/v2/pause/blobs/${layer.digest}`, { until: new Promise<void>((resolve) => (release = resolve)) });
  const response = await fetch(`${mirror.url}/v2/registry.k8s.io/pause/blobs/${layer.digest}`, { headers: AUTH });
  assert.equal(response.status, 200);
  assert.equal(Number(response.headers.get('content-length')), layer.size);
  const reader = response.body!.getReader();
  const chunks: Buffer[] = [];
  let received = 0;
  while (received < layer.size - 1024) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'the body does not end while the upstream holds its last bytes');
    chunks.push(Buffer.from(value));
    received += value.length;
  }
  assert.ok(received < layer.size, `${received} of ${layer.size} bytes arrived while the upstream still held the rest`);
  assert.ok(!(await storedBlobs(mirror.dataDir)).has(layer.digest), 'nothing is stored before it is verified');
  release();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
  }
  assert.equal(sha256(Buffer.concat(chunks)), layer.digest);
  tampering.delete(`/v2/pause/blobs/${layer.digest}`);
});

test('a corrupt upstream: the transfer is cut, the retry gets a clear error, and nothing is stored', async () => {
  const image = await seedImage(k8s, work, 'corrupt', 'corrupt/app:1', { layers: 1, layerSize: 512 * 1024 });
  const layer = image.layers[0]!;
  tampering.set(`/v2/corrupt/app/blobs/${layer.digest}`, { flip: true });
  const url = `${mirror.url}/v2/registry.k8s.io/corrupt/app/blobs/${layer.digest}`;
  const first = await fetch(url, { headers: AUTH });
  await assert.rejects(first.arrayBuffer(), 'the body is cut short instead of completing with the wrong bytes');
  const second = await fetch(url, { headers: AUTH });
  assert.equal(second.status, 404);
  const body = (await second.json()) as { errors: Array<{ code: string; message: string }> };
  assert.equal(body.errors[0]?.code, 'BLOB_UNKNOWN');
  assert.match(body.errors[0]!.message, /digest mismatch.*nothing was stored/);
  const pulled = await skopeoCopy(`docker://${mirror.host}/registry.k8s.io/corrupt/app:1`, `dir:${path.join(work, 'corrupt-copy')}`, { src: mirror, allowFailure: true });
  // skopeo does not print a blob error's body; the status says the mirror has nothing for it.
  assert.notEqual(pulled.code, 0);
  assert.match(pulled.stderr, new RegExp(`${layer.digest}.*404`));
  assert.ok(!(await storedBlobs(mirror.dataDir)).has(layer.digest), 'the corrupt blob is not in the blob store');
  const uploads = path.join(mirror.dataDir, 'docker/registry/v2/repositories/registry.k8s.io/corrupt/app/_uploads');
  assert.deepEqual(await readdir(uploads).catch(() => []), [], 'no upload session is left behind');
  assert.deepEqual(await readdir(path.join(mirror.dataDir, 'docker/registry/v2/_berth/mirror-spool')), [], 'no spool file is left behind');
  tampering.delete(`/v2/corrupt/app/blobs/${layer.digest}`);
});

void writeFile;
void startHungServer;
void skopeo;
