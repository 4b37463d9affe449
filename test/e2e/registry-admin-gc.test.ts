// `berth registry gc`: online mark and sweep. First every interleaving of the protocol
// that matters is forced with hooks against an in-process Berth registry (a pusher that
// checked with HEAD, a touch between stat and rename, a PUT inside the trash window, an
// index pushed while untagged children are swept, an upload whose bytes are old, the
// lock, leftovers of a crash, dry runs). Then the CLI runs again and again while skopeo
// pushes in a loop to a `berth registry serve` process on the same directory: nothing
// pushed loses a blob and the dangling blobs go. Last, registry:2's directory offline,
// checked against docker-registry's own garbage-collect.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { RegistryRequestError } from '../../src/client/errors.js';
import { RegistryClient } from '../../src/client/registry-client.js';
import { digestOf } from '../../src/oci/digest.js';
import type { StorageDriver } from '../../src/storage/driver/driver.js';
import { openDriver } from '../../src/storage/open.js';
import { collectGarbage, GcBusyError, type GcReport } from '../../src/storage/gc.js';
import { startBerth, startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, writeLogins, type CliSandbox } from '../support/cli-sandbox.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, seededBytes, sha256, writeImage, writeIndex, type Descriptor } from '../support/images.js';
import { run, stopAll } from '../support/process.js';
import { credsFor, skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { tool } from '../support/tools.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const HOUR = 3_600_000;

let home: CliSandbox;

before(async () => {
  home = await cliSandbox();
});

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

interface Blob {
  readonly digest: string;
  readonly size: number;
  readonly data: Buffer;
}

/** A gzip layer (skopeo pushes gzip layers as they are; plain tar it would recompress). */
function blob(seed: string, size = 10_000): Blob {
  const data = gzipSync(seededBytes(seed, size), { level: 1 });
  return { digest: sha256(data), size: data.length, data };
}

function configBlob(seed: string): Blob {
  const data = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, seed }));
  return { digest: sha256(data), size: data.length, data };
}

function descriptor(b: Blob, mediaType: string): Descriptor {
  return { mediaType, digest: b.digest, size: b.size };
}

function imageManifest(config: Blob, layers: Blob[]): Blob {
  const data = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(config, 'application/vnd.oci.image.config.v1+json'), layers: layers.map((l) => descriptor(l, 'application/vnd.oci.image.layer.v1.tar+gzip')) }),
  );
  return { digest: sha256(data), size: data.length, data };
}

function clientFor(registry: TestRegistry): RegistryClient {
  return new RegistryClient({ registry: registry.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), retryDelayMs: 10 });
}

async function upload(client: RegistryClient, repository: string, ...blobs: Blob[]): Promise<void> {
  for (const b of blobs) await client.pushBlob(repository, b.digest, b.size, () => Readable.from([b.data]));
}

function blobFile(root: string, digest: string): string {
  const hex = digest.slice(7);
  return path.join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/** Makes files look last written an hour ago: older than any grace period used here. */
async function backdate(...files: string[]): Promise<void> {
  const past = new Date(Date.now() - HOUR);
  for (const file of files) await utimes(file, past, past);
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined)) !== undefined;
}

/** Pulls a manifest (and an index's children) and every blob, each verified against its digest. */
async function pullCompletely(client: RegistryClient, repository: string, reference: string): Promise<number> {
  const manifest = await client.getManifest(repository, reference);
  assert.ok(manifest, `${repository}:${reference} has no manifest`);
  const parsed = JSON.parse(manifest.bytes.toString('utf8')) as { manifests?: Array<{ digest: string }>; config?: { digest: string }; layers?: Array<{ digest: string }> };
  let blobs = 0;
  for (const child of parsed.manifests ?? []) blobs += await pullCompletely(client, repository, child.digest);
  for (const b of [...(parsed.config ? [parsed.config] : []), ...(parsed.layers ?? [])]) {
    const { stream } = await client.getBlob(repository, b.digest);
    for await (const chunk of stream) void chunk; // verifyDigestStream fails at the end on a mismatch
    blobs += 1;
  }
  return blobs;
}

