// Bearer token checks: tokens signed by the trusted key with the right issuer, audience
// and time pass; another key, a changed byte, an expired token, `alg: none` and HMAC
// tokens do not. Trust by a root certificate bundle (kid as libtrust key ID, or an x5c
// chain to the root) and by a JWKS. And the scopes a token server grants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT, exportJWK } from 'jose';
import { AccessControl } from '../../src/registry/access/access-control.js';
import { actionSet } from '../../src/registry/access/actions.js';
import { compileGlob } from '../../src/registry/access/glob.js';
import { AccessPolicy } from '../../src/registry/access/policy.js';
import { parseScope } from '../../src/registry/token/scope.js';
import { grantScopes } from '../../src/registry/token/token-endpoint.js';
import { certificateBundleKeys, jwksKeys, libtrustKeyId } from '../../src/registry/token/trust.js';
import { TokenVerifier } from '../../src/registry/token/verifier.js';
import { makePki } from '../support/certs.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

const ISSUER = 'test-issuer';
const SERVICE = 'test-registry';
const ACCESS = [{ type: 'repository', name: 'library/nginx', actions: ['pull'] }];

interface MintOptions {
  readonly alg?: string;
  readonly header?: Record<string, unknown>;
  readonly expiresIn?: number;
  readonly issuer?: string;
  readonly audience?: string;
}

async function mint(key: KeyObject | Uint8Array, options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ access: ACCESS })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', typ: 'JWT', ...options.header })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? SERVICE)
    .setSubject('alice')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 300))
    .sign(key);
}

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { access: Array<{ name: string }> };
  claims.access[0]!.name = 'library/other';
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

test('a token verifier accepts its key and refuses other keys, tampering, expiry, none and HMAC', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const verifier = new TokenVerifier({ issuer: ISSUER, service: SERVICE, keys: publicKey, algorithms: ['ES256'] });
  const good = await mint(privateKey);
  const checked = await verifier.verify(good);
  assert.ok(checked.ok);
  assert.equal(checked.principal, 'alice');
  assert.deepEqual([...checked.grants.repositories], [['library/nginx', actionSet(['pull'])]]);
  assert.ok((await verifier.verify(good)).ok, 'and again, from the cache');

  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${good.split('.')[1]}.`;
  const refused: Array<[string, string]> = [
    [await mint(other), 'another key'],
    [tamper(good), 'a changed claim'],
    [await mint(privateKey, { expiresIn: -120 }), 'expired beyond the leeway'],
    [await mint(privateKey, { issuer: 'someone-else' }), 'another issuer'],
    [await mint(privateKey, { audience: 'another-registry' }), 'another audience'],
    [unsigned, 'alg none'],
    [await mint(new TextEncoder().encode('a-shared-secret-a-shared-secret!'), { alg: 'HS256' }), 'an HMAC token'],
    ['not.a.token', 'garbage'],
  ];
  for (const [token, what] of refused) assert.equal((await verifier.verify(token)).ok, false, what);
});

test('a root certificate bundle: kid (libtrust ID) of a root, or an x5c chain that ends at a root', async (t) => {
  t.after(removeScratchDirs);
  const trusted = await makePki(await scratchDir('token-pki-'), 'issuer');
  const stranger = await makePki(await scratchDir('token-pki-other-'), 'stranger');
  const bundle = await readFile(trusted.caCert, 'utf8');
  const verifier = new TokenVerifier({ issuer: ISSUER, service: SERVICE, keys: await certificateBundleKeys(bundle), algorithms: ['RS256'] });
  const caKey = createPrivateKey(await readFile(path.join(trusted.dir, 'ca.key')));
  const caId = libtrustKeyId(new X509Certificate(bundle).publicKey);
  assert.match(caId, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  assert.ok((await verifier.verify(await mint(caKey, { alg: 'RS256', header: { kid: caId } }))).ok, 'kid of the root');

  const leafDer = (file: string): Promise<string> => readFile(file, 'utf8').then((pem) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''));
  const serverKey = createPrivateKey(await readFile(trusted.serverKey));
  assert.ok((await verifier.verify(await mint(serverKey, { alg: 'RS256', header: { x5c: [await leafDer(trusted.serverCert)] } }))).ok, 'x5c: a leaf the root signed');

  const strangerKey = createPrivateKey(await readFile(stranger.serverKey));
  const strangerCaKey = createPrivateKey(await readFile(path.join(stranger.dir, 'ca.key')));
  assert.equal((await verifier.verify(await mint(strangerKey, { alg: 'RS256', header: { x5c: [await leafDer(stranger.serverCert)] } }))).ok, false, 'x5c of another root');
  assert.equal((await verifier.verify(await mint(strangerCaKey, { alg: 'RS256', header: { kid: caId } }))).ok, false, 'the right kid, the wrong key');
  assert.equal((await verifier.verify(await mint(serverKey, { alg: 'RS256', header: { x5c: [await leafDer(stranger.serverCert)] } }))).ok, false, 'a chain not of the signing key');
});

test('a JWKS: the key named by kid verifies, an unknown kid does not', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'issuer-key-1', alg: 'ES256', use: 'sig' };
  const verifier = new TokenVerifier({ issuer: ISSUER, service: SERVICE, keys: jwksKeys({ keys: [jwk] }), algorithms: ['ES256', 'RS256'] });
  assert.ok((await verifier.verify(await mint(privateKey, { header: { kid: 'issuer-key-1' } }))).ok);
  assert.equal((await verifier.verify(await mint(privateKey, { header: { kid: 'issuer-key-2' } }))).ok, false);
});

test('scopes: parsed as docker writes them; a token grants of each only what the caller may do', () => {
  assert.deepEqual(parseScope('repository:library/nginx:pull,push'), { type: 'repository', name: 'library/nginx', actions: actionSet(['pull', 'push', 'overwrite']) });
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'catalog' });
  assert.equal(parseScope('repository:UPPER:pull'), undefined);
  assert.equal(parseScope('repository:a'), undefined);
  const policy = new AccessPolicy({
    groups: {},
    admins: { users: [], groups: [] },
    entries: [{ glob: (compileGlob('public/**') as { ok: true; glob: never }).glob, anonymous: actionSet(['pull']), authenticated: actionSet(['pull', 'push']), rules: [] }],
  });
  const control = new AccessControl(policy);
  const bounds = { repositories: [(compileGlob('public/a') as { ok: true; glob: never }).glob], actions: actionSet(['pull']) };
  assert.deepEqual(grantScopes(control, { kind: 'user', name: 'bob' }, ['repository:public/a:pull,push,delete repository:private/x:pull', 'registry:catalog:*']), [
    { type: 'repository', name: 'public/a', actions: ['pull', 'push'] },
    { type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  assert.deepEqual(grantScopes(control, { kind: 'anonymous' }, ['repository:public/a:pull,push']), [{ type: 'repository', name: 'public/a', actions: ['pull'] }]);
  assert.deepEqual(grantScopes(control, { kind: 'robot', name: 'robot$n', bounds, expiresAt: null }, ['repository:public/a:pull,push', 'repository:public/b:pull']), [
    { type: 'repository', name: 'public/a', actions: ['pull'] },
  ]);
});
