// Archives without any daemon: berth save → berth load keeps names and digests
// (single images and whole multi-platform indexes, plain and gzipped); a synthetic
// legacy docker-save archive (layer.tar files, one a symlink to another) loads with the
// same config digest and a reproducible manifest; a partial index loads the chosen
// platform; corrupt archives are refused and leave the store exactly as it was.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { ArchiveError } from '../../src/archive/errors.js';
import { loadArchive } from '../../src/archive/load.js';
import { saveArchive } from '../../src/archive/save.js';
import { copyImage } from '../../src/client/copy-image.js';
import { ImageStore } from '../../src/store/image-store.js';
import { entryName, type IndexEntry } from '../../src/store/index-file.js';
import { StoreTarget } from '../../src/store/store-content.js';
import { tarDirectory } from '../support/archive.js';
import { LayoutWriter, seededBytes, sha256, writeImage, writeIndex, type BuiltImage, type BuiltIndex } from '../support/images.js';
import { layoutReader } from '../support/layout-reader.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };

let work: string;
let source: ImageStore;
let single: BuiltImage;
let multi: BuiltIndex;

before(async () => {
  work = await scratchDir('archive-unit-');
  const layout = new LayoutWriter(path.join(work, 'layout'));
  single = await writeImage(layout, { seed: 'archive-single', layers: 2, layerSize: 16 * 1024 });
  multi = await writeIndex(layout, { seed: 'archive-multi' });
  layout.tag(single.manifest, 'single');
  layout.tag(multi.index, 'multi');
  await layout.save();
  source = await ImageStore.open(path.join(work, 'source'));
  const lease = await source.lease();
  await copyImage(layoutReader(layout.dir), new StoreTarget(source, lease), 'single', ['example.test/app:v1', 'example.test/app:latest'], {});
  await copyImage(layoutReader(layout.dir), new StoreTarget(source, lease), 'multi', ['example.test/multi:v1'], { allPlatforms: true });
  await lease.release();
});

after(removeScratchDirs);

async function entryFor(store: ImageStore, name: string): Promise<IndexEntry> {
  const entry = (await store.entries()).find((e) => entryName(e) === name);
  assert.ok(entry, `${name} is in the store`);
  return entry;
}

async function snapshot(store: ImageStore): Promise<string> {
  const index = await readFile(path.join(store.root, 'index.json'), 'utf8').catch(() => '');
  const blobs = (await store.blobs.list()).map((b) => b.digest).sort();
  return JSON.stringify({ index, blobs });
}

async function load(store: ImageStore, file: string, options: { platform?: typeof AMD64; allPlatforms?: boolean } = {}): ReturnType<typeof loadArchive> {
  return loadArchive(store, createReadStream(file), file, { defaultPlatform: AMD64, ...options });
}

test('save then load keeps names, manifest digests and the whole index (plain and gzip)', async () => {
  for (const gzip of [false, true]) {
    const file = path.join(work, gzip ? 'both.tgz' : 'both.tar');
    const images = [
      { descriptor: await entryFor(source, 'example.test/app:v1'), names: ['example.test/app:v1', 'example.test/app:latest'] },
      { descriptor: await entryFor(source, 'example.test/multi:v1'), names: ['example.test/multi:v1'] },
    ];
    const result = await saveArchive(source, images, file, { gzip, platform: AMD64 });
    assert.deepEqual(result.withoutDockerEntry, []);
    const head = (await readFile(file)).subarray(0, 2);
    assert.equal(head[0] === 0x1f && head[1] === 0x8b, gzip);

    const target = await ImageStore.open(path.join(work, `target-${gzip}`));
    const loaded = await load(target, file);
    assert.equal(loaded.format, 'oci');
    assert.equal((await entryFor(target, 'example.test/app:v1')).digest, single.manifest.digest);
    assert.equal((await entryFor(target, 'example.test/app:latest')).digest, single.manifest.digest);
    assert.equal((await entryFor(target, 'example.test/multi:v1')).digest, multi.index.digest);
    for (const image of multi.images) assert.ok((await target.blobs.size(image.layers[0]!.digest)) !== undefined);
  }
});

test("docker's manifest.json lists the chosen platform of an index", async () => {
  const file = path.join(work, 'multi.tar');
  await saveArchive(source, [{ descriptor: await entryFor(source, 'example.test/multi:v1'), names: ['example.test/multi:v1'] }], file, { platform: ARM64 });
  const manifest = await tarEntry(file, 'manifest.json');
  const [entry] = JSON.parse(manifest.toString('utf8')) as Array<{ Config: string; RepoTags: string[] }>;
  assert.equal(entry?.Config, `blobs/sha256/${multi.images[1]!.config.digest.slice(7)}`);
  assert.deepEqual(entry?.RepoTags, ['example.test/multi:v1']);
});

test('an index the archive holds only in part loads the chosen platform; --all-platforms refuses it', async () => {
  // What `ctr images export` of one platform writes: the index, one child's blobs.
  const dir = path.join(work, 'partial');
  const layout = new LayoutWriter(dir);
  const built = await writeIndex(layout, { seed: 'archive-partial' });
  layout.tag(built.index, 'example.test/partial:v1');
  await layout.save();
  const arm = built.images[1]!;
  for (const digest of [arm.manifest.digest, arm.config.digest, arm.layers[0]!.digest]) await rm(path.join(dir, 'blobs', 'sha256', digest.slice(7)));
  const file = path.join(work, 'partial.tar');
  await tarDirectory(dir, file);
  const store = await ImageStore.open(path.join(work, 'partial-store'));
  await load(store, file);
  assert.equal((await entryFor(store, 'example.test/partial:v1')).digest, built.images[0]!.manifest.digest);
  const before = await snapshot(store);
  await assert.rejects(load(store, file, { allPlatforms: true }), ArchiveError);
  await assert.rejects(load(store, file, { platform: ARM64 }), /no linux\/arm64\/v8 image/);
  assert.equal(await snapshot(store), before);
});

