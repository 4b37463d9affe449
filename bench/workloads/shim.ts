// Workload 7: what `berth shim` adds in front of containerd's CRI plugin.
// - ImageStatus latency (p50/p99 over sequential calls from one gRPC client): direct to
//   containerd by the rewritten name, against the shim by the original name, with the
//   image on the node under its rewritten name: after a pull through the shim
//   ("cached": the rewrite cache holds the decision) and in a freshly started shim
//   ("uncached"). Also an image absent from the node, direct and through the shim.
// - PullImage wall time of an image held in the private registry (Berth): directly by
//   its rewritten name with the registry's credentials, and through the shim by its
//   original docker.io name (the shim probes Berth, rewrites, injects credentials).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Context, Workload } from '../lib/context.js';
import { startContainerd, type RunningContainerd } from '../lib/containerd.js';
import { CriImageClient } from '../lib/cri-client.js';
import { writeBigImage } from '../lib/images.js';
import { startDaemon, waitFor, type Daemon } from '../lib/proc.js';
import type { MetricDefinition } from '../lib/results.js';
import { skopeoCopy } from '../lib/skopeo.js';
import { percentile } from '../lib/stats.js';
import { BERTH_BIN } from '../lib/tools.js';

const common = { workload: '7 shim', baselineName: 'containerd (direct)', subjectName: 'berth shim' } as const;
const ms = { ...common, unit: 'ms', better: 'lower' } as const;
export const STATUS_CACHED_P50: MetricDefinition = { ...ms, id: 'shim-status-cached-p50', label: 'ImageStatus p50, rewritten image, after a shim pull' };
export const STATUS_CACHED_P99: MetricDefinition = { ...ms, id: 'shim-status-cached-p99', label: 'ImageStatus p99, rewritten image, after a shim pull' };
export const STATUS_UNCACHED_P50: MetricDefinition = { ...ms, id: 'shim-status-uncached-p50', label: 'ImageStatus p50, rewritten image, fresh shim' };
export const STATUS_UNCACHED_P99: MetricDefinition = { ...ms, id: 'shim-status-uncached-p99', label: 'ImageStatus p99, rewritten image, fresh shim' };
export const STATUS_ABSENT_P99: MetricDefinition = { ...ms, id: 'shim-status-absent-p99', label: 'ImageStatus p99, image not on the node' };
export const PULL: MetricDefinition = { ...common, id: 'shim-pull', label: 'PullImage from the private registry', unit: 's', better: 'lower' };

const ORIGINAL = 'docker.io/library/benchshim:v1';
const ABSENT = 'docker.io/library/benchabsent:v1';
const WARMUP_CALLS = 50;

/** Latencies (ms) of `count` sequential ImageStatus calls; every answer must be `expected`. */
async function statusLatencies(client: CriImageClient, image: string, count: number, expected: string | undefined): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    const id = await client.imageStatus(image);
    latencies.push(performance.now() - began);
    if (id !== expected) throw new Error(`ImageStatus ${image}: got ${id ?? 'nothing'}, expected ${expected ?? 'nothing'}`);
  }
  return latencies;
}

