// Workload 4: authenticated manifest GET and HEAD by tag.
// Closed loop (GET: wrk, 2 threads; HEAD: hey, which unlike wrk handles HEAD): each
// connection sends its next request when the last answer arrives, so the rate is the
// server's capacity and latency ~ connections / rate.
// Fixed rate (paced-load.js): Poisson arrivals at a set total rate over 128 keep-alive
// connections, so p99 is the time a request takes when the server is not saturated.
// The rate offered is 100x what distribution achieves (the target), measured once
// before round 1.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { slot, type Context, type Workload } from '../lib/context.js';
import { writeSmallImages } from '../lib/images.js';
import { hey, paced, wrk, type LoadResult } from '../lib/load.js';
import type { MetricDefinition, Side } from '../lib/results.js';
import { basicAuth, startBerth, type RunningServer } from '../lib/servers.js';
import { skopeoCopy } from '../lib/skopeo.js';

const WORKLOAD = '4 manifest GET/HEAD';
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
export const FIXED_CONNECTIONS = 128;

type Method = 'GET' | 'HEAD';

function definition(id: string, label: string, unit: string, better: 'lower' | 'higher'): MetricDefinition {
  return { id, workload: WORKLOAD, label, unit, better, baselineName: 'distribution', subjectName: 'berth' };
}

export function closedRateMetric(method: Method, connections: number): MetricDefinition {
  return definition(`manifest-${method.toLowerCase()}-c${connections}-rate`, `manifest ${method} rate, closed loop, ${connections} conns`, 'req/s', 'higher');
}
export function closedP99Metric(method: Method, connections: number): MetricDefinition {
  return definition(`manifest-${method.toLowerCase()}-c${connections}-p99`, `manifest ${method} p99, closed loop, ${connections} conns`, 'ms', 'lower');
}
export function fixedP99Metric(method: Method): MetricDefinition {
  return definition(`manifest-${method.toLowerCase()}-fixed-p99`, `manifest ${method} p99 at 100x distribution's rate, ${FIXED_CONNECTIONS} conns`, 'ms', 'lower');
}
/** The same at half the target rate: a second point of the latency curve. */
export function halfRateP99Metric(method: Method): MetricDefinition {
  return definition(`manifest-${method.toLowerCase()}-fixed50-p99`, `manifest ${method} p99 at 50x distribution's rate, ${FIXED_CONNECTIONS} conns`, 'ms', 'lower');
}
/** Berth with 2 workers against Berth with 1, closed loop at 128 connections (issue 11). */
export const WORKER_SCALING: MetricDefinition = {
  id: 'manifest-get-c128-workers',
  workload: WORKLOAD,
  label: 'manifest GET rate, closed loop, 128 conns: 2 workers vs 1',
  unit: 'req/s',
  better: 'higher',
  baselineName: 'berth, 1 worker',
  subjectName: 'berth, 2 workers',
};

export function fixedRateMetric(method: Method): MetricDefinition {
  return definition(`manifest-${method.toLowerCase()}-fixed-rate`, `manifest ${method} rate achieved at the fixed offered rate`, 'req/s', 'higher');
}

