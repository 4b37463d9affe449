// Berth as its own token server (docker's token protocol at /token, ES256 JWTs signed
// with a key it keeps in the storage), driven by the real clients: skopeo, crane,
// docker, podman, ctr (OAuth2 POST first, then GET) and berth login / registry status.
// Then what must not pass: a token for repository A on B, an expired token, a changed
// one, one signed by another key, and fuzzed tokens and Authorization headers (401,
// never a 5xx). And an external issuer trusted through a JWKS, with tokens minted here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { exportJWK } from 'jose';
import { TOKEN_DEFAULTS, type TokenConfig } from '../../src/registry/config.js';
import { createRobot, errorCodes, requestAs, type Caller, type Robot } from '../support/access.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox } from '../support/cli-sandbox.js';
import { startContainerd, type RunningContainerd } from '../support/containerd.js';
import { craneAs } from '../support/crane.js';
import { startDockerd, type RunningDockerd } from '../support/dockerd.js';
import { LayoutWriter, writeImage, type BuiltImage } from '../support/images.js';
import { podmanSandbox, type PodmanSandbox } from '../support/podman.js';
import { stopAll } from '../support/process.js';
import { skopeo } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { fetchToken, mintToken, tokenClaims } from '../support/tokens.js';

const SERVICE = TOKEN_DEFAULTS.service;
const ISSUER = TOKEN_DEFAULTS.issuer;
const admin: Caller = { user: TEST_USER, password: TEST_PASSWORD };
const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

let registry: TestRegistry;
let work: string;
let image: BuiltImage;
let layoutDir: string;
let teamA: Robot;
let dockerd: RunningDockerd | undefined;
let containerd: RunningContainerd | undefined;
let podman: PodmanSandbox | undefined;

const tokenConfig: TokenConfig = { mode: 'issue', realm: undefined, service: SERVICE, issuer: ISSUER, lifetimeMs: 300_000, algorithm: 'ES256' };

before(async () => {
  work = await scratchDir('access-token-');
  // A high failure limit: the fuzz test sends many bad Basic credentials from one address.
  registry = await startBerth({ config: { token: tokenConfig, limits: { maxUploadsPerClient: 256, maxAuthFailures: 1_000_000, authFailureWindowMs: 60_000, authBlockMs: 60_000 } } });
  teamA = await createRobot(registry.dataDir, 'team-a', 'team-a/**', 'pull,push');
  const writer = new LayoutWriter(path.join(work, 'layout'));
  image = await writeImage(writer, { seed: 'token-flow', layers: 2, layerSize: 32 * 1024 });
  writer.tag(image.manifest, 'v1');
  await writer.save();
  layoutDir = writer.dir;
});

