// The secret that signs upload state (registry:2's `http.secret`), when none is
// configured: generated once and kept in the storage itself, so every process and
// replica that serves the same storage signs alike and can continue each other's
// uploads. Created with a create-if-absent write, so two replicas starting at once
// agree on the first one written.
import { randomBytes } from 'node:crypto';
import type { StorageDriver } from './driver/driver.js';
import { BERTH_STATE_DIR } from './layout.js';

const SECRET_PATH = `${BERTH_STATE_DIR}/http-secret`;

export async function sharedSecret(driver: StorageDriver): Promise<Buffer> {
  const existing = await driver.getContent(SECRET_PATH);
  if (existing && existing.length >= 32) return existing;
  await driver.createExclusive(SECRET_PATH, randomBytes(32).toString('hex'));
  const stored = await driver.getContent(SECRET_PATH);
  if (!stored || stored.length < 32) throw new Error(`cannot read the upload secret at ${driver.location}/${SECRET_PATH}`);
  return stored;
}
