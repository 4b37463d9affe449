// Workload 3: GET throughput of one big blob, `blobClients` curl processes at a time,
// `blobFetches` GETs in all (the lab's baseline: 50 x 64 MiB, 8 at a time). nginx
// serves the very same bytes (a hard link to Berth's blob file, so the same page-cache
// pages) as the machine's raw limit for sending a file over loopback.
import { link, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { slot, type Context, type Workload } from '../lib/context.js';
import { layerOf, writeBigImage } from '../lib/images.js';
import { pool, run } from '../lib/proc.js';
import type { MetricDefinition, Side } from '../lib/results.js';
import { startNginx, type Credentials, type RunningServer } from '../lib/servers.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { tool } from '../lib/tools.js';

export const BLOB_GET: MetricDefinition = {
  id: 'blob-get',
  workload: '3 blob GET',
  label: 'blob GET throughput',
  unit: 'MiB/s',
  better: 'higher',
  baselineName: 'distribution',
  subjectName: 'berth',
  referenceName: 'nginx',
};


async function fetchOnce(url: string, bytes: number, credentials: Credentials | undefined): Promise<void> {
  const args = ['-sS', '-f', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', ...(credentials ? ['-u', `${credentials.user}:${credentials.password}`] : []), url];
  const result = await run(tool('curl'), args, { timeoutMs: 300_000 });
  const [status, size] = result.stdout.trim().split(' ');
  if (status !== '200' || Number(size) !== bytes) throw new Error(`GET ${url}: status ${status}, ${size} of ${bytes} bytes`);
}

/** MiB/s over all fetches, from the first request to the last byte. */
async function measure(ctx: Context, url: string, bytes: number, credentials: Credentials | undefined): Promise<number> {
  const fetches = Array.from({ length: ctx.sizes.blobFetches }, (_, i) => i);
  const began = performance.now();
  await pool(fetches, ctx.sizes.blobClients, () => fetchOnce(url, bytes, credentials));
  const seconds = (performance.now() - began) / 1000;
  return (fetches.length * bytes) / (1024 * 1024) / seconds;
}

export function blobGetWorkload(): Workload {
  let nginx: RunningServer | undefined;
  let blobDigest = '';
  let blobBytes = 0;
  const blobUrl = (server: RunningServer): string => `${server.url}/v2/bench/blob/blobs/${blobDigest}`;

  return {
    id: 'blob-get',
    title: '3. blob GET throughput (and nginx on the same file)',
    async setup(ctx) {
      const layout = path.join(ctx.work, 'blob-image');
      const image = await writeBigImage(layout, ctx.sizes.blobBytes, 'v1');
      blobDigest = await layerOf(layout, 'v1');
      blobBytes = image.layer.size;
      for (const server of [ctx.berth, ctx.distribution]) {
        await skopeoCopy(`oci:${layout}:v1`, `docker://${server.host}/bench/blob:v1`, { destCreds: ctx.credentials });
      }
      await rm(layout, { recursive: true, force: true });
      const www = path.join(ctx.work, 'www');
      await mkdir(www, { recursive: true });
      const hex = blobDigest.slice('sha256:'.length);
      await link(path.join(ctx.berth.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'), path.join(www, 'blob'));
      nginx = await startNginx(ctx.work, www);
      // One GET each first: every server then starts from a warm page cache.
      await fetchOnce(blobUrl(ctx.berth), blobBytes, ctx.credentials);
      await fetchOnce(blobUrl(ctx.distribution), blobBytes, ctx.credentials);
      await fetchOnce(`${nginx.url}/blob`, blobBytes, undefined);
    },
    async round(ctx, round) {
      for (const server of [ctx.berth, ctx.distribution]) {
        const side: Side = server.name === 'berth' ? 'subject' : 'baseline';
        const rate = await slot(ctx, 'blob-get', server, round, () => measure(ctx, blobUrl(server), blobBytes, ctx.credentials));
        ctx.results.record(BLOB_GET, side, rate);
        ctx.log(`  ${server.name}: ${rate.toFixed(0)} MiB/s`);
      }
      if (nginx) {
        const rate = await measure(ctx, `${nginx.url}/blob`, blobBytes, undefined);
        ctx.results.record(BLOB_GET, 'reference', rate);
        ctx.log(`  nginx: ${rate.toFixed(0)} MiB/s`);
      }
    },
    async teardown() {
      await nginx?.stop();
      nginx = undefined;
    },
  };
}
