// Runs last (files run in name order): reads every log and CLI output the suite
// produced and fails if a password, a Basic credential, a bearer token, a JWT, a robot
// secret, a token the suite was given, a private key or an S3 secret key shows up. Robot
// secrets and tokens are random: the tests that make them record them (support/logs.ts
// recordSecret).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { SECRETS_FILE, TEST_LOG_DIR } from '../support/logs.js';
import { S3_TEST_SECRET } from '../support/seaweedfs.js';

/** Every password the test suite uses, and the encodings they travel in. */
function passwords(): string[] {
  const passwords = [TEST_PASSWORD, 'wrong-password', 'not-the-password', 'n3w-secret'];
  const others = ['alice:alice-pw-1', 'bob:bob-pw-2', 'carol:carol-pw-3', 'robot$ghost:ghost-pw-4'];
  return [
    ...passwords.flatMap((password) => [password, Buffer.from(`${TEST_USER}:${password}`).toString('base64')]),
    ...others.flatMap((pair) => [pair.slice(pair.indexOf(':') + 1), Buffer.from(pair).toString('base64')]),
    // The S3 secret key of every test engine, and the wrong one the start-up test tries.
    S3_TEST_SECRET,
    'not-the-secret',
  ];
}

/** Robot secrets and tokens the suite made (recorded as they were made). */
async function recorded(): Promise<string[]> {
  const text = await readFile(SECRETS_FILE, 'utf8').catch(() => '');
  return [...new Set(text.split('\n').filter((line) => line.length >= 16))];
}

test('no log line or CLI output of the test suite carries a secret', async () => {
  const files = (await readdir(TEST_LOG_DIR).catch(() => [] as string[])).filter((f) => f.endsWith('.log'));
  assert.ok(files.length > 0, `no logs found in ${TEST_LOG_DIR}; the suite writes its logs there`);
  const made = await recorded();
  assert.ok(made.length > 0, `no robot secrets or tokens recorded in ${SECRETS_FILE}; the access tests record them`);
  // A secret is looked for by its first and last 24 characters too (a cut-off line still leaks it).
  const secrets = [...passwords(), ...made.flatMap((secret) => [secret.slice(0, 24), secret.slice(-24)])];
  const findings: string[] = [];
  let lines = 0;
  for (const file of files) {
    const text = await readFile(path.join(TEST_LOG_DIR, file), 'utf8');
    text.split('\n').forEach((line, index) => {
      lines += 1;
      for (const secret of secrets) if (line.includes(secret)) findings.push(`${file}:${index + 1}: contains a test password, robot secret or token (or its Basic encoding)`);
      if (/\bBasic [A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])/.test(line)) findings.push(`${file}:${index + 1}: contains a Basic Authorization value`);
      if (/\bBearer [A-Za-z0-9._~+/-]{16,}/.test(line)) findings.push(`${file}:${index + 1}: contains a bearer token`);
      if (/"authorization"\s*:\s*"(?!\[redacted\])/i.test(line)) findings.push(`${file}:${index + 1}: logs an Authorization header`);
      if (/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./.test(line)) findings.push(`${file}:${index + 1}: contains a JWT`);
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----|"secretHash"|\$2[aby]\$\d\d\$/.test(line)) findings.push(`${file}:${index + 1}: contains a private key or a password hash`);
    });
  }
  assert.deepEqual(findings.slice(0, 50), [], `secrets in logs (${files.length} files, ${lines} lines scanned, ${made.length} recorded secrets)`);
  assert.ok(lines > 100, `expected the suite's logs, scanned only ${lines} lines`);
});
