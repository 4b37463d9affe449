// Berth as a pull-through mirror, with skopeo as the client and Debian's docker-registry
// as the upstreams: one with Bearer token auth standing in for docker.io, one with Basic
// auth standing in for registry.k8s.io (distribution 2.8's own proxy cannot mirror that
// one). What the mirror fetched is read from the upstreams' access logs, never from Berth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunningRegistry } from '../../src/cli/registry/serve.js';
import { startBerth, startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, writeLogins } from '../support/cli-sandbox.js';
import { startDistribution } from '../support/distribution.js';
import { blobDigests, blobGets, mirrorSettings, seedImage, startHungServer, upstreamRequests, type HungServer } from '../support/mirror.js';
import { basicAuth } from '../support/net.js';
import { writeHtpasswd } from '../support/access.js';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import { run, stopAll, waitFor } from '../support/process.js';
import { startProxy, type TestProxy } from '../support/proxy.js';
import { skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { startTokenRegistry } from '../support/token-issuer.js';
import { BERTH_BIN } from '../support/tools.js';

const AUTH = { authorization: basicAuth(TEST_USER, TEST_PASSWORD) };

let work: string;
let hub: TestRegistry;
let k8s: TestRegistry;
let k8sProxy: TestProxy;
let down: TestRegistry;
let hung: HungServer;
let mirror: TestRegistry & { running: RunningRegistry };
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
  down = await startDistribution({ accessLog: true });
  hung = await startHungServer();
  const authFile = path.join(work, 'upstream-auth.json');
  await writeLogins(authFile, { [k8sProxy.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  mirror = await startBerth({
    config: {
      mirrors: mirrorSettings([
        // Token auth, with credentials in the config.
        { source: 'docker.io', upstreams: [{ url: `http://${hub.host}`, username: TEST_USER, password: TEST_PASSWORD }] },
        // Basic auth, with credentials from an auth file.
        { source: 'registry.k8s.io', upstreams: [{ url: `http://${k8sProxy.host}`, authFile }] },
        // Tags re-checked on every request; the upstream is stopped in a test.
        { source: 'ghcr.io', upstreams: [`http://${down.host}`], tagTtl: '0s', timeout: '1s' },
        // A hung upstream first, then the token registry (anonymous pull tokens).
        { source: 'gcr.io', upstreams: [`http://${hung.host}`, `http://${hub.host}`], timeout: '1s' },
        // Short-lived tags, and tags that never move.
        { source: 'quay.io', upstreams: [{ url: `http://${k8sProxy.host}`, authFile }], tagTtl: '1s', immutableTags: 'v[0-9.]+' },
      ]),
    },
  });
});

after(async () => {
  await mirror?.stop();
  await k8sProxy?.close();
  await hung?.close();
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
  assert.match(await mirror.running.server.metrics.registry.metrics(), /berth_mirror_upstream_errors_total\{source="registry.k8s.io",upstream="http:\/\/127.0.0.1:\d+",reason="invalid"\} [1-9]/);
  tampering.delete(`/v2/corrupt/app/blobs/${layer.digest}`);
});

/** A manifest GET through the mirror: status, digest and how long it took. */
async function getManifest(registry: TestRegistry, repository: string, reference: string, query = ''): Promise<{ status: number; digest: string | null; ms: number; body: string }> {
  const started = Date.now();
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${reference}${query}`, {
    headers: { ...AUTH, accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
  });
  const body = await response.text();
  return { status: response.status, digest: response.headers.get('docker-content-digest'), ms: Date.now() - started, body };
}

test('upstream stopped: a cached tag is served stale within 1 s plus the timeout; an uncached image fails with a clear error', async () => {
  const image = await seedImage(down, work, 'stale', 'org/tool:1', { layers: 1 });
  await seedImage(down, work, 'stale-other', 'org/other:1', { layers: 1 });
  await skopeoCopy(`docker://${mirror.host}/ghcr.io/org/tool:1`, `dir:${path.join(work, 'stale-1')}`, { src: mirror });
  await down.stop();
  const served = await getManifest(mirror, 'ghcr.io/org/tool', '1');
  assert.equal(served.status, 200);
  assert.equal(served.digest, image.manifest.digest);
  assert.ok(served.ms < 1000 + 1000, `served in ${served.ms} ms`);
  // The whole image keeps coming from the cache.
  await skopeoCopy(`docker://${mirror.host}/ghcr.io/org/tool:1`, `dir:${path.join(work, 'stale-2')}`, { src: mirror });
  const uncached = await skopeo(['inspect', '--tls-verify=false', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${mirror.host}/ghcr.io/org/other:1`], { allowFailure: true });
  assert.notEqual(uncached.code, 0);
  assert.match(uncached.stderr, /ghcr\.io\/org\/other:1 is not cached, and no upstream of ghcr\.io could provide it/);
  assert.match(await mirror.logs(), /"source":"ghcr.io".*serving the cached manifest \(stale\)/);
  assert.match(await mirror.running.server.metrics.registry.metrics(), /berth_mirror_stale_serves_total\{source="ghcr.io",reason="(unreachable|breaker-open)"\} [1-9]/);
});

test('tags: served from the cache for tagTtl, then re-checked with one HEAD and fetched anew when moved; immutable tags are never re-checked', async () => {
  const first = await seedImage(k8s, work, 'tags-a', 'tags/app:latest', { layers: 1 });
  await skopeoCopy(`oci:${path.join(work, 'layouts', 'tags-a')}:image`, `docker://${k8s.host}/tags/app:v1.0`, { dest: k8s, extra: ['--preserve-digests'] });
  const heads = (tag: string): number => k8sProxy.requests.filter((r) => r.method === 'HEAD' && r.path === `/v2/tags/app/manifests/${tag}`).length;
  assert.equal((await getManifest(mirror, 'quay.io/tags/app', 'latest')).digest, first.manifest.digest);
  assert.equal((await getManifest(mirror, 'quay.io/tags/app', 'v1.0')).digest, first.manifest.digest);
  const [latestHeads, immutableHeads] = [heads('latest'), heads('v1.0')];
  // Both tags move upstream.
  const second = await seedImage(k8s, work, 'tags-b', 'tags/app:latest', { layers: 1 });
  await skopeoCopy(`oci:${path.join(work, 'layouts', 'tags-b')}:image`, `docker://${k8s.host}/tags/app:v1.0`, { dest: k8s, extra: ['--preserve-digests'] });
  assert.equal((await getManifest(mirror, 'quay.io/tags/app', 'latest')).digest, first.manifest.digest, 'within tagTtl the cached tag is served');
  assert.equal(heads('latest'), latestHeads, 'without asking upstream');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await getManifest(mirror, 'quay.io/tags/app', 'latest')).digest, second.manifest.digest, 'after tagTtl the moved tag is fetched');
  assert.equal(heads('latest'), latestHeads + 1, 'one HEAD re-checked it');
  assert.equal((await getManifest(mirror, 'quay.io/tags/app', 'v1.0')).digest, first.manifest.digest, 'an immutable tag keeps its cached manifest');
  assert.equal(heads('v1.0'), immutableHeads, 'and is never re-checked');
});

test('upstream hung (accepts, never answers): the next upstream is used after the timeout', async () => {
  const image = await seedImage(hub, work, 'hung', 'hung/app:1', { layers: 1 });
  const seeded = (await upstreamRequests(hub)).length;
  const started = Date.now();
  await skopeoCopy(`docker://${mirror.host}/gcr.io/hung/app:1`, `dir:${path.join(work, 'hung-copy')}`, { src: mirror });
  const elapsed = Date.now() - started;
  assert.ok(hung.connections() >= 1, 'the hung upstream was tried first');
  assert.ok(elapsed >= 1000, `the pull waited for the timeout (${elapsed} ms)`);
  assert.ok(elapsed < 15_000, `and not much longer (${elapsed} ms)`);
  const requests = (await upstreamRequests(hub)).slice(seeded);
  for (const digest of blobDigests(image)) assert.equal(blobGets(requests, digest), 1, `${digest} came from the second upstream`);
});

test('offline: cached content is served, nothing else, and no upstream is asked', async () => {
  await seedImage(hub, work, 'offline-cached', 'library/cached:1', { layers: 1 });
  await seedImage(hub, work, 'offline-fresh', 'library/fresh:1', { layers: 1 });
  await skopeoCopy(`docker://${mirror.host}/docker.io/library/cached:1`, `dir:${path.join(work, 'offline-warm')}`, { src: mirror });
  const offline = await startBerth({ dataDir: mirror.dataDir, config: { mirrors: mirrorSettings([{ source: 'docker.io', upstreams: [`http://${hub.host}`], offline: true }]) } });
  try {
    const before = (await upstreamRequests(hub)).length;
    await skopeoCopy(`docker://${offline.host}/docker.io/library/cached:1`, `dir:${path.join(work, 'offline-copy')}`, { src: offline });
    const missing = await skopeo(['inspect', '--tls-verify=false', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${offline.host}/docker.io/library/fresh:1`], { allowFailure: true });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not cached, and the mirror of docker\.io is offline/);
    const viaNs = await getManifest(offline, 'library/fresh', '1', '?ns=docker.io');
    assert.equal(viaNs.status, 404);
    assert.match(viaNs.body, /offline/);
    assert.equal((await upstreamRequests(hub)).length, before, 'the upstream saw no request');
  } finally {
    await offline.stop();
  }
});

test('pushes under a mirrored prefix are refused; ?ns= names the mirrored repository; prefetch warms the mirror; registry images marks mirrored images; metrics count', async () => {
  const pushed = await seedImage(hub, work, 'refused', 'library/refused:1', { layers: 1 });
  const refused = await skopeoCopy(`oci:${path.join(work, 'layouts', 'refused')}:image`, `docker://${mirror.host}/docker.io/library/refused:2`, { dest: mirror, allowFailure: true });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /denied: docker\.io\/library\/refused is a pull-through mirror of docker\.io: pushes are refused/);

  // containerd's form (hosts.toml mirror): the repository without the prefix, the source in ?ns=.
  const viaNs = await getManifest(mirror, 'library/refused', '1', '?ns=docker.io');
  assert.equal(viaNs.status, 200);
  assert.equal(viaNs.digest, pushed.manifest.digest);
  const manifestGets = (await upstreamRequests(hub)).filter((r) => r.method === 'GET' && r.status === 200 && r.path.startsWith('/v2/library/refused/manifests/')).length;
  assert.equal((await getManifest(mirror, 'docker.io/library/refused', '1')).digest, pushed.manifest.digest, 'the same repository under its prefix');
  assert.equal((await upstreamRequests(hub)).filter((r) => r.method === 'GET' && r.status === 200 && r.path.startsWith('/v2/library/refused/manifests/')).length, manifestGets);

  const prefetched = await seedImage(k8s, work, 'prefetch', 'pre/app:1', { layers: 2 });
  const home = await cliSandbox();
  await writeLogins(home.authFile, { [mirror.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const run = await home.berth(['registry', 'mirror', 'prefetch', '-n', mirror.host, 'registry.k8s.io/pre/app:1']);
  assert.match(run.stdout, new RegExp(`Prefetched: ${mirror.host}/registry.k8s.io/pre/app:1 ${prefetched.manifest.digest} \\(3 blob\\(s\\)`));
  const seen = await upstreamRequests(k8s);
  for (const digest of blobDigests(prefetched)) assert.equal(blobGets(seen, digest), 1, `${digest} was fetched by the prefetch`);
  await skopeoCopy(`docker://${mirror.host}/registry.k8s.io/pre/app:1`, `dir:${path.join(work, 'prefetched')}`, { src: mirror });
  for (const digest of blobDigests(prefetched)) assert.equal(blobGets(await upstreamRequests(k8s), digest), 1, `${digest} came from the mirror afterwards`);

  const listing = await home.berth(['registry', 'images', '-n', mirror.host, '--filter', 'name=registry.k8s.io/pre/*']);
  assert.match(listing.stdout, /\| RegistryName +\| ImageName +\| Tag +\| ImageID +\| Mirror +\|/);
  assert.match(listing.stdout, new RegExp(`\\| registry.k8s.io/pre/app +\\| 1 +\\| ${prefetched.config.digest.slice(7, 19)} +\\| registry.k8s.io +\\|`));

  const metrics = await mirror.running.server.metrics.registry.metrics();
  assert.match(metrics, /berth_mirror_misses_total\{source="registry.k8s.io",kind="blob"\} [1-9]/);
  assert.match(metrics, /berth_mirror_hits_total\{source="registry.k8s.io",kind="blob"\} [1-9]/);
  assert.match(metrics, /berth_mirror_upstream_bytes_total\{source="registry.k8s.io",upstream="http:\/\/127.0.0.1:\d+"\} [1-9]/);
});

test('access control with ?ns=: rights are those of the mirrored repository, not of the name in the path', async () => {
  await seedImage(hub, work, 'ns-rights', 'library/guarded:1', { layers: 1 });
  const htpasswd = path.join(work, 'ns-htpasswd');
  await writeHtpasswd(htpasswd, { nodes: 'nodes-pw-1', locals: 'locals-pw-2' });
  // nodes may pull what is mirrored from docker.io; locals may pull the registry's own library/.
  const parsed = readRegistryConfigDocument({
    mirrors: [{ source: 'docker.io', upstreams: [`http://${hub.host}`] }],
    accessControl: {
      repositories: {
        'docker.io/**': { rules: [{ users: ['nodes'], actions: ['pull'] }] },
        'library/**': { rules: [{ users: ['locals'], actions: ['pull'] }] },
      },
    },
  });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  const guarded = await startBerth({ htpasswd, config: parsed.values });
  try {
    const get = (user: string, password: string): Promise<Response> =>
      fetch(`${guarded.url}/v2/library/guarded/manifests/1?ns=docker.io`, {
        headers: { authorization: basicAuth(user, password), accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
    const locals = await get('locals', 'locals-pw-2');
    assert.equal(locals.status, 403, 'pull on library/** does not reach docker.io/library/guarded');
    assert.match(await locals.text(), /pull on docker\.io\/library\/guarded/);
    const nodes = await get('nodes', 'nodes-pw-1');
    assert.equal(nodes.status, 200, await nodes.text());
  } finally {
    await guarded.stop();
  }
});

test("registry:2's proxy section works as is: the whole registry mirrors remoteurl (Basic auth, which distribution 2.8 cannot proxy), pushes refused", async () => {
  const image = await seedImage(k8s, work, 'proxy-form', 'proxied/app:1', { layers: 1 });
  const config = path.join(work, 'proxy-config.yml');
  await writeFile(config, `version: 0.1\nlog:\n  level: info\nproxy:\n  remoteurl: http://${k8s.host}\n  username: ${TEST_USER}\n  password: ${TEST_PASSWORD}\n`);
  const proxied = await startBerthProcess(['--config', config]);
  try {
    const seeded = (await upstreamRequests(k8s)).length;
    await skopeoCopy(`docker://${proxied.host}/proxied/app:1`, `dir:${path.join(work, 'proxied')}`, { src: proxied });
    const requests = (await upstreamRequests(k8s)).slice(seeded);
    for (const digest of blobDigests(image)) assert.equal(blobGets(requests, digest), 1);
    const refused = await skopeoCopy(`oci:${path.join(work, 'layouts', 'proxy-form')}:image`, `docker://${proxied.host}/pushed/app:1`, { dest: proxied, allowFailure: true });
    assert.match(refused.stderr, /pushes are refused/);
  } finally {
    await proxied.stop();
  }
  // Fetches are single-flight within one process: several workers are refused, in one line.
  const workers = await run(process.execPath, [BERTH_BIN, 'registry', 'serve', '--config', config, '--addr', '127.0.0.1:0', '--data-dir', path.join(work, 'proxy-workers'), '--workers', '2'], { allowFailure: true });
  assert.match(oneErrorLine(workers), /--workers 2 with a pull-through mirror is not implemented/);
});

test('retention evicts mirrored content unused for its period, and leaves pushed repositories exactly as they were', async () => {
  const dataDir = path.join(await scratchDir('mirror-retention-'), 'data');
  const retained = await startBerth({ dataDir, config: { mirrors: mirrorSettings([{ source: 'docker.io', upstreams: [`http://${hub.host}`], retention: '2s' }]) } });
  try {
    // Pushed first, so it is as old and as unused as anything mirrored.
    const shared = await seedImage(hub, work, 'retention-shared', 'library/shared:1', { layers: 1 });
    await skopeoCopy(`oci:${path.join(work, 'layouts', 'retention-shared')}:image`, `docker://${retained.host}/team/app:1`, { dest: retained, extra: ['--preserve-digests'] });
    const orphan = Buffer.from('a blob pushed without a manifest');
    const upload = await fetch(`${retained.url}/v2/team/app/blobs/uploads/?digest=${sha256(orphan)}`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/octet-stream' }, body: orphan });
    assert.equal(upload.status, 201);
    const only = await seedImage(hub, work, 'retention-only', 'library/only:1', { layers: 1 });
    await skopeoCopy(`docker://${retained.host}/docker.io/library/shared:1`, `dir:${path.join(work, 'retention-a')}`, { src: retained });
    await skopeoCopy(`docker://${retained.host}/docker.io/library/only:1`, `dir:${path.join(work, 'retention-b')}`, { src: retained });
    assert.ok((await storedBlobs(dataDir)).has(only.layers[0]!.digest));

    const onlyDigests = [...blobDigests(only), only.manifest.digest];
    const deadline = Date.now() + 20_000;
    const anyLeft = async (): Promise<boolean> => {
      const present = await storedBlobs(dataDir);
      return onlyDigests.some((digest) => present.has(digest));
    };
    while ((await anyLeft()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    const blobs = await storedBlobs(dataDir);
    for (const digest of onlyDigests) assert.ok(!blobs.has(digest), `mirrored-only ${digest} was freed`);
    for (const digest of [...blobDigests(shared), shared.manifest.digest, sha256(orphan)]) assert.ok(blobs.has(digest), `${digest} of the pushed repository stays`);
    assert.equal((await getManifest(retained, 'team/app', '1')).digest, shared.manifest.digest);
    const layers = await readdir(path.join(dataDir, 'docker/registry/v2/repositories/team/app/_layers/sha256'));
    assert.deepEqual(layers.sort(), [...blobDigests(shared), sha256(orphan)].map((d) => d.slice(7)).sort(), 'every layer link of the pushed repository stays');
    assert.deepEqual(await readdir(path.join(dataDir, 'docker/registry/v2/repositories/docker.io/library/only/_manifests/revisions/sha256')), [], 'the mirrored revision was evicted');
    // Counted once the pass that evicted it (and collected) is over.
    const evicted = await waitFor('the eviction metric', async () => {
      const text = await retained.running.server.metrics.registry.metrics();
      return /berth_mirror_evicted_manifests_total\{source="docker.io"\} [1-9]/.test(text) ? true : undefined;
    });
    assert.ok(evicted);
  } finally {
    await retained.stop();
  }
});

