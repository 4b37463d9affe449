// The existence probe against small fake registries on 127.0.0.1: 404 is "absent",
// 200 is "present" only with the pinned digest, 5xx / timeouts / refused connections
// are failures (never "absent"), Basic and Bearer challenges are answered, the time
// bound holds, and TLS is verified unless the registry is marked insecure.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { freePort } from '../support/net.js';
import { normalise, candidatesFor, type Candidate } from '../../src/shim/candidates.js';
import { parseShimConfig } from '../../src/shim/config.js';
import { Prober } from '../../src/shim/probe.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const OTHER = `sha256:${'d'.repeat(64)}`;

// A self-signed certificate for 127.0.0.1 (EC P-256, valid until 2126), only for this test.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgDzEMS+eUf8mGeY1g
nBQbkrj1eedHtbUMlJ3U1lXxpd6hRANCAASXwvoCUHKz+gMtmjb0v94sVMm3aXkS
F81y4nJGShgqodu69VYLF9/mhoVL+2PfE8poRzZjjJt7nqEs5qkWHJho
-----END PRIVATE KEY-----`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIUF/OvXyv6xEyT4thGY49mE+XCiNAwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEzMDIyMTM1OFoYDzIxMjYxMTA2
MjIxMzU4WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASXwvoCUHKz+gMtmjb0v94sVMm3aXkSF81y4nJGShgqodu69VYLF9/m
hoVL+2PfE8poRzZjjJt7nqEs5qkWHJhoo2QwYjAdBgNVHQ4EFgQUH5a8lGo7ppdc
OLoy+J4g1Vlk+xYwHwYDVR0jBBgwFoAUH5a8lGo7ppdcOLoy+J4g1Vlk+xYwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0cAMEQC
IG6Sx/VaDwYEv1Ztsv//ac/6U4Wgx/fEKASsSwV64PhNAiAnV4/q+LGlvvL0eW/i
FBjyyZzZx/CawguIMKmg9eJbCw==
-----END CERTIFICATE-----`;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Fake {
  readonly url: string;
  readonly host: string;
  readonly requests: Array<{ method: string; path: string; authorization: string | undefined }>;
}

const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function fake(handler: Handler, tls = false): Promise<Fake> {
  const requests: Fake['requests'] = [];
  const wrapped: Handler = (req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  };
  const server = tls ? createHttpsServer({ key: TLS_KEY, cert: TLS_CERT }, wrapped) : createHttpServer(wrapped);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${tls ? 'https' : 'http'}://${host}`, host, requests };
}

function candidate(address: string, image: string, extra = ''): { prober: Prober; candidate: Candidate } {
  const parsed = parseShimConfig(`address: ${address}\n${extra}`);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  const n = normalise(image);
  assert.ok(n.ok);
  const prober = new Prober(parsed.config.registries, { timeoutMs: parsed.config.probeTimeoutMs, userAgent: 'test' });
  after(() => prober.close());
  return { prober, candidate: candidatesFor(n.reference, parsed.config.registries).candidates[0]! };
}

const manifest = (digest: string): Handler => (_req, res) => {
  res.writeHead(200, { 'docker-content-digest': digest, 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '123' }).end();
};

test('HEAD of the manifest: 200 is present with its digest, 404 is absent', async () => {
  const present = await fake(manifest(DIGEST));
  const a = candidate(present.url, 'nginx:1.25');
  assert.deepEqual((await a.prober.probe(a.candidate)).outcome, { kind: 'present', digest: DIGEST });
  assert.deepEqual(present.requests.map((r) => `${r.method} ${r.path}`), ['HEAD /v2/library/nginx/manifests/1.25']);

  const absent = await fake((_req, res) => res.writeHead(404).end());
  const b = candidate(absent.url, 'nginx:1.25');
  assert.deepEqual((await b.prober.probe(b.candidate)).outcome, { kind: 'absent' });
});

test('a digest reference matches only that digest', async () => {
  const registry = await fake(manifest(OTHER));
  const a = candidate(registry.url, `nginx@${DIGEST}`);
  assert.deepEqual((await a.prober.probe(a.candidate)).outcome, { kind: 'mismatch', digest: OTHER });
  assert.equal(registry.requests[0]!.path, `/v2/library/nginx/manifests/${DIGEST}`, 'asked by digest, never by tag');
  const same = await fake(manifest(DIGEST));
  const b = candidate(same.url, `nginx:1.25@${DIGEST}`);
  assert.deepEqual((await b.prober.probe(b.candidate)).outcome, { kind: 'present', digest: DIGEST });
});

