// Content digests (OCI image-spec "descriptor.md#digests"): `algorithm:encoded`.
// Only algorithms a registry can verify are accepted; everything else is DIGEST_INVALID.
import { createHash, type Hash } from 'node:crypto';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** The canonical string form, `sha256:<hex>`. */
  readonly value: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export const SUPPORTED_ALGORITHMS: readonly DigestAlgorithm[] = ['sha256', 'sha512'];

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}

/** Parses `sha256:<64 hex>` or `sha512:<128 hex>`; anything else is undefined. */
export function parseDigest(text: string): Digest | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm)) return undefined;
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) return undefined;
  return { algorithm, hex, value: text };
}

/** True when the text looks like a digest of any algorithm (so it is not a tag). */
export function looksLikeDigest(text: string): boolean {
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(text);
}

export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  const hex = createHash(algorithm).update(data).digest('hex');
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}

export function digestFromHash(algorithm: DigestAlgorithm, hash: Hash): Digest {
  const hex = hash.digest('hex');
  return { algorithm, hex, value: `${algorithm}:${hex}` };
}
