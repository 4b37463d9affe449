// A token issuer for docker-registry's `auth.token` (distribution's token protocol), and
// a docker-registry that uses it: the Bearer flow Docker Hub speaks, on 127.0.0.1.
import { randomBytes, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { TEST_PASSWORD, TEST_USER, type TestRegistry } from './berth.js';
import { startDistribution, type DistributionOptions } from './distribution.js';
import { run } from './process.js';
import { tool } from './tools.js';

export const SERVICE = 'berth-test-registry';
export const ISSUER = 'berth-test-issuer';

export interface TokenIssuer {
  readonly url: string;
  readonly requests: TokenRequest[];
  close(): Promise<void>;
}

export interface TokenRequest {
  readonly authorization: 'none' | 'valid' | 'invalid';
  readonly scopes: string[];
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * distribution's token protocol: GET realm?service=&scope=...; Basic credentials make a
 * user, none make an anonymous caller who may only pull. The JWT carries the signing
 * certificate in `x5c`, which the registry verifies against its rootcertbundle.
 */
export async function startTokenIssuer(keyPem: string, certPem: string): Promise<TokenIssuer> {
  const certDer = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
  const requests: TokenRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://issuer');
    const header = req.headers.authorization;
    let user: string | undefined;
    let authorization: TokenRequest['authorization'] = 'none';
    if (header) {
      const decoded = Buffer.from(header.replace(/^Basic /i, ''), 'base64').toString('utf8');
      authorization = decoded === `${TEST_USER}:${TEST_PASSWORD}` ? 'valid' : 'invalid';
      user = TEST_USER;
    }
    const scopes = url.searchParams.getAll('scope');
    requests.push({ authorization, scopes });
    if (authorization === 'invalid' || url.searchParams.get('service') !== SERVICE) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const access = scopes.flatMap((scope) => {
      const [type, ...rest] = scope.split(':');
      const actions = rest.pop()!.split(',');
      const name = rest.join(':');
      const granted = authorization === 'valid' ? actions : actions.filter((a) => a === 'pull' && type === 'repository');
      return granted.length > 0 ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, sub: user ?? '', aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer] }))}.${base64url(JSON.stringify(claims))}`;
    const token = `${input}.${base64url(sign('sha256', Buffer.from(input), keyPem))}`;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/token`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * docker-registry with `auth.token` against a fresh issuer (key and certificate made by
 * openssl in `work`): anonymous callers may pull, TEST_USER may push.
 */
export async function startTokenRegistry(work: string, options: DistributionOptions = {}): Promise<{ registry: TestRegistry; issuer: TokenIssuer; stop(): Promise<void> }> {
  await run(tool('openssl'), ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=berth token issuer', '-keyout', 'token.key', '-out', 'token.crt'], { cwd: work });
  const issuer = await startTokenIssuer(await readFile(path.join(work, 'token.key'), 'utf8'), await readFile(path.join(work, 'token.crt'), 'utf8'));
  const registry = await startDistribution({
    ...options,
    extraConfig: `auth:\n  token:\n    realm: ${issuer.url}\n    service: ${SERVICE}\n    issuer: ${ISSUER}\n    rootcertbundle: ${path.join(work, 'token.crt')}\n`,
  });
  return {
    registry,
    issuer,
    async stop() {
      await registry.stop();
      await issuer.close();
    },
  };
}
