// Runs last (files run in name order): reads every log and CLI output the suite
// produced and fails if a password, a Basic credential, a bearer token or an S3 secret
// key shows up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { TEST_LOG_DIR } from '../support/logs.js';
import { S3_TEST_SECRET } from '../support/seaweedfs.js';

/** Every password the test suite uses with the default user, and the encodings they travel in. */
function secrets(): string[] {
  const passwords = [TEST_PASSWORD, 'wrong-password', 'not-the-password', 'n3w-secret'];
  // The S3 secret key of every test engine, and the wrong one the start-up test tries.
  return [...passwords.flatMap((password) => [password, Buffer.from(`${TEST_USER}:${password}`).toString('base64')]), S3_TEST_SECRET, 'not-the-secret'];
}

test('no log line or CLI output of the test suite carries a secret', async () => {
  const files = (await readdir(TEST_LOG_DIR).catch(() => [] as string[])).filter((f) => f.endsWith('.log'));
  assert.ok(files.length > 0, `no logs found in ${TEST_LOG_DIR}; the suite writes its logs there`);
  const findings: string[] = [];
  let lines = 0;
  for (const file of files) {
    const text = await readFile(path.join(TEST_LOG_DIR, file), 'utf8');
    text.split('\n').forEach((line, index) => {
      lines += 1;
      for (const secret of secrets()) if (line.includes(secret)) findings.push(`${file}:${index + 1}: contains a test password or its Basic encoding`);
      if (/\bBasic [A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])/.test(line)) findings.push(`${file}:${index + 1}: contains a Basic Authorization value`);
      if (/\bBearer [A-Za-z0-9._~+/-]{16,}/.test(line)) findings.push(`${file}:${index + 1}: contains a bearer token`);
      if (/"authorization"\s*:\s*"(?!\[redacted\])/i.test(line)) findings.push(`${file}:${index + 1}: logs an Authorization header`);
    });
  }
  assert.deepEqual(findings, [], `secrets in logs (${files.length} files, ${lines} lines scanned)`);
  assert.ok(lines > 100, `expected the suite's logs, scanned only ${lines} lines`);
});
