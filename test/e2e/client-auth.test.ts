// The registry client against real servers for what client-registry does not cover:
// Bearer token auth (docker-registry 2.8 with `auth.token`, and the token issuer of
// support/token-issuer.ts that signs RS256 JWTs with a key and certificate made by openssl): an anonymous
// pull token and a credentialed push token; retries with backoff on 5xx and reset
// connections (a flaky proxy); TLS with a custom CA (docker-registry with http.tls); and
// plain HTTP by default for loopback registries.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { copyImage } from '../../src/client/copy-image.js';
import { resolveEndpoint } from '../../src/client/endpoint.js';
import { RegistryRequestError, UnauthorizedError } from '../../src/client/errors.js';
import { RegistryClient } from '../../src/client/registry-client.js';
import { RegistryRepository } from '../../src/client/registry-repository.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, writeLogins } from '../support/cli-sandbox.js';
import { makePki } from '../support/certs.js';
import { startDistribution } from '../support/distribution.js';
import { startTokenRegistry } from '../support/token-issuer.js';
import { seededBytes, sha256 } from '../support/images.js';
import { freePort } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { startProxy, type Fault } from '../support/proxy.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface TestImage {
  readonly layer: Buffer;
  readonly config: Buffer;
  readonly manifest: Buffer;
}

function testImage(seed: string): TestImage {
  const layer = seededBytes(`${seed}-layer`, 40_000);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, seed }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return { layer, config, manifest };
}

async function pushImage(client: RegistryClient, repository: string, tag: string, image: TestImage): Promise<void> {
  for (const data of [image.layer, image.config]) await client.pushBlob(repository, sha256(data), data.length, () => Readable.from([data]));
  await client.putManifest(repository, tag, image.manifest, OCI_MANIFEST);
}

async function pullImage(client: RegistryClient, repository: string, tag: string, image: TestImage): Promise<void> {
  const manifest = await client.getManifest(repository, tag);
  assert.equal(manifest?.digest, sha256(image.manifest));
  for (const data of [image.layer, image.config]) {
    const { stream } = await client.getBlob(repository, sha256(data));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(data));
  }
}

let work: string;
let berthRegistry: TestRegistry;

before(async () => {
  work = await scratchDir('client-auth-');
  berthRegistry = await startBerth();
});

after(async () => {
  await berthRegistry.stop();
  await stopAll();
  await removeScratchDirs();
});

test('Bearer tokens against docker-registry auth.token: credentialed push token, anonymous pull token, refusals', async (t) => {
  const { registry, issuer, stop } = await startTokenRegistry(work);
  t.after(stop);
  const image = testImage('bearer');

  const user = new RegistryClient({ registry: registry.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), retryDelayMs: 10 });
  await user.checkLogin();
  await pushImage(user, 'team/app', 'v1', image);
  assert.deepEqual(await user.catalog(), ['team/app']);
  assert.deepEqual(await user.listTags('team/app'), ['v1']);
  const pushTokens = issuer.requests.filter((r) => r.authorization === 'valid' && r.scopes.includes('repository:team/app:pull,push'));
  assert.ok(pushTokens.length >= 1, 'a push token was asked for with credentials');
  // Tokens are cached per scope: pulling again asks the issuer nothing new.
  const asked = issuer.requests.length;
  await pullImage(user, 'team/app', 'v1', image);
  await pullImage(user, 'team/app', 'v1', image);
  assert.ok(issuer.requests.length - asked <= 1, `${issuer.requests.length - asked} token requests for repeated pulls`);
  user.close();

  const anonymous = new RegistryClient({ registry: registry.host, retryDelayMs: 10 });
  const before = issuer.requests.length;
  await pullImage(anonymous, 'team/app', 'v1', image);
  const anonymousRequests = issuer.requests.slice(before);
  assert.ok(anonymousRequests.length >= 1 && anonymousRequests.every((r) => r.authorization === 'none'), 'the pull used an anonymous token');
  await assert.rejects(pushImage(anonymous, 'team/other', 'v1', testImage('anonymous-push')), UnauthorizedError, 'an anonymous token cannot push');
  await assert.rejects(anonymous.catalog(), UnauthorizedError, 'nor list the catalog');
  // An anonymous token is enough to copy the image out.
  const copied = await copyImage(new RegistryRepository(anonymous, 'team/app'), new RegistryRepository(new RegistryClient({ registry: berthRegistry.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }) }), 'mirror/app'), 'v1', ['v1']);
  assert.equal(copied.digest, sha256(image.manifest));
  anonymous.close();

  const wrong = new RegistryClient({ registry: registry.host, credentials: () => ({ username: TEST_USER, password: 'wrong-password' }), retryDelayMs: 10 });
  await assert.rejects(wrong.getManifest('team/app', 'v1'), (error: unknown) => error instanceof UnauthorizedError && /token service .* refused the credentials/.test(error.message));
  wrong.close();

  // The CLI takes the same path: credentials from the auth file, a token per scope.
  const home = await cliSandbox();
  await writeLogins(home.authFile, { [registry.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const listing = await home.berth(['registry', 'images', '-n', registry.host]);
  assert.match(listing.stdout, new RegExp(`\\| ${registry.host} +\\| team/app +\\| v1 +\\| ${sha256(image.config).slice(7, 19)} \\|`));
});

test('retries with backoff on 5xx and reset connections; gives up after the attempts; no retry on refusal', async (t) => {
  const image = testImage('retry');
  const direct = new RegistryClient({ registry: berthRegistry.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }) });
  await pushImage(direct, 'flaky/app', 'v1', image);
  direct.close();
  const layerPath = `/v2/flaky/app/blobs/${sha256(image.layer)}`;
  const plan = new Map<string, Fault[]>([
    ['GET /v2/flaky/app/manifests/v1', [503, 503]],
    [`GET ${layerPath}`, ['reset']],
    ['HEAD /v2/flaky/app/manifests/v1', ['reset', 502]],
    ['PUT /v2/flaky/app/manifests/v2', [500]],
    ['GET /v2/flaky/app/manifests/broken', [503, 503, 503, 503]],
  ]);
  const proxy = await startProxy(berthRegistry.host, { fault: ({ method, path, seen }) => plan.get(`${method} ${path}`)?.[seen - 1] });
  const client = new RegistryClient({ registry: proxy.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), attempts: 3, retryDelayMs: 100 });
  t.after(async () => {
    client.close();
    await proxy.close();
  });
  const count = (method: string, p: string): number => proxy.requests.filter((r) => r.method === method && r.path === p).length;
  // Learn the auth scheme first, so every request below is counted without a 401 round.
  await client.checkLogin();

  const started = Date.now();
  assert.equal((await client.getManifest('flaky/app', 'v1'))?.digest, sha256(image.manifest));
  assert.ok(Date.now() - started >= 100 + 200, 'backoff: 100 ms, then 200 ms');
  assert.equal(count('GET', '/v2/flaky/app/manifests/v1'), 3);
  await pullImage(client, 'flaky/app', 'v1', image);
  assert.equal(count('GET', layerPath), 2, 'the reset blob GET was repeated');
  assert.equal((await client.headManifest('flaky/app', 'v1'))?.digest, sha256(image.manifest));
  assert.equal(count('HEAD', '/v2/flaky/app/manifests/v1'), 3);
  await client.putManifest('flaky/app', 'v2', image.manifest, OCI_MANIFEST);
  assert.equal(count('PUT', '/v2/flaky/app/manifests/v2'), 2);
  await assert.rejects(client.getManifest('flaky/app', 'broken'), (error: unknown) => error instanceof RegistryRequestError && error.status === 503);
  assert.equal(count('GET', '/v2/flaky/app/manifests/broken'), 3, 'three attempts, then the error');

  const closed = new RegistryClient({ registry: `127.0.0.1:${await freePort()}`, attempts: 3, retryDelayMs: 1000 });
  const refusedAt = Date.now();
  await assert.rejects(closed.checkLogin(), (error: unknown) => (error as NodeJS.ErrnoException).code === 'ECONNREFUSED');
  assert.ok(Date.now() - refusedAt < 900, 'a refused connection is not retried');
  closed.close();
});