/** A legacy `docker save` archive of `image` built from its layout blobs. */
async function legacyArchive(image: BuiltImage, layoutDir: string, options: { diffIdOverride?: string; dropLayer?: boolean } = {}): Promise<Buffer> {
  const pack = tarStream.pack();
  const blob = (digest: string): Promise<Buffer> => readFile(path.join(layoutDir, 'blobs', 'sha256', digest.slice(7)));
  const config = JSON.parse((await blob(image.config.digest)).toString('utf8')) as { rootfs: { diff_ids: string[] } };
  if (options.diffIdOverride) config.rootfs.diff_ids[0] = options.diffIdOverride;
  const configBytes = options.diffIdOverride ? Buffer.from(JSON.stringify(config)) : await blob(image.config.digest);
  const configName = `${sha256(configBytes).slice(7)}.json`;
  pack.entry({ name: configName }, configBytes);
  const layers: string[] = [];
  for (const [i, layer] of image.layers.entries()) {
    const tar = gunzipSync(await blob(layer.digest));
    const dir = `layer${i}`;
    pack.entry({ name: `${dir}/`, type: 'directory' });
    if (!(options.dropLayer && i === 1)) pack.entry({ name: `${dir}/layer.tar` }, tar);
    layers.push(`${dir}/layer.tar`);
  }
  // docker writes a repeated layer as a symlink to the first copy.
  pack.entry({ name: 'dup/layer.tar', type: 'symlink', linkname: '../layer0/layer.tar' });
  pack.entry({ name: 'manifest.json' }, Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['example.test/legacy:v1'], Layers: layers }])));
  pack.entry({ name: 'repositories' }, Buffer.from('{}'));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test('a legacy docker-save archive loads with the same config digest and a reproducible manifest', async () => {
  const layoutDir = path.join(work, 'layout');
  const file = path.join(work, 'legacy.tar');
  await writeFile(file, await legacyArchive(single, layoutDir));
  const first = await ImageStore.open(path.join(work, 'legacy-1'));
  const second = await ImageStore.open(path.join(work, 'legacy-2'));
  const a = await load(first, file);
  await writeFile(`${file}.gz`, gzipSync(await readFile(file)));
  const b = await load(second, `${file}.gz`);
  assert.equal(a.format, 'docker');
  assert.equal(a.images[0]?.id, single.config.digest);
  assert.equal(a.images[0]?.descriptor.digest, b.images[0]?.descriptor.digest, 'gzip of the layers is deterministic');
  const manifest = JSON.parse((await first.blobs.read(a.images[0]!.descriptor.digest)).toString('utf8')) as { config: { digest: string }; layers: Array<{ mediaType: string }> };
  assert.equal(manifest.config.digest, single.config.digest);
  assert.deepEqual(manifest.layers.map((l) => l.mediaType), ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip']);
  assert.equal((await entryFor(first, 'example.test/legacy:v1')).digest, a.images[0]!.descriptor.digest);
});

test('corrupt archives are refused with a one-line reason and change nothing', async () => {
  const store = await ImageStore.open(path.join(work, 'corrupt-store'));
  await load(store, path.join(work, 'both.tar'));
  const before = await snapshot(store);
  const layoutDir = path.join(work, 'layout');
  const good = await readFile(path.join(work, 'both.tar'));
  const cases: Record<string, Buffer> = {
    truncated: good.subarray(0, Math.floor(good.length / 2)),
    'truncated gzip': gzipSync(good).subarray(0, 4000),
    garbage: seededBytes('garbage', 4096),
    'no manifest': await tarOf({ 'hello.txt': Buffer.from('hi') }),
    'diff ID mismatch': await legacyArchive(single, layoutDir, { diffIdOverride: sha256('not this layer') }),
    'missing layer': await legacyArchive(single, layoutDir, { dropLayer: true }),
    'flipped blob byte': flipBlobByte(good, single.layers[0]!.digest),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const file = path.join(work, `corrupt-${name.replace(/ /g, '-')}.tar`);
    await writeFile(file, bytes);
    await assert.rejects(load(store, file), (error: unknown) => {
      assert.ok(error instanceof ArchiveError, `${name}: ${String(error)}`);
      assert.ok(!error.message.includes('\n'), `${name}: one line`);
      return true;
    });
    assert.equal(await snapshot(store), before, `${name} changed the store`);
  }
  assert.deepEqual(await readdir(path.join(store.root, 'ingest')), [], 'staging is cleaned up');
});

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function tarEntry(file: string, name: string): Promise<Buffer> {
  const extract = tarStream.extract();
  createReadStream(file).pipe(extract);
  let found: Buffer | undefined;
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    if (entry.header.name === name) found = Buffer.concat(chunks);
  }
  assert.ok(found, `${name} in ${file}`);
  return found;
}

/** The archive with one byte of a blob's content changed (the tar stays valid). */
function flipBlobByte(archive: Buffer, digest: string): Buffer {
  const copy = Buffer.from(archive);
  const name = Buffer.from(`blobs/sha256/${digest.slice(7)}`);
  const header = copy.indexOf(name);
  assert.ok(header >= 0);
  copy[header + 612] = copy[header + 612]! ^ 0xff;
  return copy;
}