test('5xx, refused connections and timeouts are failures that feed the breaker, never "absent"', async () => {
  const broken = await fake((_req, res) => res.writeHead(503).end());
  const a = candidate(broken.url, 'nginx');
  const outcome = (await a.prober.probe(a.candidate)).outcome;
  assert.equal(outcome.kind, 'error');
  assert.ok(outcome.kind === 'error' && outcome.unreachable);
  assert.equal(broken.requests.length, 1, 'one attempt: no retries inside a probe');

  const closed = await freePort();
  const b = candidate(`http://127.0.0.1:${closed}`, 'nginx');
  const refused = (await b.prober.probe(b.candidate)).outcome;
  assert.ok(refused.kind === 'error' && refused.unreachable, JSON.stringify(refused));
  assert.match(refused.kind === 'error' ? refused.message : '', /ECONNREFUSED/);

  const hung = await fake(() => undefined);
  const c = candidate(hung.url, 'nginx', 'probeTimeout: 300ms');
  const started = Date.now();
  const result = await c.prober.probe(c.candidate);
  const elapsed = Date.now() - started;
  assert.ok(result.outcome.kind === 'error' && result.outcome.unreachable, JSON.stringify(result.outcome));
  assert.ok(elapsed >= 280 && elapsed < 1000, `the probe took ${elapsed} ms for a 300 ms bound`);
});

test('Basic challenge: credentials of that registry are sent; wrong ones are an error, not "absent"', async () => {
  const expected = `Basic ${Buffer.from('admin:p:w').toString('base64')}`;
  const registry = await fake((req, res) => {
    if (req.headers.authorization !== expected) res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
    else manifest(DIGEST)(req, res);
  });
  const a = candidate(registry.url, 'nginx', 'auth: admin:p:w');
  assert.deepEqual((await a.prober.probe(a.candidate)).outcome, { kind: 'present', digest: DIGEST });
  assert.deepEqual(registry.requests.map((r) => r.authorization), [undefined, expected]);
  const b = candidate(registry.url, 'nginx', 'auth: admin:wrong');
  const denied = (await b.prober.probe(b.candidate)).outcome;
  assert.ok(denied.kind === 'error' && !denied.unreachable, JSON.stringify(denied));
  assert.ok(denied.kind === 'error' && !denied.message.includes('wrong'), 'no password in the message');
});

test('Bearer challenge: a token from the realm, with the pull scope', async () => {
  let tokenRequest = '';
  const registry = await fake((req, res) => {
    if (req.url?.startsWith('/token')) {
      tokenRequest = req.url;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok-123', expires_in: 300 }));
    } else if (req.headers.authorization !== 'Bearer tok-123') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="fake"` }).end();
    } else manifest(DIGEST)(req, res);
  });
  const a = candidate(registry.url, 'quay.io/org/app:2');
  assert.deepEqual((await a.prober.probe(a.candidate)).outcome, { kind: 'present', digest: DIGEST });
  assert.match(decodeURIComponent(tokenRequest), /scope=repository:org\/app:pull/);
  assert.match(tokenRequest, /service=fake/);
});

test('path prefix and prefixSourceRegistry reach the registry as repository paths', async () => {
  const registry = await fake(manifest(DIGEST));
  const a = candidate(`${registry.url}/project`, 'registry.k8s.io/pause:3.9', 'prefixSourceRegistry: true');
  await a.prober.probe(a.candidate);
  assert.equal(registry.requests[0]!.path, '/v2/project/registry.k8s.io/pause/manifests/3.9');
});

test('TLS is verified, unless the registry is marked insecure', async () => {
  const registry = await fake(manifest(DIGEST), true);
  const verified = candidate(registry.url, 'nginx');
  const refused = (await verified.prober.probe(verified.candidate)).outcome;
  assert.equal(refused.kind, 'error');
  assert.ok(refused.kind === 'error' && !refused.unreachable, 'a certificate problem is a config problem, not a dead registry');
  assert.match(refused.kind === 'error' ? refused.message : '', /certificate/i);
  const insecure = candidate(registry.url, 'nginx', 'insecure: true');
  assert.deepEqual((await insecure.prober.probe(insecure.candidate)).outcome, { kind: 'present', digest: DIGEST });
});
