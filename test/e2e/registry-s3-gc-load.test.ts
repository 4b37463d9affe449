// Online garbage collection under load on S3 (test/support/gc-load.ts): `berth registry
// gc --config` (its tombstone protocol, no rename anywhere) against a Berth serving the
// same SeaweedFS bucket prefix; the bucket is read directly for what was swept.
import { after, before, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess } from '../support/berth.js';
import { GC_ROUNDS, gcUnderLoad } from '../support/gc-load.js';
import { stopAll } from '../support/process.js';
import { BucketLayout } from '../support/s3-layout.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let seaweed: Seaweed;

before(async () => {
  seaweed = await startSeaweed();
});

after(async () => {
  await seaweed?.stop();
  await stopAll();
  await removeScratchDirs();
});

// Every live image is checked through Berth after every round (a few requests per blob on
// S3), so here at most 60 images are live at a time (the deleters make room for more), and
// a third of the rounds run (--long: 20).
const ROUNDS = Math.ceil(GC_ROUNDS / 3);

test(`S3: GC ${ROUNDS} rounds while pushes and deletes run: no reachable blob is ever deleted`, { timeout: 15 * 60_000 }, async (t) => {
  const config = path.join(await scratchDir('s3-gc-'), 'berth.yaml');
  await writeFile(config, `${seaweed.berthYaml('gc-load')}\nlogLevel: warn\n`);
  const registry = await startBerthProcess(['--config', config], { dataDir: false });
  const bucket = new BucketLayout(seaweed.client(), seaweed.bucket, 'gc-load');
  await gcUnderLoad(t, { registry, gcArgs: ['--config', config], blobExists: (digest) => bucket.blobExists(digest), rounds: ROUNDS, pushPauseMs: 300, maxLive: 60 });
  await registry.stop();
});
