// Crash safety on S3 (test/support/crash-run.ts): `berth registry serve` on SeaweedFS is
// killed with SIGKILL under 32 pushers again and again; the bucket is read directly
// (every blob object hashed, every tag followed) after every restart.
import { after, before, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess } from '../support/berth.js';
import { CRASH_CONFIG, CRASH_CYCLES, crashUnderPushers } from '../support/crash-run.js';
import { freePort } from '../support/net.js';
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

test(`S3: SIGKILL at random moments under 32 pushers, ${CRASH_CYCLES} cycles: nothing acknowledged is lost or corrupted`, { timeout: 30 * 60_000 }, async (t) => {
  const work = await scratchDir('s3-crash-');
  const port = await freePort();
  const config = path.join(work, 'berth.yaml');
  await writeFile(config, `${seaweed.berthYaml('crash-run')}\n${CRASH_CONFIG}`);
  const bucket = new BucketLayout(seaweed.client(), seaweed.bucket, 'crash-run');
  await crashUnderPushers(t, {
    start: () => startBerthProcess(['--config', config], { port, dataDir: false }),
    check: () => bucket.check('crash'),
    countUploadSessions: () => bucket.uploadSessions('crash'),
    fsckArgs: ['--config', config],
  });
});
