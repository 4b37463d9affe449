// Workload 9: the registries on S3. Berth and Debian's docker-registry 2.8 each keep
// their data on the same SeaweedFS (one bucket, one prefix each), with the same htpasswd.
// Per round, each in turn (A B):
//   - push, then pull, one image with a single big layer (skopeo);
//   - blob GET throughput of one blob, streamed through the registry;
//   - the same through a second instance in redirect mode (307 to a presigned URL of the
//     engine; curl follows it and fetches from SeaweedFS);
//   - 8 pushes of a big layer at once (skopeo), the registry's peak RSS sampled.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { slot, type Context, type Workload } from '../lib/context.js';
import { layerOf, writeBigImage } from '../lib/images.js';
import { pool, run } from '../lib/proc.js';
import type { MetricDefinition, Side } from '../lib/results.js';
import { startWeed, type Weed } from '../lib/seaweedfs.js';
import { startBerth, startDistribution, type Credentials, type RunningServer } from '../lib/servers.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { tool } from '../lib/tools.js';

const common = { workload: '9 S3', baselineName: 'distribution', subjectName: 'berth' } as const;
export const S3_PUSH_BIG: MetricDefinition = { ...common, id: 's3-push-big', label: 'S3: push 1 image, 1 big layer', unit: 's', better: 'lower' };
export const S3_PULL_BIG: MetricDefinition = { ...common, id: 's3-pull-big', label: 'S3: pull 1 image, 1 big layer', unit: 's', better: 'lower' };
export const S3_BLOB_GET: MetricDefinition = { ...common, id: 's3-blob-get', label: 'S3: blob GET throughput, streamed', unit: 'MiB/s', better: 'higher' };
export const S3_BLOB_REDIRECT: MetricDefinition = { ...common, id: 's3-blob-get-redirect', label: 'S3: blob GET throughput, redirected', unit: 'MiB/s', better: 'higher' };
export const S3_PUSH_PARALLEL: MetricDefinition = { ...common, id: 's3-push-parallel', label: 'S3: 8 big pushes at once', unit: 's', better: 'lower' };
export const S3_PARALLEL_PUSHES = 8;

interface Pair {
  readonly streamed: RunningServer;
  readonly redirected: RunningServer;
}

function berthConfig(weed: Weed, prefix: string, redirect: boolean): string {
  return [
    'storage:',
    '  s3:',
    `    endpoint: ${weed.endpoint}`,
    `    bucket: ${weed.bucket}`,
    `    rootDirectory: ${prefix}`,
    `    accessKey: ${weed.accessKey}`,
    `    secretKey: ${weed.secretKey}`,
    ...(redirect ? ['    redirect:', '      enabled: true'] : []),
    '',
  ].join('\n');
}

function distributionStorage(weed: Weed, prefix: string, redirect: boolean): string {
  return [
    'storage:',
    '  s3:',
    `    regionendpoint: ${weed.endpoint}`,
    '    region: us-east-1',
    `    bucket: ${weed.bucket}`,
    `    rootdirectory: /${prefix}`,
    `    accesskey: ${weed.accessKey}`,
    `    secretkey: ${weed.secretKey}`,
    '    forcepathstyle: true',
    '    secure: false',
    '    v4auth: true',
    '  redirect:',
    `    disable: ${redirect ? 'false' : 'true'}`,
    '',
  ].join('\n');
}