async function isolated(): Promise<{ registry: TestRegistry; client: RegistryClient; root: string; fs: StorageDriver }> {
  const registry = await startBerth();
  const root = await realpath(registry.dataDir);
  return { registry, client: clientFor(registry), root, fs: openDriver({ kind: 'filesystem', root }) };
}

function deletedDigests(report: GcReport): string[] {
  return report.deleted.map((d) => d.digest);
}

test('a pusher that saw a blob with HEAD can still PUT its manifest after a GC', async () => {
  const { registry, client, root, fs } = await isolated();
  const layer = blob('head-layer');
  const config = configBlob('head-config');
  const dangling = blob('head-dangling');
  await upload(client, 'head/app', layer, config);
  await upload(client, 'head/junk', dangling);
  await backdate(blobFile(root, layer.digest), blobFile(root, config.digest), blobFile(root, dangling.digest));
  // The pusher checks: both exist, so it skips their uploads ...
  assert.equal(await client.headBlob('head/app', layer.digest), layer.size);
  assert.equal(await client.headBlob('head/app', config.digest), config.size);
  const report = await collectGarbage(fs, { graceMs: 10 * 60_000 });
  assert.deepEqual(deletedDigests(report), [dangling.digest]);
  assert.equal(report.bytesFreed, dangling.size);
  // ... and its manifest, arriving after the GC, finds them.
  const manifest = imageManifest(config, [layer]);
  await client.putManifest('head/app', 'v1', manifest.data, OCI_MANIFEST);
  assert.equal(await pullCompletely(client, 'head/app', 'v1'), 2);
  client.close();
  await registry.stop();
});

test('a blob touched between the stat and the rename goes back; a PUT inside the trash window fails cleanly', async () => {
  const { registry, client, root, fs } = await isolated();
  const touched = blob('window-touched');
  const trashedUnderPut = blob('window-put');
  const config = configBlob('window-config');
  await upload(client, 'window/app', touched, trashedUnderPut, config);
  await backdate(blobFile(root, touched.digest), blobFile(root, trashedUnderPut.digest));
  let putError: unknown;
  const report = await collectGarbage(fs, {
    graceMs: 10 * 60_000,
    hooks: {
      beforeTrash: async (digest) => {
        if (digest === touched.digest) assert.equal(await client.headBlob('window/app', digest), touched.size);
      },
      afterTrash: async (digest) => {
        if (digest !== trashedUnderPut.digest) return;
        putError = await client.putManifest('window/app', 'late', imageManifest(config, [trashedUnderPut]).data, OCI_MANIFEST).then(
          () => undefined,
          (error: unknown) => error,
        );
      },
    },
  });
  assert.equal(report.restored, 1, 'the touched blob was put back');
  assert.ok(await exists(blobFile(root, touched.digest)));
  assert.deepEqual(deletedDigests(report), [trashedUnderPut.digest]);
  assert.ok(putError instanceof RegistryRequestError && putError.code === 'MANIFEST_BLOB_UNKNOWN', `PUT in the window: ${String(putError)}`);
  assert.deepEqual((await client.listTags('window/app')) ?? [], [], 'no tag names a missing blob');
  // Both manifests go through once the pusher uploads what it lacks.
  await client.putManifest('window/app', 'kept', imageManifest(config, [touched]).data, OCI_MANIFEST);
  await upload(client, 'window/app', trashedUnderPut);
  await client.putManifest('window/app', 'late', imageManifest(config, [trashedUnderPut]).data, OCI_MANIFEST);
  assert.equal(await pullCompletely(client, 'window/app', 'kept'), 2);
  assert.equal(await pullCompletely(client, 'window/app', 'late'), 2);
  client.close();
  await registry.stop();
});

