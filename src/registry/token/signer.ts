// Signs the tokens of the registry's own token server: short-lived JWTs in docker's
// format (iss, sub, aud = service, exp, nbf, iat, jti, access), with the key kept in the
// storage (storage/token-key.ts).
import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningAlgorithm } from '../../storage/token-key.js';
import type { AccessEntry } from './scope.js';

export interface SignerSettings {
  readonly issuer: string;
  readonly service: string;
  readonly lifetimeMs: number;
  readonly algorithm: SigningAlgorithm;
  readonly privateKey: KeyObject;
  /** The key's ID (its JWK thumbprint), in every token's header. */
  readonly keyId: string;
}

export interface SignedToken {
  readonly token: string;
  readonly expiresInSeconds: number;
  readonly issuedAt: Date;
}

export class TokenSigner {
  constructor(private readonly settings: SignerSettings) {}

  get service(): string {
    return this.settings.service;
  }

  async sign(principal: string | undefined, access: readonly AccessEntry[]): Promise<SignedToken> {
    const issuedAt = new Date();
    const seconds = Math.floor(issuedAt.getTime() / 1000);
    const lifetime = Math.max(1, Math.round(this.settings.lifetimeMs / 1000));
    const token = await new SignJWT({ access: [...access] })
      .setProtectedHeader({ alg: this.settings.algorithm, typ: 'JWT', kid: this.settings.keyId })
      .setIssuer(this.settings.issuer)
      .setSubject(principal ?? '')
      .setAudience(this.settings.service)
      .setIssuedAt(seconds)
      .setNotBefore(seconds)
      .setExpirationTime(seconds + lifetime)
      .setJti(randomUUID())
      .sign(this.settings.privateKey);
    return { token, expiresInSeconds: lifetime, issuedAt };
  }
}
