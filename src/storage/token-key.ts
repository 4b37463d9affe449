// The private key the registry's own token server signs with, generated once and kept
// in the storage (docker/registry/v2/_berth/token-key-<alg>.pem, readable by the
// registry's user only), so every process and replica serving the storage signs and
// verifies alike. Created only if absent: two replicas starting at once agree on the
// first one written.
import { generateKeyPairSync } from 'node:crypto';
import type { StorageDriver } from './driver/driver.js';
import { BERTH_STATE_DIR } from './layout.js';

export type SigningAlgorithm = 'ES256' | 'RS256';

export function tokenKeyPath(algorithm: SigningAlgorithm): string {
  return `${BERTH_STATE_DIR}/token-key-${algorithm.toLowerCase()}.pem`;
}

function generate(algorithm: SigningAlgorithm): string {
  const pair =
    algorithm === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The PKCS#8 PEM private key for `algorithm`, created on first use. */
export async function sharedSigningKey(driver: StorageDriver, algorithm: SigningAlgorithm): Promise<string> {
  const path = tokenKeyPath(algorithm);
  const existing = await driver.getContent(path);
  if (existing && existing.length > 0) return existing.toString('utf8');
  await driver.createExclusive(path, generate(algorithm), { secret: true });
  const stored = await driver.getContent(path);
  if (!stored || stored.length === 0) throw new Error(`cannot read the token signing key at ${driver.location}/${path}`);
  return stored.toString('utf8');
}
