// Tokens for tests: asked of a registry's /token as a client would, or minted here with
// a key of the test's own (an external issuer, an expired or foreign token). Every token
// is recorded for the secrets-hygiene test.
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Caller } from './access.js';
import { recordSecret } from './logs.js';
import { basicAuth } from './net.js';

export interface AccessClaim {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

export interface MintOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly subject?: string;
  readonly access: readonly AccessClaim[];
  /** Seconds from now; negative: already expired. */
  readonly expiresIn?: number;
  readonly alg?: string;
  readonly kid?: string;
}

export async function mintToken(key: KeyObject, options: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresIn ?? 300;
  const token = await new SignJWT({ access: options.access.map((a) => ({ ...a, actions: [...a.actions] })) })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', typ: 'JWT', ...(options.kid !== undefined ? { kid: options.kid } : {}) })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject ?? '')
    .setIssuedAt(Math.min(now, now + expiresIn - 60))
    .setNotBefore(Math.min(now, now + expiresIn - 60))
    .setExpirationTime(now + expiresIn)
    .sign(key);
  recordSecret(token);
  return token;
}

/** GET <registry>/token?service=&scope=... as `caller` (Basic) or anonymous; the token. */
export async function fetchToken(registryUrl: string, service: string, scopes: readonly string[], caller?: Caller): Promise<string> {
  const url = new URL('/token', registryUrl);
  url.searchParams.set('service', service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const response = await fetch(url, { headers: caller ? { authorization: basicAuth(caller.user, caller.password) } : {} });
  const body = (await response.json()) as { token?: string };
  if (response.status !== 200 || !body.token) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
  recordSecret(body.token);
  return body.token;
}

/** The claims of a token, unverified (what the test asked for, read back). */
export function tokenClaims(token: string): { sub: string; exp: number; access: AccessClaim[] } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { sub: string; exp: number; access: AccessClaim[] };
}
