// The OCI conformance suite against Berth on S3 (SeaweedFS, auth on), with every switch
// on, as on the filesystem: both passes, each on a fresh prefix of the bucket.
import { after, before, test } from 'node:test';
import { startBerth } from '../support/berth.js';
import { assertFullPass, runConformance } from '../support/conformance.js';
import { stopAll } from '../support/process.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { removeScratchDirs } from '../support/tmp.js';

let seaweed: Seaweed;

before(async () => {
  seaweed = await startSeaweed();
});

after(async () => {
  await seaweed?.stop();
  await stopAll();
  await removeScratchDirs();
});

test('conformance on S3: every API and data switch (sparse off), auth on', { timeout: 600_000 }, async () => {
  const registry = await startBerth({ config: { s3: seaweed.s3Config({ rootDirectory: '/conformance' }) } });
  try {
    assertFullPass((await runConformance(registry.host, false)).output, false);
  } finally {
    await registry.stop();
  }
});

test('conformance on S3: sparse manifests with allowSparseManifests', { timeout: 600_000 }, async () => {
  const registry = await startBerth({ config: { allowSparseManifests: true, s3: seaweed.s3Config({ rootDirectory: '/conformance-sparse' }) } });
  try {
    assertFullPass((await runConformance(registry.host, true)).output, true);
  } finally {
    await registry.stop();
  }
});