test('--delete-untagged: an index pushed during the GC keeps its untagged child, a kept image keeps its signature; other untagged manifests go', async () => {
  const { registry, client, root, fs } = await isolated();
  const repo = 'untagged/multi';
  const childLayer = blob('child-layer');
  const childConfig = configBlob('child-config');
  const child = imageManifest(childConfig, [childLayer]);
  const orphanLayer = blob('orphan-layer');
  const orphanConfig = configBlob('orphan-config');
  const orphan = imageManifest(orphanConfig, [orphanLayer]);
  // A tagged image with a signature (a referrer, untagged), and a signature of the orphan.
  const taggedLayer = blob('tagged-layer');
  const taggedConfig = configBlob('tagged-config');
  const tagged = imageManifest(taggedConfig, [taggedLayer]);
  const empty: Blob = { digest: sha256('{}'), size: 2, data: Buffer.from('{}') };
  const signature = (subject: Blob, seed: string): { manifest: Blob; payload: Blob } => {
    const payload = configBlob(seed);
    const data = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.berth.test.signature',
        config: descriptor(empty, 'application/vnd.oci.empty.v1+json'),
        layers: [descriptor(payload, 'application/vnd.berth.test.payload')],
        subject: descriptor(subject, OCI_MANIFEST),
      }),
    );
    return { manifest: { digest: sha256(data), size: data.length, data }, payload };
  };
  const keptSignature = signature(tagged, 'sig-of-tagged');
  const orphanSignature = signature(orphan, 'sig-of-orphan');
  await upload(client, repo, childLayer, childConfig, orphanLayer, orphanConfig, taggedLayer, taggedConfig, empty, keptSignature.payload, orphanSignature.payload);
  await client.putManifest(repo, child.digest, child.data, OCI_MANIFEST);
  await client.putManifest(repo, orphan.digest, orphan.data, OCI_MANIFEST);
  await client.putManifest(repo, 'tagged', tagged.data, OCI_MANIFEST);
  await client.putManifest(repo, keptSignature.manifest.digest, keptSignature.manifest.data, OCI_MANIFEST);
  await client.putManifest(repo, orphanSignature.manifest.digest, orphanSignature.manifest.data, OCI_MANIFEST);
  const revision = (digest: string): string => path.join(root, 'docker/registry/v2/repositories', repo, '_manifests/revisions/sha256', digest.slice(7), 'link');
  const everything = [childLayer, childConfig, child, orphanLayer, orphanConfig, orphan, taggedLayer, taggedConfig, tagged, empty, keptSignature.payload, keptSignature.manifest, orphanSignature.payload, orphanSignature.manifest];
  const manifests = [child, orphan, tagged, keptSignature.manifest, orphanSignature.manifest];
  await backdate(...everything.map((b) => blobFile(root, b.digest)), ...manifests.map((m) => revision(m.digest)));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...descriptor(child, OCI_MANIFEST), platform: { os: 'linux', architecture: 'amd64' } }] }));
  const report = await collectGarbage(fs, {
    deleteUntagged: true,
    graceMs: 10 * 60_000,
    hooks: { afterMark: () => client.putManifest(repo, 'v1', index, OCI_INDEX).then(() => undefined) },
  });
  assert.deepEqual(report.untaggedRemoved.map((r) => r.digest).sort(), [orphan.digest, orphanSignature.manifest.digest].sort());
  assert.deepEqual(
    deletedDigests(report).sort(),
    [orphan.digest, orphanLayer.digest, orphanConfig.digest, orphanSignature.manifest.digest, orphanSignature.payload.digest].sort(),
  );
  assert.equal(await pullCompletely(client, repo, 'v1'), 2);
  assert.equal(await pullCompletely(client, repo, 'tagged'), 2);
  assert.equal(await pullCompletely(client, repo, keptSignature.manifest.digest), 2, 'the signature of a kept image stays');
  assert.deepEqual((await client.referrers(repo, tagged.digest)).map((r) => r.digest), [keptSignature.manifest.digest]);
  assert.equal(await client.getManifest(repo, orphan.digest), undefined);
  assert.equal(await client.getManifest(repo, orphanSignature.manifest.digest), undefined);
  client.close();
  await registry.stop();
});

