// The OCI distribution-spec conformance suite (the real Go program) against Berth with
// auth on and every API and data switch on. Sparse manifests contradict the
// MANIFEST_BLOB_UNKNOWN check, so they run in a second pass with
// `allowSparseManifests`, which is Berth's switch for partial mirrors.
import { after, test } from 'node:test';
import { startBerth } from '../support/berth.js';
import { assertFullPass, runConformance } from '../support/conformance.js';
import { stopAll } from '../support/process.js';
import { removeScratchDirs } from '../support/tmp.js';

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

test('conformance: every API and data switch (sparse off), auth on', { timeout: 600_000 }, async () => {
  const registry = await startBerth();
  try {
    const { output } = await runConformance(registry.host, false);
    // Only the sparse data set may be disabled in this pass.
    assertFullPass(output, false);
  } finally {
    await registry.stop();
  }
});

test('conformance: sparse manifests with allowSparseManifests', { timeout: 600_000 }, async () => {
  const registry = await startBerth({ config: { allowSparseManifests: true } });
  try {
    const { output } = await runConformance(registry.host, true);
    assertFullPass(output, true);
  } finally {
    await registry.stop();
  }
});
