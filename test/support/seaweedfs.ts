// SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one process), the real
// S3 engine the S3 driver is tested against, started on 127.0.0.1 with every port chosen
// here (gRPC ports too, so nothing collides with a default) and its data in a scratch
// directory. Auth is on: requests need the access key and secret given here.
import type { ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../../src/registry/config.js';
import { freePort } from './net.js';
import { startProcess, stopProcess, waitFor } from './process.js';
import { scratchDir } from './tmp.js';
import { tool } from './tools.js';
import { weedMiniArgs, weedPorts } from './weed-args.js';

process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export interface Seaweed {
  readonly endpoint: string;
  readonly port: number;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly bucket: string;
  readonly dir: string;
  readonly logFile: string;
  /** A Berth S3 config for this engine (no redirect). */
  s3Config(overrides?: Partial<S3Config>): S3Config;
  /**
   * A Berth config file's text that keeps the data under `rootDirectory` of the bucket,
   * with `extra` YAML lines appended (credentials in the file, unless `credentials: false`).
   */
  berthYaml(rootDirectory: string, extra?: string, options?: { credentials?: boolean; redirect?: boolean }): string;
  /** A client with the engine's credentials, for test setup and inspection. */
  client(): S3Client;
  /** Creates another bucket. */
  createBucket(name: string): Promise<void>;
  /** Stops the engine (SIGTERM); start() brings it back on the same ports and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Freezes the engine (SIGSTOP): connections are accepted by the kernel but never answered. */
  freeze(): void;
  thaw(): void;
}

/** The S3 secret every test engine uses (the secrets-hygiene test looks for it in every log). */
export const S3_TEST_SECRET = 'berth-test-secret-key';

export interface SeaweedOptions {
  readonly accessKey?: string;
  readonly secretKey?: string;
  readonly bucket?: string;
}

export async function startSeaweed(options: SeaweedOptions = {}): Promise<Seaweed> {
  const weed = tool('weed');
  const dir = await scratchDir('seaweed-');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const accessKey = options.accessKey ?? 'berth-test';
  const secretKey = options.secretKey ?? S3_TEST_SECRET;
  const bucket = options.bucket ?? 'berth';
  const ports = await weedPorts(freePort);
  const s3 = ports[0];
  const logFile = path.join(dir, 'weed.log');
  const endpoint = `http://127.0.0.1:${s3}`;
  const args = weedMiniArgs(path.join(dir, 'data'), ports);

  let child: ChildProcess | undefined;
  const makeClient = (): S3Client =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  const createBucket = async (name: string): Promise<void> => {
    const client = makeClient();
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } catch (error) {
      const code = (error as { name?: string }).name;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
    } finally {
      client.destroy();
    }
  };
  const start = async (): Promise<void> => {
    const out = openSync(logFile, 'a');
    // The engine takes its admin identity from the environment.
    const env = { ...process.env, AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey };
    child = startProcess(weed, args, { stdio: ['ignore', out, out], env });
    const started = child;
    await waitFor(
      `SeaweedFS S3 on ${endpoint}`,
      async () => {
        if (started.exitCode !== null) throw new Error(`weed exited with ${started.exitCode}: ${(await readFile(logFile, 'utf8')).slice(-2000)}`);
        await createBucket(bucket);
        return true;
      },
      120_000,
    );
  };
  await start();
  return {
    endpoint,
    port: s3,
    accessKey,
    secretKey,
    bucket,
    dir,
    logFile,
    s3Config: (overrides = {}) => ({
      endpoint,
      region: 'us-east-1',
      bucket,
      rootDirectory: '',
      forcePathStyle: true,
      chunkSize: 5 * 1024 * 1024,
      accessKey,
      secretKey,
      sessionToken: undefined,
      redirect: { enabled: false, expiryMs: 600_000 },
      skipVerify: false,
      caBundle: undefined,
      ...overrides,
    }),
    berthYaml: (rootDirectory, extra = '', opts = {}) =>
      [
        'storage:',
        '  s3:',
        `    endpoint: ${endpoint}`,
        `    bucket: ${bucket}`,
        `    rootDirectory: ${rootDirectory}`,
        '    chunkSize: 5242880',
        ...(opts.credentials === false ? [] : [`    accessKey: ${accessKey}`, `    secretKey: ${secretKey}`]),
        ...(opts.redirect ? ['    redirect:', '      enabled: true'] : []),
        extra,
      ].join('\n'),
    client: makeClient,
    createBucket,
    stop: async () => {
      if (child) await stopProcess(child);
    },
    start,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
  };
}