async function fetchOnce(url: string, bytes: number, credentials: Credentials, follow: boolean): Promise<void> {
  // Without --location-trusted curl does not send the registry's credentials on to the
  // engine: the presigned URL carries its own signature.
  const args = ['-sS', '-f', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', ...(follow ? ['-L'] : []), '-u', `${credentials.user}:${credentials.password}`, url];
  const result = await run(tool('curl'), args, { timeoutMs: 300_000 });
  const [status, size] = result.stdout.trim().split(' ');
  if (status !== '200' || Number(size) !== bytes) throw new Error(`GET ${url}: status ${status}, ${size} of ${bytes} bytes`);
}

async function throughput(ctx: Context, url: string, bytes: number, follow: boolean): Promise<number> {
  const fetches = Array.from({ length: ctx.sizes.blobFetches }, (_, i) => i);
  const began = performance.now();
  await pool(fetches, ctx.sizes.blobClients, () => fetchOnce(url, bytes, ctx.credentials, follow));
  return (fetches.length * bytes) / (1024 * 1024) / ((performance.now() - began) / 1000);
}

export function s3Workload(): Workload {
  let weed: Weed | undefined;
  const servers = new Map<'berth' | 'distribution', Pair>();
  let blobDigest = '';
  let blobBytes = 0;

  return {
    id: 's3',
    title: '9. on S3 (SeaweedFS): big push/pull, blob GET streamed and redirected, 8 parallel pushes (peak RSS)',
    async setup(ctx) {
      weed = await startWeed(ctx.work);
      ctx.log(`  SeaweedFS pid ${weed.pid} on ${weed.endpoint}`);
      const common = { work: ctx.work, htpasswd: ctx.htpasswd, credentials: ctx.credentials };
      for (const redirect of [false, true]) {
        const file = path.join(ctx.work, `berth-s3${redirect ? '-redirect' : ''}.yaml`);
        await writeFile(file, berthConfig(weed, 'berth', redirect));
        // One worker: issue 9's targets compare one Berth process with one docker-registry.
        // Two workers (tried on 2026-12-03) streamed blob GETs no faster (371-382 against
        // 406 MiB/s) and peaked at 328 MiB in the 8 parallel pushes.
        const berth = await startBerth({ ...common, dataDir: path.join(ctx.work, 'berth-s3-local'), configFile: file, workers: 1 });
        const distribution = await startDistribution({ ...common, dataDir: path.join(ctx.work, 'distribution-s3-unused'), storageYaml: distributionStorage(weed, 'distribution', redirect) });
        for (const [name, server] of [['berth', berth], ['distribution', distribution]] as const) {
          const pair = servers.get(name);
          servers.set(name, redirect ? { streamed: pair!.streamed, redirected: server } : { streamed: server, redirected: server });
        }
      }
      const layout = path.join(ctx.work, 's3-blob-image');
      const image = await writeBigImage(layout, ctx.sizes.blobBytes, 'v1');
      blobDigest = await layerOf(layout, 'v1');
      blobBytes = image.layer.size;
      for (const pair of servers.values()) await skopeoCopy(`oci:${layout}:v1`, `docker://${pair.streamed.host}/bench/blob:v1`, { destCreds: ctx.credentials });
      await rm(layout, { recursive: true, force: true });
    },
    async round(ctx, round) {
      const layout = path.join(ctx.work, `s3-big-r${round}`);
      await writeBigImage(layout, ctx.sizes.bigLayerBytes, 'v1');
      for (const [name, pair] of servers) {
        const side: Side = name === 'berth' ? 'subject' : 'baseline';
        const server = pair.streamed;
        const reference = `docker://${server.host}/bench/s3-big-r${round}:v1`;
        const push = await skopeoCopy(`oci:${layout}:v1`, reference, { destCreds: ctx.credentials });
        const pulled = path.join(ctx.work, `s3-pulled-${name}`);
        const pull = await skopeoCopy(reference, `dir:${pulled}`, { srcCreds: ctx.credentials });
        await rm(pulled, { recursive: true, force: true });
        ctx.results.record(S3_PUSH_BIG, side, push.ms / 1000);
        ctx.results.record(S3_PULL_BIG, side, pull.ms / 1000);

        const url = (target: RunningServer): string => `${target.url}/v2/bench/blob/blobs/${blobDigest}`;
        const streamed = await throughput(ctx, url(pair.streamed), blobBytes, false);
        const redirected = await throughput(ctx, url(pair.redirected), blobBytes, true);
        ctx.results.record(S3_BLOB_GET, side, streamed);
        ctx.results.record(S3_BLOB_REDIRECT, side, redirected);

        // 8 pushes of the same fresh layer at once, to 8 repositories: each checks the blob
        // before any has committed it, so all 8 upload every byte.
        const parallel = await slot(ctx, 's3-push-parallel', server, round, async () => {
          const began = performance.now();
          await pool(
            Array.from({ length: S3_PARALLEL_PUSHES }, (_, i) => i),
            S3_PARALLEL_PUSHES,
            async (i) => void (await skopeoCopy(`oci:${layout}:v1`, `docker://${server.host}/bench/s3-par-r${round}-${i}:v1`, { destCreds: ctx.credentials })),
          );
          return (performance.now() - began) / 1000;
        });
        ctx.results.record(S3_PUSH_PARALLEL, side, parallel);
        ctx.log(
          `  ${name}: push ${(push.ms / 1000).toFixed(2)} s, pull ${(pull.ms / 1000).toFixed(2)} s, blob GET ${streamed.toFixed(0)} MiB/s streamed, ${redirected.toFixed(0)} MiB/s redirected, 8 pushes ${parallel.toFixed(1)} s`,
        );
      }
      await rm(layout, { recursive: true, force: true });
    },
    async teardown() {
      for (const pair of servers.values()) {
        await pair.streamed.stop();
        if (pair.redirected !== pair.streamed) await pair.redirected.stop();
      }
      servers.clear();
      await weed?.stop();
      weed = undefined;
    },
  };
}