export function manifestWorkload(): Workload {
  let offeredRate = 0;
  /** The same data directory served by Berth with one worker: the scaling baseline. */
  let single: RunningServer | undefined;

  const url = (server: RunningServer): string => `${server.url}/v2/bench/manifest/manifests/v1`;
  const headers = (ctx: Context): Record<string, string> => ({ Authorization: basicAuth(ctx.credentials), Accept: ACCEPT });
  /** False when nothing completed in a quick run's short window (distribution: bcrypt per request). */
  const check = (ctx: Context, server: RunningServer, what: string, result: LoadResult): boolean => {
    if (result.errors > 0) throw new Error(`${server.name} ${what}: ${result.errors} failed requests of ${result.requests}`);
    if (result.requests > 0) return true;
    if (ctx.quick && server.name === 'distribution') {
      ctx.log(`  ${server.name}: ${what}: no request completed within the quick run's window`);
      return false;
    }
    throw new Error(`${server.name} ${what}: no request completed`);
  };

  const runServer = async (ctx: Context, server: RunningServer, side: Side): Promise<void> => {
    const seconds = ctx.sizes.manifestSeconds;
    for (const connections of ctx.sizes.manifestConnections) {
      for (const method of ['GET', 'HEAD'] as const) {
        const result =
          method === 'GET'
            ? await wrk({ url: url(server), method, headers: headers(ctx), connections, seconds, threads: 2, work: ctx.work })
            : await hey({ url: url(server), method, headers: headers(ctx), connections, seconds, rate: undefined });
        if (!check(ctx, server, `${method} c${connections}`, result)) continue;
        ctx.results.record(closedRateMetric(method, connections), side, result.requestsPerSecond);
        ctx.results.record(closedP99Metric(method, connections), side, result.p99Ms);
        ctx.log(`  ${server.name}: ${method} c${connections} ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`);
      }
    }
    // Distribution cannot sustain 100x its own rate by definition: only Berth runs at the fixed rate.
    if (server.name !== 'berth') return;
    for (const [rate, p99Metric] of [
      [offeredRate, fixedP99Metric],
      [offeredRate / 2, halfRateP99Metric],
    ] as const) {
      for (const method of ['GET', 'HEAD'] as const) {
        const result = await paced({ url: url(server), method, headers: headers(ctx), connections: FIXED_CONNECTIONS, rate, seconds });
        if (!check(ctx, server, `${method} at ${rate}/s`, result)) continue;
        ctx.results.record(p99Metric(method), side, result.p99Ms);
        if (rate === offeredRate) ctx.results.record(fixedRateMetric(method), side, result.requestsPerSecond);
        ctx.log(
          `  ${server.name}: ${method} offered ${rate}/s over ${FIXED_CONNECTIONS} conns: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms (generator send lag p99 ${result.sendLagP99Ms.toFixed(2)} ms${result.dropped > 0 ? `, ${result.dropped} arrivals dropped: saturated` : ''})`,
        );
      }
    }
  };

  return {
    id: 'manifest',
    title: '4. authenticated manifest GET/HEAD: closed-loop rate and p99, and p99 at a fixed rate',
    async setup(ctx) {
      const layout = path.join(ctx.work, 'manifest-image');
      await writeSmallImages(layout, [{ prefix: 'v', count: 1 }]);
      for (const server of [ctx.berth, ctx.distribution]) {
        await skopeoCopy(`oci:${layout}:v1`, `docker://${server.host}/bench/manifest:v1`, { destCreds: ctx.credentials });
      }
      await rm(layout, { recursive: true, force: true });
      single = await startBerth({ work: ctx.work, dataDir: ctx.berth.dataDir, htpasswd: ctx.htpasswd, credentials: ctx.credentials, workers: 1 });
      if (ctx.quick) {
        offeredRate = 200;
        return;
      }
      const calibration = await wrk({ url: url(ctx.distribution), method: 'GET', headers: headers(ctx), connections: 16, seconds: 5, threads: 2, work: ctx.work });
      check(ctx, ctx.distribution, 'calibration', calibration);
      offeredRate = Math.max(1000, Math.ceil((100 * calibration.requestsPerSecond) / 500) * 500);
      ctx.results.notes.push(
        `Fixed-rate runs offer ${offeredRate} req/s: 100x distribution's ${calibration.requestsPerSecond.toFixed(1)} req/s (5 s calibration, 16 connections), rounded up to a multiple of 500.`,
      );
      ctx.log(`  distribution calibration: ${calibration.requestsPerSecond.toFixed(1)} req/s -> fixed-rate runs offer ${offeredRate} req/s`);
    },
    async round(ctx, round) {
      await slot(ctx, 'manifest', ctx.berth, round, () => runServer(ctx, ctx.berth, 'subject'));
      await slot(ctx, 'manifest', ctx.distribution, round, () => runServer(ctx, ctx.distribution, 'baseline'));
      // Scaling: the closed-loop GET rate at 128 connections, 1 worker then 2, back to back.
      for (const [server, side] of [
        [single!, 'baseline'],
        [ctx.berth, 'subject'],
      ] as const) {
        const result = await wrk({ url: url(server), method: 'GET', headers: headers(ctx), connections: 128, seconds: ctx.sizes.manifestSeconds, threads: 2, work: ctx.work });
        check(ctx, server, 'GET c128 (scaling)', result);
        ctx.results.record(WORKER_SCALING, side, result.requestsPerSecond);
        ctx.log(`  berth, ${side === 'baseline' ? '1 worker' : '2 workers'}: GET c128 ${result.requestsPerSecond.toFixed(0)} req/s`);
      }
    },
    async teardown() {
      await single?.stop();
      single = undefined;
    },
  };
}
