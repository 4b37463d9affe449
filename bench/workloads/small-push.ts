// Workload 2: many distinct small images, pushed one skopeo process after another, then
// another set pushed by `smallParallel` skopeo processes at once. Fresh images every
// round, shared by both registries within the round.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { slot, type Context, type Workload } from '../lib/context.js';
import { writeSmallImages } from '../lib/images.js';
import { pool } from '../lib/proc.js';
import type { MetricDefinition } from '../lib/results.js';
import type { RunningServer } from '../lib/servers.js';
import { skopeoCopy } from '../lib/skopeo.js';

const common = { workload: '2 small pushes', unit: 's', better: 'lower', baselineName: 'distribution', subjectName: 'berth' } as const;
export const PUSH_SMALL_SEQUENTIAL: MetricDefinition = { ...common, id: 'push-small-seq', label: 'push small images one after another' };
export const PUSH_SMALL_PARALLEL: MetricDefinition = { ...common, id: 'push-small-par', label: 'push small images in parallel' };

async function pushAll(ctx: Context, server: RunningServer, layout: string, tags: readonly string[], parallel: number, repoPrefix: string): Promise<number> {
  const began = performance.now();
  await pool(tags, parallel, async (tag) => {
    await skopeoCopy(`oci:${layout}:${tag}`, `docker://${server.host}/${repoPrefix}-${tag}:1`, { destCreds: ctx.credentials });
  });
  return (performance.now() - began) / 1000;
}

export const smallPush: Workload = {
  id: 'small-push',
  title: '2. small images pushed one after another, then in parallel',
  async round(ctx, round) {
    const { smallCount, smallParallel } = ctx.sizes;
    const layout = path.join(ctx.work, `small-r${round}`);
    await rm(layout, { recursive: true, force: true });
    const images = await writeSmallImages(layout, [
      { prefix: 's', count: smallCount },
      { prefix: 'p', count: smallCount },
    ]);
    const sequential = images.filter((image) => image.tag.startsWith('s')).map((image) => image.tag);
    const parallel = images.filter((image) => image.tag.startsWith('p')).map((image) => image.tag);
    for (const server of [ctx.berth, ctx.distribution]) {
      const side = server.name === 'berth' ? 'subject' : 'baseline';
      await slot(ctx, 'small-push', server, round, async () => {
        const seq = await pushAll(ctx, server, layout, sequential, 1, `bench/small-r${round}`);
        const par = await pushAll(ctx, server, layout, parallel, smallParallel, `bench/small-r${round}`);
        ctx.results.record(PUSH_SMALL_SEQUENTIAL, side, seq);
        ctx.results.record(PUSH_SMALL_PARALLEL, side, par);
        ctx.log(`  ${server.name}: ${smallCount} sequential ${seq.toFixed(2)} s (${((seq * 1000) / smallCount).toFixed(0)} ms/image), ${smallCount} with ${smallParallel} in parallel ${par.toFixed(2)} s`);
      });
    }
    await rm(layout, { recursive: true, force: true });
  },
};
