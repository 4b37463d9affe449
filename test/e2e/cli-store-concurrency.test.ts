// The local image store under concurrent `berth` processes on one root: two chains of
// pulls of six different images, six tags of one image a pull/rmi churn loop and a tag/rmi loop
// (each rmi runs a garbage collection while the pulls are writing blobs) all at once. Afterwards every
// name is there, every image is complete (berth save reads and verifies every blob;
// skopeo reads the store as an OCI layout), and no lease or temp file is left.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { TestRegistry } from '../support/berth.js';
import { cliSandbox, type CliSandbox } from '../support/cli-sandbox.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, writeImage } from '../support/images.js';
import { startProxy, type TestProxy } from '../support/proxy.js';
import { stopAll } from '../support/process.js';
import { skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

const IMAGES = 6;
const CHURN_ROUNDS = 6;

let work: string;
let hub: TestRegistry;
let cli: CliSandbox;
/** Holds each request a while, so a pull has blobs no index entry names for longer. */
let slow: TestProxy;

before(async () => {
  work = await scratchDir('cli-concurrency-');
  [hub, cli] = await Promise.all([startDistribution(), cliSandbox('cli-concurrency-home-')]);
  const layout = new LayoutWriter(path.join(work, 'layout'));
  const names = [...Array.from({ length: IMAGES }, (_, i) => `img${i}`), 'base', 'churn'];
  for (const name of names) {
    const image = await writeImage(layout, { seed: `concurrency-${name}`, layers: 4, layerSize: 256 * 1024 });
    layout.tag(image.manifest, name);
  }
  await layout.save();
  for (const name of names) await skopeoCopy(`oci:${layout.dir}:${name}`, `docker://${hub.host}/team/${name}:v1`, { dest: hub });
  slow = await startProxy(hub.host, { delayMs: 1000 });
});

after(async () => {
  await slow?.close();
  await hub?.stop();
  await stopAll();
  await removeScratchDirs();
});

test('concurrent pulls, tags and pull/rmi loops leave a complete, consistent store', async () => {
  const base = `${hub.host}/team/base:v1`;
  await cli.berth(['pull', '-q', base]);
  const churn = async (): Promise<void> => {
    for (let round = 0; round < CHURN_ROUNDS; round++) {
      await cli.berth(['pull', '-q', `${hub.host}/team/churn:v1`]);
      await cli.berth(['rmi', `${hub.host}/team/churn:v1`]);
    }
  };
  // Two chains of pulls run next to the churn, so collections keep landing while
  // pulls have written blobs that no index entry names yet.
  const pulls = async (first: number): Promise<void> => {
    for (let i = first; i < IMAGES; i += 2) await cli.berth(['pull', '-q', `${slow.host}/team/img${i}:v1`]);
  };
  // And a collector: every rmi runs a garbage collection, for as long as pulls run.
  let pulling = true;
  const collector = async (): Promise<void> => {
    for (let round = 0; pulling && round < 100; round++) {
      await cli.berth(['tag', base, 'team/collect:now']);
      await cli.berth(['rmi', 'team/collect:now']);
    }
  };
  const pullChains = Promise.all([pulls(0), pulls(1)]).finally(() => {
    pulling = false;
  });
  await Promise.all([pullChains, collector(), ...Array.from({ length: IMAGES }, (_, i) => cli.berth(['tag', base, `team/base:t${i}`])), churn()]);

  const rows = JSON.parse((await cli.berth(['images', '--json'])).stdout) as Array<{ Name: string }>;
  const expected = [
    base,
    ...Array.from({ length: IMAGES }, (_, i) => `${slow.host}/team/img${i}:v1`),
    ...Array.from({ length: IMAGES }, (_, i) => `docker.io/team/base:t${i}`),
  ].sort();
  assert.deepEqual(rows.map((row) => row.Name).sort(), expected);

  // save opens and verifies every blob of every image: a lost or torn blob fails it.
  await cli.berth(['save', '-o', path.join(work, 'all.tar'), ...expected]);
  for (const name of [`${slow.host}/team/img0:v1`, `${slow.host}/team/img${IMAGES - 1}:v1`]) {
    await skopeo(['inspect', `oci:${cli.storeRoot}:${name}`]);
  }
  assert.deepEqual(await readdir(path.join(cli.storeRoot, 'leases')), [], 'every command released its lease');
  assert.deepEqual(await readdir(path.join(cli.storeRoot, 'ingest')), [], 'no temp file is left');
  assert.deepEqual((await readdir(cli.storeRoot)).filter((name) => name.includes('.tmp') || name.endsWith('.lock')), []);
});
