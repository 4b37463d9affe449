// Workload 1: push, then pull, one image with a single big random layer, with skopeo
// (`oci:` -> `docker://` -> `dir:`). Each round writes a fresh image, so no registry
// (and no skopeo blob cache) has seen its bytes; both registries get the same image.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { slot, type Context, type Workload } from '../lib/context.js';
import { writeBigImage } from '../lib/images.js';
import type { MetricDefinition } from '../lib/results.js';
import type { RunningServer } from '../lib/servers.js';
import { skopeoCopy } from '../lib/skopeo.js';

const common = { workload: '1 push/pull', unit: 's', better: 'lower', baselineName: 'distribution', subjectName: 'berth' } as const;
export const PUSH_BIG: MetricDefinition = { ...common, id: 'push-big', label: 'push 1 image, 1 big layer' };
export const PULL_BIG: MetricDefinition = { ...common, id: 'pull-big', label: 'pull 1 image, 1 big layer' };

async function pushThenPull(ctx: Context, server: RunningServer, layout: string, tag: string, round: number): Promise<void> {
  const side = server.name === 'berth' ? 'subject' : 'baseline';
  const reference = `docker://${server.host}/bench/big-r${round}:${tag}`;
  const push = await skopeoCopy(`oci:${layout}:${tag}`, reference, { destCreds: ctx.credentials });
  const pulled = path.join(ctx.work, `pulled-${server.name}`);
  await rm(pulled, { recursive: true, force: true });
  const pull = await skopeoCopy(reference, `dir:${pulled}`, { srcCreds: ctx.credentials });
  // skopeo verified every digest; check the size too, so a short read cannot pass.
  const files = await readdir(pulled);
  let bytes = 0;
  for (const file of files) bytes += (await stat(path.join(pulled, file))).size;
  if (bytes < ctx.sizes.bigLayerBytes) throw new Error(`pull from ${server.name} wrote only ${bytes} bytes`);
  await rm(pulled, { recursive: true, force: true });
  ctx.results.record(PUSH_BIG, side, push.ms / 1000);
  ctx.results.record(PULL_BIG, side, pull.ms / 1000);
  ctx.log(`  ${server.name}: push ${(push.ms / 1000).toFixed(2)} s, pull ${(pull.ms / 1000).toFixed(2)} s`);
}

export const pushPull: Workload = {
  id: 'push-pull',
  title: '1. push then pull one image with a single big layer',
  async round(ctx, round) {
    const layout = path.join(ctx.work, `big-r${round}`);
    await rm(layout, { recursive: true, force: true });
    await writeBigImage(layout, ctx.sizes.bigLayerBytes, 'v1');
    for (const server of [ctx.berth, ctx.distribution]) {
      await slot(ctx, 'push-pull', server, round, () => pushThenPull(ctx, server, layout, 'v1', round));
    }
    await rm(layout, { recursive: true, force: true });
  },
};
