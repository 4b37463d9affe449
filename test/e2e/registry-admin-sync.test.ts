// `berth registry sync` from docker-registry 2.8 to a Berth registry process, counted
// from both access logs: the first run copies everything but one image whose manifest
// blob was deleted from the source's disk (reported, the rest goes on); after a new
// tag at the source, the second run transfers exactly the new blobs and one manifest.
// `berth registry copy` keeps the source path under the destination.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, writeLogins, type CliSandbox } from '../support/cli-sandbox.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, seededBytes, sha256, writeImage, writeIndex, type BuiltImage, type BuiltIndex, type Descriptor } from '../support/images.js';
import { stopAll } from '../support/process.js';
import { credsFor, skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let source: TestRegistry;
let target: TestRegistry;
let home: CliSandbox;
let layout: LayoutWriter;
let base: BuiltImage;
let second: BuiltImage;
let multi: BuiltIndex;
let broken: BuiltImage;

/**
 * What Berth's log says was written: finished uploads ("blob pushed", with the digest),
 * and request lines of manifest PUTs answered 201.
 */
function berthWrites(log: string): { blobs: string[]; uploadPuts: number; manifests: string[] } {
  const blobs: string[] = [];
  const manifests: string[] = [];
  let uploadPuts = 0;
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; method?: string; path?: string; status?: number; digest?: string };
    if (entry.msg === 'blob pushed' && entry.digest) blobs.push(entry.digest);
    if (entry.msg !== 'request' || entry.status !== 201 || entry.method !== 'PUT' || !entry.path) continue;
    if (entry.path.includes('/blobs/uploads/')) uploadPuts += 1;
    if (entry.path.includes('/manifests/')) manifests.push(entry.path);
  }
  return { blobs, uploadPuts, manifests };
}

