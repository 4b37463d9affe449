// Logs of every Berth process and CLI run in the test suite go to one directory that
// outlives the scratch dirs, so the secrets-hygiene test can read all of them at the
// end of the run. Default: <project>/.test-logs/ (override with BERTH_TEST_LOG_DIR).
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './tools.js';

export const TEST_LOG_DIR = process.env['BERTH_TEST_LOG_DIR'] ?? path.join(PROJECT_ROOT, '.test-logs');

let counter = 0;

/** A fresh file path in the persistent log directory. */
export function testLogPath(kind: string): string {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  counter += 1;
  return path.join(TEST_LOG_DIR, `${kind}-${process.pid}-${counter}.log`);
}

/**
 * Secrets made during the run (robot secrets, tokens), kept beside the logs (not a .log
 * file itself) so the secrets-hygiene test, which runs last, can look for them in every log.
 */
export const SECRETS_FILE = path.join(TEST_LOG_DIR, 'secrets.list');

export function recordSecret(secret: string): void {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  appendFileSync(SECRETS_FILE, `${secret}\n`, { mode: 0o600 });
}

/** Keeps what a CLI run printed (its "default output"), unless the user asked for secrets. */
export function recordCliOutput(args: readonly string[], stdout: string, stderr: string): void {
  // --show-password, and `robot create`, whose one job is to print the secret.
  if (args.includes('--show-password') || (args.includes('robot') && args.includes('create'))) return;
  appendFileSync(testLogPath('cli'), `$ berth ${args.join(' ')}\n${stdout}\n--- stderr ---\n${stderr}\n`);
}