test('an upload finished long after its last byte lands fresh, so the GC keeps it for its manifest', async () => {
  const { registry, root, fs } = await isolated();
  const storage = (registry as TestRegistry & { running: { storage: import('../../src/storage/types.js').RegistryStorage } }).running.storage;
  const data = seededBytes('slow-upload', 30_000);
  const session = await storage.startUpload('slow/app');
  const appended = await storage.appendUpload('slow/app', session.id, Readable.from([data]), {});
  assert.ok(appended.ok);
  await backdate(path.join(root, 'docker/registry/v2/repositories/slow/app/_uploads', session.id, 'data'));
  const finished = await storage.finishUpload('slow/app', session.id, digestOf(data), undefined, {});
  assert.ok(finished.ok);
  assert.ok((await stat(blobFile(root, sha256(data)))).mtimeMs > Date.now() - 60_000, 'the blob is fresh');
  const report = await collectGarbage(fs, { graceMs: 10 * 60_000 });
  assert.deepEqual(report.deleted, []);
  assert.equal(report.keptRecent, 1);
  await registry.stop();
});

test('two collections never overlap; a dead holder\'s lock is broken; crash leftovers are put back; a dry run changes nothing', async () => {
  const { registry, client, root, fs } = await isolated();
  const layer = blob('lock-layer');
  const config = configBlob('lock-config');
  await upload(client, 'lock/app', layer, config);
  await client.putManifest('lock/app', 'v1', imageManifest(config, [layer]).data, OCI_MANIFEST);
  let inner: unknown;
  await collectGarbage(fs, { graceMs: 0, hooks: { afterMark: async () => void (inner = await collectGarbage(fs).catch((error: unknown) => error)) } });
  assert.ok(inner instanceof GcBusyError, String(inner));

  const lock = path.join(root, 'docker/registry/v2/_berth/gc.lock');
  const deadPid = spawnSync('true').pid!;
  await writeFile(lock, JSON.stringify({ pid: deadPid, host: hostname(), token: 'left-behind', startedAt: '2020-01-01T00:00:00Z' }));
  await collectGarbage(fs, { graceMs: 0 });
  assert.equal(await exists(lock), false, 'the stale lock was broken and ours released');

  await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'alive', startedAt: new Date().toISOString() }));
  const busy = await home.berth(['registry', 'gc', '--data-dir', root], { allowFailure: true });
  assert.match(oneErrorLine(busy), /another garbage collection holds .*gc\.lock \(pid \d+ on .*\(hint: wait for it to finish/);
  await rm(lock);

  // A collection killed with a blob in its trash (the entry records where it came from):
  // the next one puts it back.
  const hex = layer.digest.slice(7);
  const entry = path.join(root, 'docker/registry/v2/_berth/trash/dead-collection');
  await mkdir(entry, { recursive: true });
  await writeFile(path.join(entry, 'origin'), `docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}`);
  await rename(path.dirname(blobFile(root, layer.digest)), path.join(entry, 'd'));
  await assert.rejects(pullCompletely(client, 'lock/app', 'v1'));
  const recovered = await collectGarbage(fs, { graceMs: 0 });
  assert.match(recovered.warnings.join('\n'), /put back 1 item/);
  assert.equal(await pullCompletely(client, 'lock/app', 'v1'), 2);

  // Dry run: same findings as the real run after it, and not a byte or mtime changed.
  const junk = blob('dry-junk');
  await upload(client, 'lock/junk', junk);
  await backdate(blobFile(root, junk.digest));
  const tree = async (): Promise<string[]> => {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else out.push(`${path.relative(root, full)} ${(await stat(full)).size} ${(await stat(full)).mtimeMs}`);
      }
    };
    await walk(root);
    return out.sort();
  };
  const before = await tree();
  const dry = await collectGarbage(fs, { dryRun: true, graceMs: 60_000 });
  assert.deepEqual(await tree(), before);
  const real = await collectGarbage(fs, { graceMs: 60_000 });
  assert.deepEqual(dry.deleted, real.deleted);
  assert.equal(dry.bytesFreed, junk.size);
  assert.equal(real.bytesFreed, junk.size);
  client.close();
  await registry.stop();
});