test('TLS with a custom CA: trusted with the CA, refused without it, accepted unverified with --insecure', async () => {
  const pki = await makePki(await scratchDir('client-tls-'), 'berth-client-auth');
  const registry = await startDistribution({ user: TEST_USER, password: TEST_PASSWORD, tls: { certificate: pki.serverCert, key: pki.serverKey, ca: pki.caCert } });
  const url = `https://${registry.host}`;
  const ca = await readFile(pki.caCert);
  const image = testImage('tls');
  const trusted = new RegistryClient({ registry: url, tls: { ca }, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }) });
  assert.equal(trusted.endpoint.baseUrl.protocol, 'https:');
  await pushImage(trusted, 'secure/app', 'v1', image);
  await pullImage(trusted, 'secure/app', 'v1', image);
  trusted.close();

  const untrusted = new RegistryClient({ registry: url, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), attempts: 1 });
  await assert.rejects(untrusted.checkLogin(), (error: unknown) => ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN'].includes((error as NodeJS.ErrnoException).code ?? ''));
  untrusted.close();
  const insecure = new RegistryClient({ registry: url, tls: { insecureSkipVerify: true }, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }) });
  await pullImage(insecure, 'secure/app', 'v1', image);
  insecure.close();

  const home = await cliSandbox();
  await writeLogins(home.authFile, { [registry.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const listing = await home.berth(['registry', 'images', '-n', url, '--ca-file', pki.caCert]);
  assert.match(listing.stdout, new RegExp(`\\| ${registry.host} +\\| secure/app +\\| v1 +\\|`));
  const refused = await home.berth(['registry', 'images', '-n', url], { allowFailure: true });
  assert.match(oneErrorLine(refused), /TLS certificate not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\) \(hint: pass its CA with --ca-file, or use --insecure\)/);
  const skipped = await home.berth(['registry', 'images', '-n', url, '--insecure']);
  assert.match(skipped.stdout, /secure\/app/);
  await registry.stop();
});

test('loopback registries are plain HTTP by default; other names are HTTPS', async () => {
  for (const name of ['127.0.0.1:5000', '127.1.2.3:80', 'localhost:5000', 'localhost', '[::1]:5000']) {
    assert.equal(resolveEndpoint(name).baseUrl.protocol, 'http:', name);
  }
  for (const name of ['sealos.hub:5000', '10.0.0.5:5000', 'registry.example.com', 'docker.io']) {
    assert.equal(resolveEndpoint(name).baseUrl.protocol, 'https:', name);
  }
  assert.equal(resolveEndpoint('sealos.hub:5000', { plainHttp: true }).baseUrl.protocol, 'http:');
  assert.equal(resolveEndpoint('https://localhost:5000').baseUrl.protocol, 'https:', 'an explicit scheme wins');
  for (const host of [berthRegistry.host, berthRegistry.host.replace('127.0.0.1', 'localhost')]) {
    const client = new RegistryClient({ registry: host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), attempts: 1 });
    await client.checkLogin();
    assert.equal(client.endpoint.baseUrl.origin, `http://${host}`);
    client.close();
  }
});
