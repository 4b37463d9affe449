// One bucket, two registries: Debian's docker-registry 2.8 (its `s3` driver) and Berth,
// started from the very same registry:2 config.yml, serve one SeaweedFS bucket prefix.
// What each pushes, the other serves with identical digests and bytes, in both
// directions, and each lists the other's repositories and tags (Berth within its listing
// age, for writes another process made).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, sha256, writeImage, writeIndex } from '../support/images.js';
import { basicAuth } from '../support/net.js';
import { stopAll, waitFor } from '../support/process.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let seaweed: Seaweed;
let distribution: TestRegistry & { readonly configFile: string };
let berth: TestRegistry;
let work: string;

before(async () => {
  seaweed = await startSeaweed();
  work = await scratchDir('s3-shared-');
  distribution = await startDistribution({
    user: TEST_USER,
    password: TEST_PASSWORD,
    storageYaml: [
      'storage:',
      '  s3:',
      `    regionendpoint: ${seaweed.endpoint}`,
      '    region: us-east-1',
      `    bucket: ${seaweed.bucket}`,
      '    rootdirectory: /shared',
      `    accesskey: ${seaweed.accessKey}`,
      `    secretkey: ${seaweed.secretKey}`,
      '    forcepathstyle: true',
      '    secure: false',
      '    v4auth: true',
      '    chunksize: 5242880',
      '  redirect:',
      '    disable: true',
      '',
    ].join('\n'),
  });
  // Berth reads the same file; only the listen address differs (a flag wins over http.addr).
  berth = await startBerthProcess(['--config', distribution.configFile], { dataDir: false });
});

after(async () => {
  await berth?.stop();
  await distribution?.stop();
  await seaweed?.stop();
  await stopAll();
  await removeScratchDirs();
});

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json';

async function get(registry: TestRegistry, url: string): Promise<{ status: number; digest: string | null; bytes: Buffer }> {
  const response = await fetch(`${registry.url}${url}`, { headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD), accept: ACCEPT } });
  return { status: response.status, digest: response.headers.get('docker-content-digest'), bytes: Buffer.from(await response.arrayBuffer()) };
}

/** Every digest of an image as `registry` serves it: manifest, then config and layers, each verified. */
async function served(registry: TestRegistry, repository: string, reference: string): Promise<string[]> {
  const manifest = await get(registry, `/v2/${repository}/manifests/${reference}`);
  assert.equal(manifest.status, 200, `${registry.host} ${repository}:${reference}`);
  assert.equal(sha256(manifest.bytes), manifest.digest);
  const parsed = JSON.parse(manifest.bytes.toString('utf8')) as { manifests?: Array<{ digest: string }>; config?: { digest: string }; layers?: Array<{ digest: string }> };
  const digests = [manifest.digest!];
  for (const child of parsed.manifests ?? []) digests.push(...(await served(registry, repository, child.digest)));
  for (const blob of [...(parsed.config ? [parsed.config] : []), ...(parsed.layers ?? [])]) {
    const fetched = await get(registry, `/v2/${repository}/blobs/${blob.digest}`);
    assert.equal(fetched.status, 200);
    assert.equal(sha256(fetched.bytes), blob.digest, `${registry.host} serves ${blob.digest} with the right bytes`);
    digests.push(blob.digest);
  }
  return digests;
}

test('pushed to Berth, served by docker-registry; pushed to docker-registry, served by Berth', async () => {
  const layout = new LayoutWriter(path.join(work, 'layout'));
  const toBerth = await writeImage(layout, { seed: 'shared-to-berth', layers: 2, layerSize: 6 * 1024 * 1024 });
  const toDistribution = await writeImage(layout, { seed: 'shared-to-distribution', layers: 2, layerSize: 3 * 1024 * 1024 });
  const multi = (await writeIndex(layout, { seed: 'shared-multi' })).index;
  layout.tag(toBerth.manifest, 'berth');
  layout.tag(toDistribution.manifest, 'distribution');
  layout.tag(multi, 'multi');
  await layout.save();

  await skopeoCopy(`oci:${layout.dir}:berth`, `docker://${berth.host}/shared/from-berth:v1`, { dest: berth, extra: ['--preserve-digests'] });
  await skopeoCopy(`oci:${layout.dir}:multi`, `docker://${berth.host}/shared/multi:v1`, { dest: berth, extra: ['--all', '--preserve-digests'] });
  await skopeoCopy(`oci:${layout.dir}:distribution`, `docker://${distribution.host}/shared/from-distribution:v1`, { dest: distribution, extra: ['--preserve-digests'] });

  for (const [repository, image] of [
    ['shared/from-berth', toBerth.manifest.digest],
    ['shared/multi', multi.digest],
    ['shared/from-distribution', toDistribution.manifest.digest],
  ] as const) {
    const viaBerth = await served(berth, repository, 'v1');
    const viaDistribution = await served(distribution, repository, 'v1');
    assert.equal(viaBerth[0], image);
    assert.deepEqual(viaBerth, viaDistribution, `${repository}: both registries serve the same digests`);
  }
  // A copy pulled through docker-registry of what Berth stored is byte-identical to the source.
  const out = path.join(work, 'pulled');
  await skopeoCopy(`docker://${distribution.host}/shared/from-berth:v1`, `oci:${out}:v1`, { src: distribution });
  for (const layer of toBerth.layers) assert.equal(sha256(await readFile(path.join(out, 'blobs/sha256', layer.digest.slice(7)))), layer.digest);

  for (const registry of [berth, distribution]) {
    const catalog = JSON.parse((await get(registry, '/v2/_catalog')).bytes.toString('utf8')) as { repositories: string[] };
    assert.deepEqual(catalog.repositories.sort(), ['shared/from-berth', 'shared/from-distribution', 'shared/multi'], registry.host);
    const tags = JSON.parse((await get(registry, '/v2/shared/from-distribution/tags/list')).bytes.toString('utf8')) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1']);
  }
});

test('a tag deleted through Berth is gone for docker-registry too; a new tag from docker-registry shows in Berth', async () => {
  const deleted = await fetch(`${berth.url}/v2/shared/from-berth/manifests/v1`, { method: 'DELETE', headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) } });
  assert.equal(deleted.status, 202);
  assert.equal((await get(distribution, '/v2/shared/from-berth/manifests/v1')).status, 404);
  const layout = new LayoutWriter(path.join(work, 'layout'));
  const later = await writeImage(layout, { seed: 'shared-later', layers: 1 });
  layout.tag(later.manifest, 'later');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:later`, `docker://${distribution.host}/shared/from-distribution:v2`, { dest: distribution, extra: ['--preserve-digests'] });
  // Berth lists what another writer added within its listing age (listingMaxAge, 1 s by default).
  await waitFor(
    'Berth to list the tag docker-registry added',
    async () => {
      const tags = JSON.parse((await get(berth, '/v2/shared/from-distribution/tags/list')).bytes.toString('utf8')) as { tags: string[] };
      return tags.tags.join(',') === 'v1,v2' ? true : undefined;
    },
    3000,
  );
  assert.equal((await get(berth, '/v2/shared/from-distribution/manifests/v2')).digest, later.manifest.digest);
});