test('gc while serving: repeated CLI runs during a skopeo push loop lose no blob, and the dangling blobs go', async () => {
  const served = await startBerthProcess([]);
  const root = await realpath(served.dataDir);
  const client = clientFor(served);
  const work = await scratchDir('gc-online-');
  const layout = new LayoutWriter(path.join(work, 'layout'));
  const writeImageOf = async (tag: string, layers: Blob[], seed: string): Promise<Descriptor> => {
    const config = configBlob(seed);
    for (const b of [config, ...layers]) await layout.blob('application/octet-stream', b.data);
    const manifest = await layout.blob(OCI_MANIFEST, imageManifest(config, layers).data);
    layout.tag(manifest, tag);
    return manifest;
  };
  // Before: images that stay, dangling blobs (uploaded with no manifest), and a blob that
  // is dangling now but that every image of the push loop will use.
  const base = blob('online-base', 100_000);
  const before: Array<[string, string]> = [];
  for (let i = 0; i < 4; i++) {
    await writeImageOf(`pre${i}`, [base, blob(`online-pre-${i}`, 20_000)], `online-pre-config-${i}`);
    before.push([`pre/app${i}`, 'v1']);
  }
  const reused = blob('online-reused', 50_000);
  const loopImages = 24;
  for (let i = 0; i < loopImages; i++) await writeImageOf(`loop${i}`, [base, reused, blob(`online-loop-${i}`, 30_000)], `online-loop-config-${i}`);
  await layout.save();
  for (let i = 0; i < 4; i++) await skopeoCopy(`oci:${layout.dir}:pre${i}`, `docker://${served.host}/pre/app${i}:v1`, { dest: served });
  const dangling = Array.from({ length: 24 }, (_, i) => blob(`online-dangling-${i}`, 40_000 + i));
  await upload(client, 'junk/uploads', ...dangling);
  await upload(client, 'junk/uploads', reused);
  await new Promise((resolve) => setTimeout(resolve, 2500)); // all of that is now older than --grace 2s

  // The push loop and the GC loop run side by side; both are bounded.
  let pushing = true;
  const pushLoop = (async () => {
    for (let i = 0; i < loopImages; i++) {
      const result = await skopeoCopy(`oci:${layout.dir}:loop${i}`, `docker://${served.host}/loop/app:${i}`, { dest: served, allowFailure: true });
      assert.equal(result.code, 0, `push ${i} during GC failed: ${result.stderr}`);
    }
  })().finally(() => {
    pushing = false;
  });
  // Two lanes of GC runs: they also meet on the lock, and the loser must say so in one line.
  const reports: GcReport[] = [];
  let busy = 0;
  let runs = 0;
  const lane = async (): Promise<void> => {
    while ((pushing || reports.length < 3) && runs < 60) {
      runs += 1;
      const result = await home.berth(['registry', 'gc', '--data-dir', served.dataDir, '--grace', '2s', '--json'], { allowFailure: true });
      if (result.code === 0) reports.push(JSON.parse(result.stdout) as GcReport);
      else {
        assert.match(oneErrorLine(result), /another garbage collection holds/);
        busy += 1;
      }
    }
  };
  await Promise.all([lane(), lane(), pushLoop]);
  assert.ok(reports.length >= 3, `${reports.length} GC runs`);

  for (const [repository, tag] of before) assert.equal(await pullCompletely(client, repository, tag), 3);
  for (let i = 0; i < loopImages; i++) assert.equal(await pullCompletely(client, 'loop/app', String(i)), 4);
  const inspected = JSON.parse((await skopeo(['inspect', '--tls-verify=false', ...credsFor(served), `docker://${served.host}/loop/app:${loopImages - 1}`])).stdout) as { Layers: string[] };
  assert.deepEqual(inspected.Layers.slice(0, 2), [base.digest, reused.digest]);

  const deleted = new Map<string, number>();
  for (const report of reports) for (const d of report.deleted) deleted.set(d.digest, d.size);
  const freed = reports.reduce((sum, r) => sum + r.bytesFreed, 0);
  assert.equal(freed, [...deleted.values()].reduce((a, b) => a + b, 0), 'reported bytes are the sizes of the deleted blobs');
  for (const d of dangling) {
    assert.equal(deleted.get(d.digest), d.size, `dangling ${d.digest} reported with its size`);
    assert.equal(await exists(blobFile(root, d.digest)), false, `dangling ${d.digest} still on disk`);
  }
  assert.ok(freed >= dangling.reduce((a, d) => a + d.size, 0));
  const restored = reports.reduce((sum, r) => sum + r.restored, 0);
  process.stdout.write(`# gc online: ${reports.length} runs (${busy} refused by the lock), ${deleted.size} blobs / ${freed} bytes freed, ${restored} put back, reused blob ${deleted.has(reused.digest) ? 'was collected first and re-uploaded' : 'was kept'}\n`);
  client.close();
  await served.stop();
});

