// Checks Bearer tokens: signature (by a trusted key, with an allowed algorithm: never
// `none` or a shared-secret HMAC), issuer, audience (this registry's service) and time,
// then reads the `access` claim. A verified token is remembered until it expires, under
// an HMAC of the token (as basic-auth.ts keeps passwords out of memory), so a client
// that sends the same token a thousand times costs one signature check.
import { createHmac, randomBytes, type KeyObject } from 'node:crypto';
import { jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { TokenGrants } from '../access/identity.js';
import { grantsOf } from './scope.js';
import type { KeySource } from './trust.js';

/** Clock skew allowed between the issuer and this registry, as registry:2 allows. */
const LEEWAY_SECONDS = 60;

export const ASYMMETRIC_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;

export interface VerifierSettings {
  readonly issuer: string;
  /** The audience tokens must name: the registry's `service`. */
  readonly service: string;
  readonly keys: KeySource | KeyObject;
  readonly algorithms: readonly string[];
}

export type TokenCheck =
  | { readonly ok: true; readonly principal: string | undefined; readonly grants: TokenGrants; readonly expiresAt: number }
  | { readonly ok: false; readonly reason: string };

const accessSchema = z.array(z.object({ type: z.string(), name: z.string(), actions: z.array(z.string()) }));

/** Why a token failed, for logs: jose's message without the token. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message.split('\n')[0]! : 'invalid token';
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

export class TokenVerifier {
  private readonly key = randomBytes(32);
  private readonly cache = new LRUCache<string, Extract<TokenCheck, { ok: true }>>({ max: 10_000 });

  constructor(private readonly settings: VerifierSettings) {}

  async verify(token: string): Promise<TokenCheck> {
    const cacheKey = createHmac('sha256', this.key).update(token).digest('base64');
    const hit = this.cache.get(cacheKey);
    const now = Date.now();
    if (hit && hit.expiresAt + LEEWAY_SECONDS * 1000 > now) return hit;
    let payload;
    try {
      const keys = this.settings.keys;
      const options = {
        issuer: this.settings.issuer,
        audience: this.settings.service,
        algorithms: [...this.settings.algorithms],
        clockTolerance: LEEWAY_SECONDS,
        requiredClaims: ['exp'],
      };
      ({ payload } = typeof keys === 'function' ? await jwtVerify(token, keys, options) : await jwtVerify(token, keys, options));
    } catch (error) {
      return { ok: false, reason: reasonOf(error) };
    }
    const access = accessSchema.safeParse(payload['access'] ?? []);
    if (!access.success) return { ok: false, reason: 'the access claim is malformed' };
    const principal = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
    const checked = { ok: true, principal, grants: grantsOf(access.data), expiresAt: payload.exp! * 1000 } as const;
    this.cache.set(cacheKey, checked);
    return checked;
  }
}