after(async () => {
  await dockerd?.stop();
  await containerd?.stop();
  await podman?.cleanup();
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

/** The manifest digest Berth holds for `repository:tag`, read with a token of its own. */
async function digestOf(repository: string, tag: string): Promise<string | null> {
  const token = await fetchToken(registry.url, SERVICE, [`repository:${repository}:pull`], admin);
  const response = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}`, accept: OCI_ACCEPT } });
  return response.status === 200 ? response.headers.get('docker-content-digest') : null;
}

test('the challenge sends clients to /token; the token carries only what was asked and may be had', async () => {
  const challenge = await requestAs(`${registry.url}/v2/token/base/manifests/v1`, undefined);
  assert.equal(challenge.status, 401);
  assert.equal(challenge.headers.get('www-authenticate'), `Bearer realm="${registry.url}/token",service="${SERVICE}",scope="repository:token/base:pull"`);
  const token = await fetchToken(registry.url, SERVICE, ['repository:team-a/app:pull,push', 'repository:team-b/app:pull,push'], { user: teamA.user, password: teamA.secret });
  const claims = tokenClaims(token);
  assert.equal(claims.sub, 'robot$team-a');
  assert.deepEqual(claims.access, [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }], 'team-b is left out');
  assert.ok(claims.exp - Date.now() / 1000 <= 300, 'short-lived');
  const wrong = await fetch(`${registry.url}/token?service=${SERVICE}`, { headers: { authorization: `Basic ${Buffer.from('admin:wrong-password').toString('base64')}` } });
  assert.equal(wrong.status, 401);
});

test('skopeo pushes and pulls through the token flow', async () => {
  await skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', `${admin.user}:${admin.password}`, `oci:${layoutDir}:v1`, `docker://${registry.host}/token/base:v1`]);
  assert.equal(await digestOf('token/base', 'v1'), image.manifest.digest);
  const out = path.join(work, 'skopeo-out');
  await skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', '--src-creds', `${admin.user}:${admin.password}`, `docker://${registry.host}/token/base:v1`, `oci:${out}:v1`]);
  const index = JSON.parse(await readFile(path.join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(index.manifests[0]!.digest, image.manifest.digest);
});

test('crane logs in, reads and copies (mounting across repositories) with tokens', async () => {
  const crane = await craneAs(path.join(work, 'crane'), registry.host, admin);
  assert.equal((await crane.run(['digest', `${registry.host}/token/base:v1`])).stdout.trim(), image.manifest.digest);
  await crane.run(['copy', `${registry.host}/token/base:v1`, `${registry.host}/token/crane:v1`]);
  assert.equal(await digestOf('token/crane', 'v1'), image.manifest.digest);
  assert.match((await crane.run(['catalog', registry.host])).stdout, /token\/crane/);
});

test('docker login, pull, push and pull back against the token realm', async () => {
  dockerd = await startDockerd(path.join(work, 'dockerd'));
  const login = (password: string) => dockerd!.docker(['login', '--username', TEST_USER, '--password-stdin', registry.host], { input: password, allowFailure: true });
  assert.notEqual((await login('wrong-password')).code, 0, 'a wrong password is refused by the token server');
  const ok = await login(TEST_PASSWORD);
  assert.equal(ok.code, 0, ok.stderr);
  await dockerd.docker(['pull', `${registry.host}/token/base:v1`]);
  await dockerd.docker(['tag', `${registry.host}/token/base:v1`, `${registry.host}/token/docker:v1`]);
  const pushed = await dockerd.docker(['push', `${registry.host}/token/docker:v1`]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
  assert.ok(digest, pushed.stdout);
  assert.equal(await digestOf('token/docker', 'v1'), digest);
  await dockerd.docker(['rmi', `${registry.host}/token/docker:v1`, `${registry.host}/token/base:v1`]);
  const back = await dockerd.docker(['pull', `${registry.host}/token/docker:v1`]);
  assert.match(back.stdout, new RegExp(`Digest: ${digest}`));
});

test('podman logs in, pulls and pushes with tokens', async () => {
  podman = await podmanSandbox(path.join(work, 'podman'));
  await podman.podman(['login', '--tls-verify=false', '--username', TEST_USER, '--password-stdin', registry.host], { input: TEST_PASSWORD });
  await podman.podman(['pull', '--tls-verify=false', `${registry.host}/token/base:v1`]);
  await podman.podman(['tag', `${registry.host}/token/base:v1`, `${registry.host}/token/podman:v1`]);
  const digestFile = path.join(work, 'podman.digest');
  await podman.podman(['push', '--tls-verify=false', '--digestfile', digestFile, `${registry.host}/token/podman:v1`]);
  assert.equal(await digestOf('token/podman', 'v1'), (await readFile(digestFile, 'utf8')).trim());
});

test('ctr pulls and pushes with --user (OAuth2 POST to /token, as containerd asks)', async () => {
  containerd = await startContainerd(path.join(work, 'containerd'));
  const creds = `${TEST_USER}:${TEST_PASSWORD}`;
  await containerd.ctr(['images', 'pull', '--plain-http', '--user', creds, `${registry.host}/token/base:v1`]);
  await containerd.ctr(['images', 'tag', `${registry.host}/token/base:v1`, `${registry.host}/token/ctr:v1`]);
  await containerd.ctr(['images', 'push', '--plain-http', '--user', creds, `${registry.host}/token/ctr:v1`]);
  assert.equal(await digestOf('token/ctr', 'v1'), image.manifest.digest);
  assert.match(await registry.logs(), /"method":"POST","path":"\/token","status":200/, 'containerd used the OAuth2 POST');
});

test('berth login works against the token realm; registry status shows what the saved credentials may do', async () => {
  const cli = await cliSandbox();
  const wrong = await cli.berth(['login', '-u', TEST_USER, '--password-stdin', registry.host], { input: 'wrong-password', allowFailure: true });
  assert.notEqual(wrong.code, 0);
  assert.match((await cli.berth(['login', '-u', TEST_USER, '--password-stdin', registry.host], { input: TEST_PASSWORD })).stdout, /Login Succeeded/);
  const admins = JSON.parse((await cli.berth(['registry', 'status', '--json'])).stdout) as Array<{ Healthy: string; Actions: string }>;
  assert.deepEqual(admins.map((row) => [row.Healthy, row.Actions]), [['ok', 'pull,push,delete,overwrite on **']]);

  const robotCli = await cliSandbox();
  await robotCli.berth(['login', '-u', teamA.user, '--password-stdin', registry.host], { input: teamA.secret });
  const table = (await robotCli.berth(['registry', 'status'])).stdout;
  assert.match(table, /\| ok +\| pull,push on team-a\/\*\* +\|/);
  assert.ok(!table.includes(teamA.secret));
  await robotCli.berth(['pull', `${registry.host}/token/base:v1`], { allowFailure: true }).then((pull) => assert.notEqual(pull.code, 0, 'the robot cannot pull outside team-a'));
});

test('a token for repository A is refused on B; expired, changed and foreign tokens are refused', async () => {
  const robot = { user: teamA.user, password: teamA.secret };
  const forA = await fetchToken(registry.url, SERVICE, ['repository:team-a/app:pull,push'], robot);
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  assert.equal((await requestAs(`${registry.url}/v2/team-a/app/tags/list`, undefined, bearer(forA))).status, 404, 'A: allowed (nothing there yet)');
  const onB = await requestAs(`${registry.url}/v2/team-b/app/tags/list`, undefined, bearer(forA));
  assert.equal(onB.status, 403, 'the robot may never reach B');
  assert.deepEqual(errorCodes(onB.body), ['DENIED']);

  const adminForA = await fetchToken(registry.url, SERVICE, ['repository:team-a/app:pull'], admin);
  const adminOnB = await requestAs(`${registry.url}/v2/token/base/manifests/v1`, undefined, bearer(adminForA));
  assert.equal(adminOnB.status, 401, 'the admin may have B, with another token');
  assert.equal(adminOnB.headers.get('www-authenticate'), `Bearer realm="${registry.url}/token",service="${SERVICE}",scope="repository:token/base:pull",error="insufficient_scope"`);

  const ownKey = createPrivateKey(await readFile(path.join(registry.dataDir, 'docker/registry/v2/_berth/token-key-es256.pem')));
  const claims = { issuer: ISSUER, audience: SERVICE, subject: TEST_USER, access: [{ type: 'repository', name: 'token/base', actions: ['pull'] }] };
  const url = `${registry.url}/v2/token/base/manifests/v1`;
  assert.equal((await requestAs(url, undefined, bearer(await mintToken(ownKey, claims)))).status, 200, 'the registry\'s own key, in date: accepted');
  const expired = await requestAs(url, undefined, bearer(await mintToken(ownKey, { ...claims, expiresIn: -600 })));
  assert.equal(expired.status, 401);
  assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  assert.equal((await requestAs(url, undefined, bearer(await mintToken(foreign, claims)))).status, 401, 'another key');
  const [header, , signature] = adminForA.split('.') as [string, string, string];
  const changed = `${header}.${Buffer.from(JSON.stringify({ ...tokenClaims(adminForA), access: claims.access })).toString('base64url')}.${signature}`;
  assert.equal((await requestAs(url, undefined, bearer(changed))).status, 401, 'a changed claim');
  assert.equal((await requestAs(url, undefined, bearer(await mintToken(ownKey, { ...claims, audience: 'another-registry' })))).status, 401, 'another audience');
  const keyFile = await readFile(path.join(registry.dataDir, 'docker/registry/v2/_berth/token-key-es256.pem'), 'utf8');
  assert.ok(!(await registry.logs()).includes(keyFile.split('\n')[1]!), 'the private key is in no log');
});

test('fuzzed tokens and Authorization headers get 401, never a 5xx', { timeout: 300_000 }, async () => {
  const segment = fc.oneof(fc.base64String({ maxLength: 200 }).map((s) => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')), fc.json().map((j) => Buffer.from(j).toString('base64url')));
  const header = fc.oneof(
    fc.record({ alg: fc.constantFrom('none', 'HS256', 'ES256', 'RS256', 'EdDSA', 'x'), kid: fc.option(fc.string()), x5c: fc.option(fc.array(fc.base64String({ maxLength: 64 }))) }).map((h) => Buffer.from(JSON.stringify(h)).toString('base64url')),
    segment,
  );
  const jwtLike = fc.tuple(header, segment, segment).map(([h, p, s]) => `${h}.${p}.${s}`);
  const authorization = fc.oneof(
    jwtLike.map((t) => `Bearer ${t}`),
    fc.string({ maxLength: 300 }).map((t) => `Bearer ${t}`),
    fc.string({ maxLength: 100 }).map((t) => `Basic ${Buffer.from(t).toString('base64')}`),
    fc.string({ maxLength: 100 }),
    fc.constantFrom('Bearer', 'Bearer ', 'Basic', 'Basic !!!', 'Negotiate abc', 'bearer a.b.c', 'Bearer a.b', 'Bearer ....'),
  );
  const target = fc.constantFrom('/v2/', '/v2/token/base/manifests/v1', '/v2/_catalog', '/v2/team-a/app/blobs/uploads/', '/berth/v1/access');
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(authorization, target, async (value, pathname) => {
      // Header values must be visible ASCII for HTTP; anything else is not a request a client can send.
      if (!/^[\x20-\x7e]*$/.test(value) || value.trim() === '' || /^Basic\s+Og==\s*$/i.test(value)) return;
      const response = await fetch(`${registry.url}${pathname}`, { method: pathname.endsWith('/uploads/') ? 'POST' : 'GET', headers: { authorization: value } });
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      assert.equal(response.status, 401, `${pathname} with ${JSON.stringify(value.slice(0, 80))} -> ${response.status}`);
    }),
    { numRuns: Number(process.env['BERTH_FUZZ_RUNS'] ?? 3000) / 6 },
  );
  assert.ok((statuses.get(401) ?? 0) > 100, `enough requests were sent: ${JSON.stringify([...statuses])}`);
});

test('an external issuer trusted through a JWKS: tokens minted here work as far as they grant, and no further', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwksFile = path.join(work, 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'test-issuer-1', alg: 'ES256', use: 'sig' }] }));
  const external = await startBerth({
    config: {
      token: { mode: 'trust', realm: 'https://auth.example.invalid/token', realmPath: '/token', service: 'ext-registry', issuer: 'test-issuer', rootCertBundle: undefined, jwks: jwksFile, algorithms: undefined },
    },
  });
  try {
    const mint = (access: Array<{ type: string; name: string; actions: string[] }>, key = privateKey) =>
      mintToken(key, { issuer: 'test-issuer', audience: 'ext-registry', subject: 'ci', access, kid: 'test-issuer-1' });
    const pushToken = await mint([{ type: 'repository', name: 'ext/app', actions: ['pull', 'push'] }]);
    await skopeo(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-registry-token', pushToken, `oci:${layoutDir}:v1`, `docker://${external.host}/ext/app:v1`]);
    const inspected = await skopeo(['inspect', '--tls-verify=false', '--registry-token', pushToken, `docker://${external.host}/ext/app:v1`]);
    assert.equal((JSON.parse(inspected.stdout) as { Digest: string }).Digest, image.manifest.digest);

    const challenge = await requestAs(`${external.url}/v2/ext/app/manifests/v1`, undefined);
    assert.equal(challenge.headers.get('www-authenticate'), 'Bearer realm="https://auth.example.invalid/token",service="ext-registry",scope="repository:ext/app:pull"');
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    const elsewhere = await requestAs(`${external.url}/v2/ext/other/tags/list`, undefined, bearer(pushToken));
    assert.equal(elsewhere.status, 401, 'a token for ext/app on ext/other');
    assert.match(elsewhere.headers.get('www-authenticate') ?? '', /scope="repository:ext\/other:pull",error="insufficient_scope"/);
    const pullOnly = await mint([{ type: 'repository', name: 'ext/app', actions: ['pull'] }]);
    assert.equal((await requestAs(`${external.url}/v2/ext/app/blobs/uploads/`, undefined, { method: 'POST', ...bearer(pullOnly) })).status, 401, 'pull does not push');
    const foreign = await mint([{ type: 'repository', name: 'ext/app', actions: ['pull'] }], generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    assert.equal((await requestAs(`${external.url}/v2/ext/app/manifests/v1`, undefined, bearer(foreign))).status, 401, 'signed by a key not in the JWKS');
    assert.equal((await requestAs(`${external.url}/v2/`, { user: TEST_USER, password: TEST_PASSWORD })).status, 401, 'no default admin when an external issuer decides');
  } finally {
    await external.stop();
  }
});