test('registry:2 offline: the same blobs as docker-registry garbage-collect, and it serves the result', async () => {
  const distribution = await startDistribution({ user: TEST_USER, password: TEST_PASSWORD });
  const work = await scratchDir('gc-offline-');
  const layout = new LayoutWriter(path.join(work, 'layout'));
  const keep = await writeImage(layout, { seed: 'offline-keep', layers: 2 });
  const gone = await writeImage(layout, { seed: 'offline-gone', layers: 2 });
  const multi = await writeIndex(layout, { seed: 'offline-multi' });
  layout.tag(keep.manifest, 'keep');
  layout.tag(gone.manifest, 'gone');
  layout.tag(multi.index, 'multi');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:keep`, `docker://${distribution.host}/keep/a:1`, { dest: distribution });
  await skopeoCopy(`oci:${layout.dir}:gone`, `docker://${distribution.host}/gone/b:1`, { dest: distribution });
  await skopeoCopy(`oci:${layout.dir}:multi`, `docker://${distribution.host}/keep/m:1`, { dest: distribution, extra: ['--all', '--preserve-digests'] });
  await skopeo(['delete', '--tls-verify=false', ...credsFor(distribution), `docker://${distribution.host}/gone/b:1`]);
  await distribution.stop();

  const config = (distribution as TestRegistry & { configFile: string }).configFile;
  const eligible = async (): Promise<string[]> => {
    const out = await run(tool('docker-registry'), ['garbage-collect', '--dry-run', config]);
    return [...`${out.stdout}\n${out.stderr}`.matchAll(/blob eligible for deletion: (sha256:[0-9a-f]{64})/g)].map((m) => m[1]!).sort();
  };
  const theirs = await eligible();
  assert.deepEqual(theirs, [gone.manifest.digest, gone.config.digest, ...gone.layers.map((l) => l.digest)].sort());
  const dry = JSON.parse((await home.berth(['registry', 'gc', '--config', config, '--grace', '0s', '--dry-run', '--json'])).stdout) as GcReport;
  assert.deepEqual(dry.deleted.map((d) => d.digest).sort(), theirs);
  const done = await home.berth(['registry', 'gc', '--config', config, '--grace', '0s']);
  assert.match(done.stdout, new RegExp(`deleted 4 blob\\(s\\), freed .* \\(${dry.bytesFreed} bytes\\)`));
  assert.deepEqual(await eligible(), [], 'docker-registry finds nothing left to collect');

  const restarted = await startDistribution({ user: TEST_USER, password: TEST_PASSWORD, dataDir: distribution.dataDir });
  const again = clientFor(restarted);
  assert.equal(await pullCompletely(again, 'keep/a', '1'), 3);
  assert.equal(await pullCompletely(again, 'keep/m', '1'), 4);
  const out = path.join(work, 'pulled');
  await skopeoCopy(`docker://${restarted.host}/keep/m:1`, `oci:${out}:m`, { src: restarted, extra: ['--all', '--preserve-digests'] });
  const index = JSON.parse(await readFile(path.join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(index.manifests[0]?.digest, multi.index.digest);
  await writeLogins(home.authFile, { [restarted.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const listing = await home.berth(['registry', 'images', '-n', restarted.host]);
  assert.match(listing.stdout, /Image count: 2\n/);
  again.close();
  await restarted.stop();
});
