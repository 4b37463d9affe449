// The storage driver suite (test/support/driver-suite.ts) on every driver: the
// filesystem, and S3 on a real SeaweedFS with auth on, each test under a fresh prefix
// of one bucket.
import { after, before } from 'node:test';
import { randomUUID } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { openDriver } from '../../src/storage/open.js';
import { createS3Client, describeS3, type S3Settings } from '../../src/storage/driver/s3-client.js';
import { driverSuite } from '../support/driver-suite.js';
import { stopAll } from '../support/process.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { S3Driver } from '../../src/storage/driver/s3.js';
import { BERTH_STATE_DIR } from '../../src/storage/layout.js';

let seaweed: Seaweed;

before(async () => {
  seaweed = await startSeaweed();
});

after(async () => {
  await seaweed.stop();
  await stopAll();
  await removeScratchDirs();
});

driverSuite('filesystem', async () => {
  const root = await realpath(await scratchDir('driver-fs-'));
  return { driver: openDriver({ kind: 'filesystem', root }), another: () => openDriver({ kind: 'filesystem', root }) };
});

driverSuite('s3', async () => {
  const rootDirectory = `/suite/${randomUUID()}`;
  const settings: S3Settings = {
    endpoint: seaweed.endpoint,
    region: 'us-east-1',
    bucket: seaweed.bucket,
    rootDirectory,
    forcePathStyle: true,
    accessKeyId: seaweed.accessKey,
    secretAccessKey: seaweed.secretKey,
    sessionToken: undefined,
    chunkSize: 5 * 1024 * 1024,
    redirectExpiryMs: undefined,
    skipVerify: false,
    caBundle: undefined,
  };
  // A small multipart-copy threshold, so moves of the suite's objects take that path too.
  const open = (): S3Driver =>
    new S3Driver({
      client: createS3Client(settings),
      bucket: settings.bucket,
      rootDirectory,
      partSize: settings.chunkSize,
      multipartCopyThreshold: 1024 * 1024,
      stateDir: BERTH_STATE_DIR,
      endpointLabel: describeS3(settings),
    });
  return { driver: open(), another: open };
});
