// A full disk: Berth on a small tmpfs is filled until pushes fail. Pushes must fail
// with a 5xx and a clear log line, nothing partial may become visible, existing
// images keep serving, and pushes work again once space is freed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { RegistryClient } from '../../src/client/registry-client.js';
import { RegistryRequestError } from '../../src/client/errors.js';
import { startBerth, TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { mountTmpfs, unmountUnder } from '../support/mounts.js';
import { run, stopAll } from '../support/process.js';
import { LayoutWriter, writeImage } from '../support/images.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { BERTH_BIN } from '../support/tools.js';

let work: string | undefined;

after(async () => {
  await stopAll();
  if (work) await unmountUnder(work);
  await removeScratchDirs();
});

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function pushImage(client: RegistryClient, repository: string, tag: string, layerSize: number): Promise<string> {
  const layer = randomBytes(layerSize);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }));
  for (const blob of [layer, config]) await client.pushBlob(repository, sha256(blob), blob.length, () => Readable.from([blob]));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  return client.putManifest(repository, tag, manifest, 'application/vnd.oci.image.manifest.v1+json');
}

test('pushes to a full disk fail cleanly; existing images serve; space freed means pushes work again', { timeout: 300_000 }, async () => {
  work = await scratchDir('full-disk-');
  const disk = path.join(work, 'disk');
  await mountTmpfs(disk, 24);
  const registry = await startBerth({ dataDir: path.join(disk, 'data') });
  const client = new RegistryClient({ registry: registry.host, credentials: () => ({ username: TEST_USER, password: TEST_PASSWORD }), attempts: 1 });
  try {
    const kept = await pushImage(client, 'disk/kept', 'v1', 1024 * 1024);
    // Fill most of the disk with a file we can delete later.
    const filler = path.join(disk, 'filler');
    await writeFile(filler, Buffer.alloc(18 * 1024 * 1024));

    const failures: RegistryRequestError[] = [];
    const pushed: string[] = [];
    for (let i = 0; i < 20 && failures.length === 0; i++) {
      try {
        await pushImage(client, 'disk/fill', `t${i}`, 1024 * 1024);
        pushed.push(`t${i}`);
      } catch (error) {
        assert.ok(error instanceof RegistryRequestError, String(error));
        failures.push(error);
      }
    }
    assert.equal(failures.length, 1, 'the disk filled up within 20 pushes');
    assert.ok((failures[0]!.status ?? 0) >= 500, `a full disk is a server-side 5xx, got ${failures[0]!.status}`);
    assert.match(await registry.logs(), /storage is full: the write was refused and nothing was committed/);

    // A real client sees the failure too.
    const layout = new LayoutWriter(path.join(work, 'img'));
    const image = await writeImage(layout, { seed: 'full-disk', layers: 1, layerSize: 3 * 1024 * 1024 });
    layout.tag(image.manifest, 'v1');
    await layout.save();
    const refused = await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${registry.host}/disk/skopeo:v1`, { dest: registry, allowFailure: true });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /storage is full|507|Insufficient Storage/i);

    // Existing images keep serving, byte for byte.
    assert.equal((await client.getManifest('disk/kept', 'v1'))?.digest, kept);
    for (const tag of pushed) assert.ok(await client.headManifest('disk/fill', tag));
    assert.equal(await client.listTags('disk/skopeo'), undefined, 'nothing of the refused push is visible');

    // Nothing partial: fsck over the data dir finds no error.
    const fsck = await run(process.execPath, [BERTH_BIN, 'registry', 'fsck', '--data-dir', path.join(disk, 'data'), '--json'], { allowFailure: true });
    const report = JSON.parse(fsck.stdout) as { problems: Array<{ severity: string }> };
    assert.deepEqual(report.problems.filter((p) => p.severity === 'error'), []);

    // Free space: pushes work again, with no restart.
    await rm(filler);
    await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${registry.host}/disk/skopeo:v1`, { dest: registry });
    assert.equal((await client.headManifest('disk/skopeo', 'v1'))?.digest, image.manifest.digest);
  } finally {
    client.close();
    await registry.stop();
  }
});
