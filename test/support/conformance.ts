// The OCI distribution-spec conformance suite (the real Go program) against a registry
// with auth on and every API and data switch on.
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import path from 'node:path';
import { TEST_PASSWORD, TEST_USER } from './berth.js';
import { run } from './process.js';
import { scratchDir } from './tmp.js';
import { tool } from './tools.js';

export async function runConformance(host: string, sparse: boolean): Promise<{ output: string; results: string }> {
  const resultsDir = await scratchDir('conformance-');
  const env = {
    ...process.env,
    OCI_REGISTRY: host,
    OCI_TLS: 'disabled',
    OCI_USERNAME: TEST_USER,
    OCI_PASSWORD: TEST_PASSWORD,
    OCI_REPO1: 'conformance/repo1',
    OCI_REPO2: 'conformance/repo2',
    OCI_VERSION: '1.1',
    OCI_API_BLOBS_DIGEST_HEADER: 'true',
    OCI_API_BLOBS_UPLOAD_CANCEL: 'true',
    OCI_API_BLOBS_MOUNT_ANONYMOUS: 'true',
    OCI_API_MANIFESTS_DIGEST_HEADER: 'true',
    OCI_API_MANIFESTS_TAG_PARAM: 'true',
    OCI_API_REFERRER: 'true',
    OCI_DATA_SPARSE: sparse ? 'true' : 'false',
    OCI_DATA_SHA512: 'true',
    OCI_RESULTS_DIR: resultsDir,
    OCI_LOG: 'error',
  };
  const result = await run(tool('conformance'), [], { env, cwd: resultsDir, allowFailure: true, timeoutMs: 600_000 });
  const results = await readFile(path.join(resultsDir, 'results.yaml'), 'utf8').catch(() => '');
  return { output: `${result.stdout}\n${result.stderr}`, results };
}

export function summary(output: string): { result: string; fail: number; error: number; pass: number; disabled: number } {
  const number = (label: string): number => Number(new RegExp(`${label}\\.*:\\s+(\\d+)`).exec(output)?.[1] ?? NaN);
  return {
    result: /OCI Conformance Result: (\w+)/.exec(output)?.[1] ?? 'missing',
    fail: number('FAIL'),
    error: number('Error'),
    pass: number('Pass'),
    disabled: number('Disabled'),
  };
}

/** The full suite passed, with nothing disabled but (when `sparse` is off) the sparse data set. */
export function assertFullPass(output: string, sparse: boolean): void {
  const counts = summary(output);
  assert.equal(counts.result, 'Pass', output.slice(-6000));
  assert.equal(counts.fail, 0);
  assert.equal(counts.error, 0);
  if (sparse) {
    assert.match(output, /Sparse Manifests\.*:\s+Pass/);
  } else {
    assert.ok(counts.pass > 900, `expected the full suite to run, got ${counts.pass} passes`);
    assert.match(output, /Sparse Manifests\.*:\s+Disabled/);
    assert.equal(counts.disabled, 0);
  }
}
