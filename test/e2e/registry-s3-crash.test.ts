// Crash safety on S3 (test/support/crash-run.ts): `berth registry serve --workers 2` on
// SeaweedFS (the primary; its workers follow it down) is killed with SIGKILL under 32
// pushers again and again; the bucket is read directly
// (every blob object hashed, every tag followed) after every restart.
import { after, before, test } from 'node:test';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess } from '../support/berth.js';
import { CRASH_CYCLES, crashConfig, crashUnderPushers } from '../support/crash-run.js';
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

// Half the filesystem run's cycles (--long: 50): a restart and a check of the bucket take longer.
const CYCLES = Math.ceil(CRASH_CYCLES / 2);

test(`S3, two workers: SIGKILL at random moments under 32 pushers, ${CYCLES} cycles: nothing acknowledged is lost or corrupted`, { timeout: 30 * 60_000 }, async (t) => {
  const work = await scratchDir('s3-crash-');
  const port = await freePort();
  const config = path.join(work, 'berth.yaml');
  // A finish on S3 is a dozen requests (complete, verify, copy, link, clean up): under
  // 32 pushers on a busy 2-core machine it can take seconds, so pushers wait longer, and
  // sessions count as abandoned later, than on the filesystem.
  await writeFile(config, `${seaweed.berthYaml('crash-run')}\n${crashConfig('20s', '2s')}`);
  const bucket = new BucketLayout(seaweed.client(), seaweed.bucket, 'crash-run');
  await crashUnderPushers(t, {
    start: () => startBerthProcess(['--config', config, '--workers', '2'], { port, dataDir: false }),
    check: () => bucket.check('crash'),
    countUploadSessions: () => bucket.uploadSessions('crash'),
    fsckArgs: ['--config', config],
    cycles: CYCLES,
    requestTimeoutMs: 30_000,
    purgeWaitMs: 90_000,
  });
});
