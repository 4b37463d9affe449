// Workload 8: Berth as a pull-through mirror of distribution (the upstream, on the same
// machine). Each round a fresh big image is pushed to distribution, then pulled with
// skopeo (`docker://` -> `dir:`):
// - directly from distribution, and through the mirror for the first time (a miss: the
//   mirror fetches, stores and streams at once); alternating which goes first;
// - through the mirror again (cached), and an image pushed to the same Berth (which is
//   what "as fast as a pushed image" compares with).
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Context, Workload } from '../lib/context.js';
import { writeBigImage } from '../lib/images.js';
import type { MetricDefinition } from '../lib/results.js';
import { startBerth, type RunningServer } from '../lib/servers.js';
import { skopeoCopy } from '../lib/skopeo.js';

const seconds = { workload: '8 mirror', unit: 's', better: 'lower' } as const;
export const MIRROR_FIRST: MetricDefinition = {
  ...seconds,
  id: 'mirror-first-pull',
  label: 'pull 1 big image, first time through the mirror',
  baselineName: 'distribution (direct)',
  subjectName: 'berth mirror',
};
export const MIRROR_CACHED: MetricDefinition = {
  ...seconds,
  id: 'mirror-cached-pull',
  label: 'pull 1 big image, cached in the mirror',
  baselineName: 'berth (pushed image)',
  subjectName: 'berth mirror',
};

export function mirrorWorkload(): Workload {
  let mirror: RunningServer | undefined;

  /** Pulls `reference` from `server` into a scratch `dir:`; seconds. */
  const pull = async (ctx: Context, server: RunningServer, reference: string): Promise<number> => {
    const out = path.join(ctx.work, 'mirror-pulled');
    await rm(out, { recursive: true, force: true });
    const result = await skopeoCopy(`docker://${server.host}/${reference}`, `dir:${out}`, { srcCreds: ctx.credentials });
    await rm(out, { recursive: true, force: true });
    return result.ms / 1000;
  };

  return {
    id: 'mirror',
    title: '8. pull-through mirror: a big image pulled through the mirror, first and cached',
    async setup(ctx) {
      const config = path.join(ctx.work, 'mirror.yml');
      const upstream = { url: ctx.distribution.url, username: ctx.credentials.user, password: ctx.credentials.password };
      const dataDir = path.join(ctx.work, 'mirror-data');
      await writeFile(config, stringify({ dataDir, mirrors: [{ source: 'docker.io', upstreams: [upstream] }] }), { mode: 0o600 });
      // One process: a mirror's fetches are single-flight within it.
      mirror = await startBerth({ work: ctx.work, dataDir, htpasswd: ctx.htpasswd, credentials: ctx.credentials, configFile: config, workers: 1 });
    },
    async round(ctx, round) {
      const server = mirror!;
      const layout = path.join(ctx.work, `mirror-r${round}`);
      await rm(layout, { recursive: true, force: true });
      await writeBigImage(layout, ctx.sizes.bigLayerBytes, 'v1');
      const upstreamRef = `bench/mirror-r${round}:v1`;
      await skopeoCopy(`oci:${layout}:v1`, `docker://${ctx.distribution.host}/${upstreamRef}`, { destCreds: ctx.credentials });
      await skopeoCopy(`oci:${layout}:v1`, `docker://${server.host}/bench/pushed-r${round}:v1`, { destCreds: ctx.credentials });
      await rm(layout, { recursive: true, force: true });
      const throughMirror = `docker.io/${upstreamRef}`;
      let direct: number;
      let first: number;
      if (round % 2 === 1) {
        direct = await pull(ctx, ctx.distribution, upstreamRef);
        first = await pull(ctx, server, throughMirror);
      } else {
        first = await pull(ctx, server, throughMirror);
        direct = await pull(ctx, ctx.distribution, upstreamRef);
      }
      const cached = await pull(ctx, server, throughMirror);
      const pushed = await pull(ctx, server, `bench/pushed-r${round}:v1`);
      ctx.results.record(MIRROR_FIRST, 'subject', first);
      ctx.results.record(MIRROR_FIRST, 'baseline', direct);
      ctx.results.record(MIRROR_CACHED, 'subject', cached);
      ctx.results.record(MIRROR_CACHED, 'baseline', pushed);
      ctx.log(`  direct ${direct.toFixed(2)} s, first through the mirror ${first.toFixed(2)} s, cached ${cached.toFixed(2)} s, pushed ${pushed.toFixed(2)} s`);
    },
    async teardown() {
      await mirror?.stop();
      mirror = undefined;
    },
  };
}
