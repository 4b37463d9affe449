// On-disk compatibility with Debian's docker-registry 2.8 (CNCF distribution), both
// ways, auth on: what one server wrote into a data directory, the other serves from
// the same directory with identical catalog, tags and manifest digests, and every blob
// pulls back intact. The content: a single-arch OCI image, a Docker schema2 image, an
// OCI index and a Docker manifest list (pushed with skopeo --all), and an OCI artifact
// attached to the OCI image with oras (a manifest with a `subject`).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { layoutToDir, readDirImage } from '../support/dir-transport.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, sha256, writeImage, writeIndex, type BuiltImage } from '../support/images.js';
import { basicAuth } from '../support/net.js';
import { oras } from '../support/oras.js';
import { run, stopAll } from '../support/process.js';
import { credsFor, skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { tool } from '../support/tools.js';

interface Fixture {
  readonly repository: string;
  readonly tag: string;
  /** skopeo source reference. */
  readonly source: string;
  /** A list: copied with --all. */
  readonly all: boolean;
  readonly digest: string;
  /** Every blob and instance manifest a pull must bring back. */
  readonly content: string[];
  /** Instance manifests of a list. */
  readonly children: string[];
}

const ARTIFACT_TYPE = 'application/vnd.berth.test.sbom.v1+json';
const ARTIFACT_CONTENT = '{"sbom":"disk compatibility"}\n';
const SUBJECT_REPOSITORY = 'compat/team/app';
const SUBJECT_TAG = 'v1';

let work: string;
let htpasswd: string;
let fixtures: Fixture[];
let artifactFile: string;

function imageContent(image: BuiltImage): string[] {
  return [image.config.digest, ...image.layers.map((layer) => layer.digest)];
}

before(async () => {
  work = await scratchDir('disk-compat-');
  // Berth's credentials live outside the data directories, so neither server sees
  // anything in them but distribution's layout.
  htpasswd = path.join(work, 'htpasswd');
  await run(tool('htpasswd'), ['-Bbc', '-C', '5', htpasswd, TEST_USER, TEST_PASSWORD]);

  const layout = new LayoutWriter(path.join(work, 'layout'));
  const ociImage = await writeImage(layout, { seed: 'compat-oci', layers: 2, layerSize: 64 * 1024 });
  layout.tag(ociImage.manifest, 'oci-image');
  const ociIndex = await writeIndex(layout, { seed: 'compat-oci-index' });
  layout.tag(ociIndex.index, 'oci-index');
  const dockerImage = await writeImage(layout, { seed: 'compat-docker', format: 'docker', layers: 2 });
  const dockerList = await writeIndex(layout, { seed: 'compat-docker-list', format: 'docker' });
  await layout.save();
  // skopeo 1.9 reads only OCI media types out of an OCI layout: Docker ones go as dir:.
  await layoutToDir(layout.dir, dockerImage.manifest.digest, path.join(work, 'docker-image'));
  await layoutToDir(layout.dir, dockerList.index.digest, path.join(work, 'docker-list'));

  fixtures = [
    { repository: SUBJECT_REPOSITORY, tag: SUBJECT_TAG, source: `oci:${layout.dir}:oci-image`, all: false, digest: ociImage.manifest.digest, content: imageContent(ociImage), children: [] },
    {
      repository: 'compat/docker',
      tag: 'v1',
      source: `dir:${path.join(work, 'docker-image')}`,
      all: false,
      digest: dockerImage.manifest.digest,
      content: imageContent(dockerImage),
      children: [],
    },
    {
      repository: 'compat/multi',
      tag: 'oci',
      source: `oci:${layout.dir}:oci-index`,
      all: true,
      digest: ociIndex.index.digest,
      content: ociIndex.images.flatMap((image) => [image.manifest.digest, ...imageContent(image)]),
      children: ociIndex.images.map((image) => image.manifest.digest),
    },
    {
      repository: 'compat/multi',
      tag: 'docker',
      source: `dir:${path.join(work, 'docker-list')}`,
      all: true,
      digest: dockerList.index.digest,
      content: dockerList.images.flatMap((image) => [image.manifest.digest, ...imageContent(image)]),
      children: dockerList.images.map((image) => image.manifest.digest),
    },
  ];
  artifactFile = 'sbom.json';
  await writeFile(path.join(work, artifactFile), ARTIFACT_CONTENT);
});

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

/** Pushes every fixture, then attaches the artifact; returns the artifact's digest. */
async function pushAll(registry: TestRegistry): Promise<string> {
  for (const fixture of fixtures) {
    await skopeoCopy(fixture.source, `docker://${registry.host}/${fixture.repository}:${fixture.tag}`, {
      dest: registry,
      extra: [...(fixture.all ? ['--all'] : []), '--preserve-digests'],
    });
  }
  const attached = await oras(
    ['attach'],
    registry,
    ['--artifact-type', ARTIFACT_TYPE, '--format', 'json', `${registry.host}/${SUBJECT_REPOSITORY}:${SUBJECT_TAG}`, `${artifactFile}:application/json`],
    { configDir: work, cwd: work },
  );
  const digest = (JSON.parse(attached.stdout) as { digest?: string }).digest;
  assert.match(digest ?? '', /^sha256:[0-9a-f]{64}$/, attached.stdout);
  return digest!;
}

interface Snapshot {
  readonly catalog: string[];
  readonly tags: Record<string, string[]>;
  /** `<repository>:<tag>` -> sha256 of the raw manifest skopeo fetched. */
  readonly digests: Record<string, string>;
}

async function catalogOf(registry: TestRegistry): Promise<string[]> {
  const response = await fetch(`${registry.url}/v2/_catalog`, { headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { repositories: string[] }).repositories;
}

async function rawDigest(registry: TestRegistry, reference: string): Promise<string> {
  const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', ...credsFor(registry), `docker://${registry.host}/${reference}`]);
  return sha256(stdout);
}

/** What a registry serves: catalog, every tag list, and the digest behind every tag. */
async function snapshot(registry: TestRegistry): Promise<Snapshot> {
  const catalog = await catalogOf(registry);
  const tags: Record<string, string[]> = {};
  const digests: Record<string, string> = {};
  for (const repository of catalog) {
    const listed = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', ...credsFor(registry), `docker://${registry.host}/${repository}`])).stdout) as { Tags: string[] };
    tags[repository] = [...listed.Tags].sort();
    for (const tag of tags[repository]) digests[`${repository}:${tag}`] = await rawDigest(registry, `${repository}:${tag}`);
  }
  return { catalog, tags, digests };
}

/** Pulls every fixture and the artifact from `registry` and checks every byte. */
async function pullAndVerify(registry: TestRegistry, artifactDigest: string, label: string): Promise<void> {
  for (const fixture of fixtures) {
    const out = path.join(work, `${label}-pull-${fixture.repository.replaceAll('/', '_')}-${fixture.tag}`);
    await skopeoCopy(`docker://${registry.host}/${fixture.repository}:${fixture.tag}`, `dir:${out}`, {
      src: registry,
      extra: [...(fixture.all ? ['--all'] : []), '--preserve-digests'],
    });
    const pulled = await readDirImage(out);
    assert.equal(pulled.manifestDigest, fixture.digest, `${fixture.repository}:${fixture.tag}`);
    for (const digest of fixture.content) assert.ok(pulled.digests.has(digest), `${fixture.repository}:${fixture.tag} came back without ${digest}`);
    for (const child of fixture.children) assert.equal(await rawDigest(registry, `${fixture.repository}@${child}`), child);
  }
  assert.equal(await rawDigest(registry, `${SUBJECT_REPOSITORY}@${artifactDigest}`), artifactDigest);
  const artifactOut = path.join(work, `${label}-artifact`);
  await mkdir(artifactOut, { recursive: true });
  await oras(['pull'], registry, ['--output', artifactOut, `${registry.host}/${SUBJECT_REPOSITORY}@${artifactDigest}`], { configDir: work });
  assert.equal(await readFile(path.join(artifactOut, artifactFile), 'utf8'), ARTIFACT_CONTENT);
}

function assertFixtureDigests(seen: Snapshot): void {
  for (const fixture of fixtures) assert.equal(seen.digests[`${fixture.repository}:${fixture.tag}`], fixture.digest, `${fixture.repository}:${fixture.tag}`);
  assert.deepEqual(seen.catalog, ['compat/docker', 'compat/multi', SUBJECT_REPOSITORY]);
}

async function referrers(registry: TestRegistry, repository: string, subject: string): Promise<Array<{ digest: string; artifactType?: string; mediaType: string }>> {
  const response = await fetch(`${registry.url}/v2/${repository}/referrers/${subject}`, { headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { manifests: Array<{ digest: string; artifactType?: string; mediaType: string }> }).manifests;
}

test('direction A: what docker-registry 2.8 wrote, Berth serves from the same directory', { timeout: 300_000 }, async () => {
  const dataDir = path.join(work, 'written-by-distribution');
  const distribution = await startDistribution({ dataDir, user: TEST_USER, password: TEST_PASSWORD });
  let artifactDigest: string;
  let written: Snapshot;
  try {
    artifactDigest = await pushAll(distribution);
    written = await snapshot(distribution);
  } finally {
    await distribution.stop();
  }
  assertFixtureDigests(written);
  const subject = fixtures[0]!.digest;
  // distribution 2.8 has no referrers API, so oras fell back to the referrers tag schema.
  assert.ok(written.tags[SUBJECT_REPOSITORY]?.includes(`sha256-${subject.slice(7)}`), JSON.stringify(written.tags));

  const berth = await startBerth({ dataDir, htpasswd });
  try {
    assert.deepEqual(await snapshot(berth), written);
    await pullAndVerify(berth, artifactDigest, 'a');
    // The artifact manifest carries `subject`, so Berth's referrers API finds it.
    const found = await referrers(berth, SUBJECT_REPOSITORY, subject);
    assert.deepEqual(
      found.map((d) => ({ digest: d.digest, artifactType: d.artifactType, mediaType: d.mediaType })),
      [{ digest: artifactDigest, artifactType: ARTIFACT_TYPE, mediaType: 'application/vnd.oci.image.manifest.v1+json' }],
    );
  } finally {
    await berth.stop();
  }
});

test('direction B: what Berth wrote, docker-registry 2.8 serves from the same directory', { timeout: 300_000 }, async () => {
  const dataDir = path.join(work, 'written-by-berth');
  const berth = await startBerth({ dataDir, htpasswd });
  let artifactDigest: string;
  let written: Snapshot;
  try {
    artifactDigest = await pushAll(berth);
    written = await snapshot(berth);
    const subject = fixtures[0]!.digest;
    // Berth answers the referrers API (and OCI-Subject), so oras needed no fallback tag.
    assert.deepEqual(written.tags[SUBJECT_REPOSITORY], [SUBJECT_TAG]);
    assert.deepEqual(
      (await referrers(berth, SUBJECT_REPOSITORY, subject)).map((d) => d.digest),
      [artifactDigest],
    );
  } finally {
    await berth.stop();
  }
  assertFixtureDigests(written);

  const distribution = await startDistribution({ dataDir, user: TEST_USER, password: TEST_PASSWORD });
  try {
    assert.deepEqual(await snapshot(distribution), written);
    await pullAndVerify(distribution, artifactDigest, 'b');
  } finally {
    await distribution.stop();
  }
});
