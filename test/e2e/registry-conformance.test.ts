// The OCI distribution-spec conformance suite (the real Go program) against Berth with
// auth on and every API and data switch on. Sparse manifests contradict the
// MANIFEST_BLOB_UNKNOWN check, so they run in a second pass with
// `allowSparseManifests`, which is Berth's switch for partial mirrors. A third pass runs
// in token mode: Berth as its own token server, the suite fetching Bearer tokens.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TOKEN_DEFAULTS } from '../../src/registry/config.js';
import { startBerth, TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { run, stopAll } from '../support/process.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { tool } from '../support/tools.js';

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

async function runConformance(host: string, sparse: boolean): Promise<{ output: string; results: string }> {
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

function summary(output: string): { result: string; fail: number; error: number; pass: number; disabled: number } {
  const number = (label: string): number => Number(new RegExp(`${label}\\.*:\\s+(\\d+)`).exec(output)?.[1] ?? NaN);
  return {
    result: /OCI Conformance Result: (\w+)/.exec(output)?.[1] ?? 'missing',
    fail: number('FAIL'),
    error: number('Error'),
    pass: number('Pass'),
    disabled: number('Disabled'),
  };
}

test('conformance: every API and data switch (sparse off), auth on', { timeout: 600_000 }, async () => {
  const registry = await startBerth();
  try {
    const { output } = await runConformance(registry.host, false);
    const counts = summary(output);
    assert.equal(counts.result, 'Pass', output.slice(-6000));
    assert.equal(counts.fail, 0);
    assert.equal(counts.error, 0);
    assert.ok(counts.pass > 900, `expected the full suite to run, got ${counts.pass} passes`);
    // Only the sparse data set may be disabled in this pass.
    assert.match(output, /Sparse Manifests\.*:\s+Disabled/);
    assert.equal(counts.disabled, 0);
  } finally {
    await registry.stop();
  }
});

test('conformance: sparse manifests with allowSparseManifests', { timeout: 600_000 }, async () => {
  const registry = await startBerth({ config: { allowSparseManifests: true } });
  try {
    const { output } = await runConformance(registry.host, true);
    const counts = summary(output);
    assert.equal(counts.result, 'Pass', output.slice(-6000));
    assert.match(output, /Sparse Manifests\.*:\s+Pass/);
  } finally {
    await registry.stop();
  }
});

test('conformance: token auth (Berth issues the Bearer tokens), every API switch', { timeout: 600_000 }, async () => {
  const registry = await startBerth({ config: { token: { mode: 'issue', realm: undefined, ...TOKEN_DEFAULTS } } });
  try {
    const { output } = await runConformance(registry.host, false);
    const counts = summary(output);
    assert.equal(counts.result, 'Pass', output.slice(-6000));
    assert.equal(counts.fail, 0);
    assert.ok(counts.pass > 900, `expected the full suite to run, got ${counts.pass} passes`);
    assert.match(await registry.logs(), /"msg":"token issued"/, 'the suite signed in with tokens');
  } finally {
    await registry.stop();
  }
});