export function shimWorkload(): Workload {
  let containerd: RunningContainerd | undefined;
  let shim: Daemon | undefined;
  let direct: CriImageClient | undefined;
  let viaShim: CriImageClient | undefined;
  let configFile = '';
  let shimSocket = '';
  let rewritten = '';

  const startShim = async (ctx: Context): Promise<void> => {
    shim = startDaemon(process.execPath, [BERTH_BIN, 'shim', '-f', configFile], path.join(ctx.work, 'shim.log'));
    viaShim = new CriImageClient(shimSocket);
    const client = viaShim;
    const daemon = shim;
    await waitFor(
      'berth shim to answer',
      async () => {
        if (daemon.exited()) throw new Error(`berth shim exited; see ${daemon.logFile}`);
        await client.imageStatus(ABSENT);
        return true;
      },
      30_000,
    );
  };

  const stopShim = async (): Promise<void> => {
    viaShim?.close();
    viaShim = undefined;
    await shim?.stop();
    shim = undefined;
  };

  const pullOnce = async (ctx: Context, through: 'direct' | 'shim'): Promise<number> => {
    const auth = { username: ctx.credentials.user, password: ctx.credentials.password };
    await direct!.removeImage(rewritten).catch(() => undefined);
    if ((await direct!.imageStatus(rewritten)) !== undefined) throw new Error(`${rewritten} is still on the node`);
    const began = performance.now();
    const ref = through === 'direct' ? await direct!.pullImage(rewritten, auth) : await viaShim!.pullImage(ORIGINAL);
    const seconds = (performance.now() - began) / 1000;
    if (!ref) throw new Error(`PullImage ${through} returned no image reference`);
    return seconds;
  };

  return {
    id: 'shim',
    title: '7. shim overhead against containerd CRI (ImageStatus latency, PullImage time)',
    async setup(ctx) {
      containerd = await startContainerd(path.join(ctx.work, 'containerd'));
      direct = new CriImageClient(containerd.socket);
      const layout = path.join(ctx.work, 'shim-image');
      await writeBigImage(layout, ctx.sizes.shimPullLayerBytes, 'v1');
      await skopeoCopy(`oci:${layout}:v1`, `docker://${ctx.berth.host}/library/benchshim:v1`, { destCreds: ctx.credentials });
      rewritten = `${ctx.berth.host}/library/benchshim:v1`;
      shimSocket = path.join(ctx.work, 'shim.sock');
      configFile = path.join(ctx.work, 'image-cri-shim.yaml');
      await writeFile(
        configFile,
        stringify({
          shim: shimSocket,
          cri: containerd.socket,
          address: ctx.berth.url,
          auth: `${ctx.credentials.user}:${ctx.credentials.password}`,
          force: false,
          cache: { statsLogInterval: '1h' },
        }),
      );
      await startShim(ctx);
    },
    async round(ctx) {
      const pulls = ctx.quick ? 1 : 3;
      for (let i = 0; i < pulls; i++) {
        const a = await pullOnce(ctx, 'direct');
        const b = await pullOnce(ctx, 'shim');
        ctx.results.record(PULL, 'baseline', a);
        ctx.results.record(PULL, 'subject', b);
        ctx.log(`  PullImage: direct ${a.toFixed(2)} s, through the shim ${b.toFixed(2)} s`);
      }
      // The image is on the node under its rewritten name, pulled through the shim.
      const id = await direct!.imageStatus(rewritten);
      if (!id) throw new Error(`${rewritten} is not on the node after the pulls`);
      const calls = ctx.sizes.shimCalls;
      await statusLatencies(direct!, rewritten, WARMUP_CALLS, id);
      const baseline = await statusLatencies(direct!, rewritten, calls, id);
      await statusLatencies(viaShim!, ORIGINAL, WARMUP_CALLS, id);
      const cached = await statusLatencies(viaShim!, ORIGINAL, calls, id);
      await stopShim();
      await startShim(ctx);
      const uncached = await statusLatencies(viaShim!, ORIGINAL, calls, id);
      const absentDirect = await statusLatencies(direct!, ABSENT, calls, undefined);
      const absentShim = await statusLatencies(viaShim!, ABSENT, calls, undefined);
      for (const [metric, values, side] of [
        [STATUS_CACHED_P50, baseline, 'baseline'],
        [STATUS_CACHED_P99, baseline, 'baseline'],
        [STATUS_UNCACHED_P50, baseline, 'baseline'],
        [STATUS_UNCACHED_P99, baseline, 'baseline'],
        [STATUS_ABSENT_P99, absentDirect, 'baseline'],
        [STATUS_CACHED_P50, cached, 'subject'],
        [STATUS_CACHED_P99, cached, 'subject'],
        [STATUS_UNCACHED_P50, uncached, 'subject'],
        [STATUS_UNCACHED_P99, uncached, 'subject'],
        [STATUS_ABSENT_P99, absentShim, 'subject'],
      ] as const) {
        ctx.results.record(metric, side, percentile(values, metric.id.endsWith('p50') ? 50 : 99));
      }
      const show = (values: number[]): string => `p50 ${percentile(values, 50).toFixed(3)} ms, p99 ${percentile(values, 99).toFixed(3)} ms`;
      ctx.log(`  ImageStatus direct (rewritten name): ${show(baseline)}`);
      ctx.log(`  ImageStatus through the shim, after a shim pull: ${show(cached)}; fresh shim: ${show(uncached)}`);
      ctx.log(`  ImageStatus of an absent image: direct ${show(absentDirect)}; through the shim ${show(absentShim)}`);
    },
    async teardown() {
      await stopShim();
      direct?.close();
      direct = undefined;
      await containerd?.stop();
      containerd = undefined;
    },
  };
}
