// SeaweedFS (`weed mini`) for the S3 workload: one engine on 127.0.0.1 with every port
// chosen here, its data in the run's scratch directory, auth on, one bucket.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startDaemon, waitFor, type Daemon } from './proc.js';
import { freePort } from './servers.js';
import { tool } from './tools.js';
import { weedMiniArgs, weedPorts } from '../../test/support/weed-args.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export interface Weed {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startWeed(work: string): Promise<Weed> {
  const dir = path.join(work, 'weed');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const ports = await weedPorts(freePort);
  const s3 = ports[0];
  const accessKey = 'bench';
  const secretKey = 'bench-secret-key';
  const bucket = 'bench';
  const endpoint = `http://127.0.0.1:${s3}`;
  const daemon: Daemon = startDaemon(
    tool('weed'),
    weedMiniArgs(path.join(dir, 'data'), ports),
    path.join(dir, 'weed.log'),
    { env: { ...process.env, AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey } },
  );
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  try {
    await waitFor(
      `SeaweedFS on ${endpoint}`,
      async () => {
        if (daemon.exited()) throw new Error(`weed exited; see ${path.join(dir, 'weed.log')}`);
        await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
          if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw error;
        });
        return true;
      },
      120_000,
    );
  } finally {
    client.destroy();
  }
  return { endpoint, accessKey, secretKey, bucket, pid: daemon.pid, stop: () => daemon.stop() };
}
