// Builds the S3 client for the S3 driver from plain settings (the composition root reads
// the config file and the environment). Path-style addressing for engines that are not
// AWS (SeaweedFS, MinIO, Ceph RGW behind one host name), checksums only where a request
// requires them (most S3-compatible engines reject the newer default trailers), and
// keep-alive agents with short connect timeouts, so an unreachable engine fails fast
// (503) instead of holding requests.
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

export interface S3Settings {
  /** e.g. http://127.0.0.1:8333; undefined: AWS's own endpoint for the region. */
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly bucket: string;
  readonly rootDirectory: string;
  readonly forcePathStyle: boolean;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string | undefined;
  /** Multipart part size, bytes. */
  readonly chunkSize: number;
  /** Blob GETs answer 307 with a presigned URL valid for this long (ms); undefined: stream through. */
  readonly redirectExpiryMs: number | undefined;
  /** Do not verify the endpoint's TLS certificate (registry:2's `skipverify`). */
  readonly skipVerify: boolean;
  /** PEM bundle to trust for the endpoint's TLS certificate. */
  readonly caBundle: Buffer | undefined;
}

export const S3_DEFAULTS = {
  region: 'us-east-1',
  rootDirectory: '',
  forcePathStyle: true,
  chunkSize: 10 * 1024 * 1024,
  redirectExpiryMs: 20 * 60_000,
} as const;

const CONNECT_TIMEOUT_MS = 3_000;
/** A socket silent this long (a hung engine) fails the request. */
const SOCKET_TIMEOUT_MS = 30_000;

export function createS3Client(settings: S3Settings): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 };
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    credentials: {
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      ...(settings.sessionToken !== undefined ? { sessionToken: settings.sessionToken } : {}),
    },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent({
        ...agentOptions,
        rejectUnauthorized: !settings.skipVerify,
        ...(settings.caBundle ? { ca: settings.caBundle } : {}),
      }),
    }),
  });
}

/** `s3://bucket/prefix at endpoint`, for messages: never the credentials. */
export function describeS3(settings: Pick<S3Settings, 'bucket' | 'rootDirectory' | 'endpoint' | 'region'>): string {
  const prefix = settings.rootDirectory.replace(/^\/+|\/+$/g, '');
  return `s3://${settings.bucket}${prefix ? `/${prefix}` : ''} at ${settings.endpoint ?? `AWS ${settings.region}`}`;
}