/** docker-registry's access log (combined format): blob GETs. */
function distributionBlobGets(log: string): string[] {
  return [...log.matchAll(/"GET (\/v2\/[^ ]+\/blobs\/sha256:[0-9a-f]{64}) HTTP/g)].map((m) => m[1]!);
}

/** A new image sharing `shared`'s layers, plus one layer of its own and its own config. */
async function writeDerived(writer: LayoutWriter, shared: BuiltImage, seed: string): Promise<{ manifest: Descriptor; newBlobs: string[] }> {
  // gzip: skopeo pushes gzip layers as they are (a plain tar it would recompress).
  const extra = await writer.blob('application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(seededBytes(`${seed}-layer`, 20_000), { level: 1 }));
  const config = await writer.blob('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, seed })));
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [...shared.layers, extra] }));
  const manifest = await writer.blob('application/vnd.oci.image.manifest.v1+json', bytes);
  return { manifest, newBlobs: [extra.digest, config.digest] };
}

before(async () => {
  const work = await scratchDir('registry-sync-');
  source = await startDistribution({ user: TEST_USER, password: TEST_PASSWORD, accessLog: true });
  target = await startBerthProcess([]);
  home = await cliSandbox();
  await writeLogins(home.authFile, { [source.host]: { user: TEST_USER, password: TEST_PASSWORD }, [target.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  layout = new LayoutWriter(path.join(work, 'layout'));
  base = await writeImage(layout, { seed: 'sync-base', layers: 3, layerSize: 50_000 });
  second = await writeImage(layout, { seed: 'sync-second', layers: 1 });
  multi = await writeIndex(layout, { seed: 'sync-multi' });
  broken = await writeImage(layout, { seed: 'sync-broken', layers: 1 });
  layout.tag(base.manifest, 'base');
  layout.tag(second.manifest, 'second');
  layout.tag(multi.index, 'multi');
  layout.tag(broken.manifest, 'broken');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:base`, `docker://${source.host}/apps/web:1.0`, { dest: source });
  await skopeoCopy(`oci:${layout.dir}:second`, `docker://${source.host}/apps/worker:2.0`, { dest: source });
  await skopeoCopy(`oci:${layout.dir}:multi`, `docker://${source.host}/infra/pause:3.9`, { dest: source, extra: ['--all', '--preserve-digests'] });
  await skopeoCopy(`oci:${layout.dir}:broken`, `docker://${source.host}/apps/broken:1`, { dest: source });
  // The source cannot read this one any more: its manifest blob is gone from the disk.
  const hex = broken.manifest.digest.slice(7);
  await rm(path.join(source.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), { recursive: true });
});

after(async () => {
  await source.stop();
  await target.stop();
  await stopAll();
  await removeScratchDirs();
});

async function digestAt(registry: TestRegistry, reference: string): Promise<string> {
  const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', ...credsFor(registry), `docker://${registry.host}/${reference}`]);
  return sha256(raw.stdout);
}

test('sync copies every repository and tag; an unreadable image is reported and the rest are copied', async () => {
  const first = await home.berth(['registry', 'sync', source.host, target.host, '--all-platforms', '--max-procs', '4'], { allowFailure: true });
  assert.match(oneErrorLine(first), /1 of 4 image\(s\) failed: .*apps\/broken:1/);
  assert.match(first.stdout, /FAILED .*apps\/broken:1/);
  assert.match(first.stdout, /Sync finished with failures: 4 image\(s\): 3 copied, 0 up to date, 1 failed/);
  assert.equal(await digestAt(target, 'apps/web:1.0'), base.manifest.digest);
  assert.equal(await digestAt(target, 'apps/worker:2.0'), second.manifest.digest);
  assert.equal(await digestAt(target, 'infra/pause:3.9'), multi.index.digest);
  for (const image of multi.images) assert.equal(await digestAt(target, `infra/pause@${image.manifest.digest}`), image.manifest.digest);
  const writes = berthWrites(await target.logs());
  // 4 blobs of apps/web, 2 of apps/worker, 2 per platform of infra/pause.
  assert.equal(writes.blobs.length, 4 + 2 + 4);
  assert.equal(writes.uploadPuts, writes.blobs.length);
  assert.equal(writes.manifests.length, 3 + 2); // three tags and two index children
});

test('a new tag at the source: the second sync transfers only its new blobs and manifest', async () => {
  const derived = await writeDerived(layout, base, 'sync-derived');
  layout.tag(derived.manifest, 'derived');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:derived`, `docker://${source.host}/apps/web:1.1`, { dest: source });

  await new Promise((resolve) => setTimeout(resolve, 500)); // let both logs catch up
  const targetBefore = berthWrites(await target.logs());
  const sourceBefore = distributionBlobGets(await source.logs()).length;
  const run = await home.berth(['registry', 'sync', source.host, target.host, '--all-platforms'], { allowFailure: true });
  assert.match(run.stdout, /5 image\(s\): 1 copied, 3 up to date, 1 failed; 2 blob\(s\)/);
  assert.match(run.stdout, /copied .*apps\/web:1\.1 .*: 2 blob\(s\) transferred .*, 3 already there/);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const targetAfter = berthWrites(await target.logs());
  const newUploads = targetAfter.blobs.slice(targetBefore.blobs.length);
  assert.deepEqual(newUploads.sort(), [...derived.newBlobs].sort(), 'the destination received exactly the new blobs');
  assert.equal(targetAfter.uploadPuts - targetBefore.uploadPuts, 2);
  assert.deepEqual(targetAfter.manifests.slice(targetBefore.manifests.length), ['/v2/apps/web/manifests/1.1']);
  const sourceGets = distributionBlobGets(await source.logs()).slice(sourceBefore);
  assert.deepEqual(sourceGets.map((p) => p.slice(-71)).sort(), [...derived.newBlobs].sort(), 'the source served exactly the new blobs');
  assert.equal(await digestAt(target, 'apps/web:1.1'), derived.manifest.digest);
  assert.equal(await digestAt(target, 'apps/web:1.0'), base.manifest.digest);
});

test('copy puts DST/<path minus registry>; sync and copy refuse unreachable ends before doing anything', async () => {
  const other = await startBerthProcess([]);
  await writeLogins(home.authFile, { [source.host]: { user: TEST_USER, password: TEST_PASSWORD }, [other.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const copied = await home.berth(['registry', 'copy', `${source.host}/apps/web:1.0`, `${source.host}/infra/pause:3.9`, other.host, '-a']);
  assert.match(copied.stdout, /Copy image completed: 2 image\(s\): 2 copied/);
  assert.equal(await digestAt(other, 'apps/web:1.0'), base.manifest.digest);
  assert.equal(await digestAt(other, 'infra/pause:3.9'), multi.index.digest);
  const again = await home.berth(['registry', 'copy', `${source.host}/apps/web:1.0`, other.host]);
  assert.match(again.stdout, /up to date .*apps\/web:1\.0/);

  const down = await home.berth(['registry', 'sync', '127.0.0.1:9', other.host], { allowFailure: true });
  assert.match(oneErrorLine(down), /source registry http:\/\/127\.0\.0\.1:9 is not reachable: connection refused/);
  const wrongDst = await home.berth(['registry', 'sync', source.host, 'http://127.0.0.1:9'], { allowFailure: true });
  assert.match(oneErrorLine(wrongDst), /destination registry http:\/\/127\.0\.0\.1:9 is not reachable/);
  await other.stop();
});
