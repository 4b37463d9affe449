// Real clients against Berth on S3 (SeaweedFS, auth on): skopeo, crane, oras (push,
// attach, discover), ctr and docker push and pull through it with the digests intact.
// Then redirect mode: a second Berth on the same bucket answers blob GETs with presigned
// URLs of the engine, which skopeo and ctr follow. Last, a pull-through mirror on the
// bucket (its upstream a docker-registry on 127.0.0.1).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tarDirectory } from '../support/archive.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { startContainerd, type RunningContainerd } from '../support/containerd.js';
import { startDistribution } from '../support/distribution.js';
import { startDockerd, type RunningDockerd } from '../support/dockerd.js';
import { LayoutWriter, sha256, writeImage, writeIndex } from '../support/images.js';
import { blobDigests, blobGets, mirrorSettings, seedImage, upstreamRequests } from '../support/mirror.js';
import { basicAuth } from '../support/net.js';
import { oras } from '../support/oras.js';
import { run, stopAll, waitFor } from '../support/process.js';
import { startSeaweed, type Seaweed } from '../support/seaweedfs.js';
import { skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { tool } from '../support/tools.js';

let seaweed: Seaweed;
let registry: TestRegistry;
let work: string;
let containerd: RunningContainerd | undefined;
let dockerd: RunningDockerd | undefined;

before(async () => {
  seaweed = await startSeaweed();
  registry = await startBerth({ config: { s3: seaweed.s3Config({ rootDirectory: 'clients' }) } });
  work = await scratchDir('s3-clients-');
});

after(async () => {
  await dockerd?.stop();
  await containerd?.stop();
  await registry?.stop();
  await seaweed?.stop();
  await stopAll();
  await removeScratchDirs();
});

async function manifestDigest(target: TestRegistry, repository: string, reference: string): Promise<string | null> {
  const response = await fetch(`${target.url}/v2/${repository}/manifests/${reference}`, {
    method: 'HEAD',
    headers: {
      authorization: basicAuth(TEST_USER, TEST_PASSWORD),
      accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  return response.status === 200 ? response.headers.get('docker-content-digest') : null;
}

async function layoutWith(name: string, seed: string, layers = 2): Promise<{ dir: string; manifest: string; config: string; layers: string[] }> {
  const layout = new LayoutWriter(path.join(work, name));
  const image = await writeImage(layout, { seed, layers, layerSize: 700 * 1024 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  return { dir: layout.dir, manifest: image.manifest.digest, config: image.config.digest, layers: image.layers.map((l) => l.digest) };
}

test('skopeo: an image and a multi-arch index go in and come out with every digest', async () => {
  const single = await layoutWith('skopeo-single', 's3-skopeo');
  await skopeoCopy(`oci:${single.dir}:v1`, `docker://${registry.host}/s3/skopeo:v1`, { dest: registry, extra: ['--preserve-digests'] });
  assert.equal(await manifestDigest(registry, 's3/skopeo', 'v1'), single.manifest);
  const out = path.join(work, 'skopeo-out');
  await skopeoCopy(`docker://${registry.host}/s3/skopeo:v1`, `oci:${out}:v1`, { src: registry });
  const index = JSON.parse(await readFile(path.join(out, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(index.manifests[0]?.digest, single.manifest);
  for (const digest of [single.config, ...single.layers]) {
    const bytes = await readFile(path.join(out, 'blobs/sha256', digest.slice(7)));
    assert.equal(sha256(bytes), digest);
  }

  const layout = new LayoutWriter(path.join(work, 'skopeo-index'));
  const multi = (await writeIndex(layout, { seed: 's3-multi' })).index;
  layout.tag(multi, 'multi');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:multi`, `docker://${registry.host}/s3/multi:v1`, { dest: registry, extra: ['--all', '--preserve-digests'] });
  assert.equal(await manifestDigest(registry, 's3/multi', 'v1'), multi.digest);
  const tags = await skopeo(['list-tags', '--tls-verify=false', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${registry.host}/s3/multi`]);
  assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);
});

test('crane: push an OCI layout, read its digest back, pull it, copy it within the registry', async () => {
  const image = await layoutWith('crane-src', 's3-crane');
  const dockerConfig = path.join(work, 'crane-config');
  await mkdir(dockerConfig, { recursive: true });
  await writeFile(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64') } } }));
  const crane = (args: string[]): Promise<{ stdout: string }> => run(tool('crane'), [...args, '--insecure'], { env: { ...process.env, DOCKER_CONFIG: dockerConfig } });
  await crane(['push', image.dir, `${registry.host}/s3/crane:v1`]);
  assert.equal((await crane(['digest', `${registry.host}/s3/crane:v1`])).stdout.trim(), image.manifest);
  const pulled = path.join(work, 'crane-pulled');
  await crane(['pull', '--format', 'oci', `${registry.host}/s3/crane:v1`, pulled]);
  for (const digest of [image.config, ...image.layers]) assert.equal(sha256(await readFile(path.join(pulled, 'blobs/sha256', digest.slice(7)))), digest);
  await crane(['copy', `${registry.host}/s3/crane:v1`, `${registry.host}/s3/crane-copy:v2`]);
  assert.equal(await manifestDigest(registry, 's3/crane-copy', 'v2'), image.manifest);
  assert.match((await crane(['ls', `${registry.host}/s3/crane-copy`])).stdout, /^v2$/m);
});

test('oras: push an artifact, attach a signature to it, discover it through the referrers API', async () => {
  const dir = path.join(work, 'oras');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'sbom.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 's3' }));
  await writeFile(path.join(dir, 'sig.json'), JSON.stringify({ signed: true }));
  const pushed = await oras(['push'], registry, ['--format', 'json', `${registry.host}/s3/artifact:v1`, 'sbom.json:application/spdx+json'], { configDir: dir, cwd: dir });
  const subject = (JSON.parse(pushed.stdout) as { digest: string }).digest;
  const attached = await oras(
    ['attach'],
    registry,
    ['--format', 'json', '--artifact-type', 'application/vnd.example.signature', `${registry.host}/s3/artifact@${subject}`, 'sig.json:application/json'],
    { configDir: dir, cwd: dir },
  );
  const signature = (JSON.parse(attached.stdout) as { digest: string }).digest;
  const discovered = await oras(['discover'], registry, ['--format', 'json', `${registry.host}/s3/artifact@${subject}`], { configDir: dir });
  const referrers = (JSON.parse(discovered.stdout) as { referrers?: Array<{ digest: string; artifactType: string }>; manifests?: Array<{ digest: string; artifactType: string }> });
  const found = referrers.referrers ?? referrers.manifests ?? [];
  assert.deepEqual(found.map((r) => [r.digest, r.artifactType]), [[signature, 'application/vnd.example.signature']]);
  const out = path.join(work, 'oras-out');
  await mkdir(out, { recursive: true });
  await oras(['pull'], registry, ['--output', out, `${registry.host}/s3/artifact:v1`], { configDir: dir });
  assert.equal(await readFile(path.join(out, 'sbom.json'), 'utf8'), await readFile(path.join(dir, 'sbom.json'), 'utf8'));
});

test('ctr: push an imported image, remove it, pull it back with the same digests', async () => {
  containerd = await startContainerd(path.join(work, 'containerd'));
  const image = await layoutWith('ctr-src', 's3-ctr');
  const archive = path.join(work, 'ctr.oci.tar');
  await tarDirectory(image.dir, archive);
  const ref = `${registry.host}/s3/ctr:v1`;
  await containerd.ctr(['images', 'import', '--base-name', `${registry.host}/s3/ctr`, archive]);
  await containerd.ctr(['images', 'push', '--plain-http', '--user', `${TEST_USER}:${TEST_PASSWORD}`, ref]);
  assert.equal(await manifestDigest(registry, 's3/ctr', 'v1'), image.manifest);
  await containerd.ctr(['images', 'rm', ref]);
  await containerd.ctr(['content', 'prune', 'references']).catch(() => undefined);
  await containerd.ctr(['images', 'pull', '--plain-http', '--user', `${TEST_USER}:${TEST_PASSWORD}`, ref]);
  const listed = await containerd.ctr(['images', 'ls']);
  assert.match(listed.stdout, new RegExp(`${ref.replace(/[.]/g, '\\.')}\\s+\\S+\\s+${image.manifest}`));
});

test('docker: load, push, rmi, pull: the same image ID and repository digest come back', async () => {
  dockerd = await startDockerd(path.join(work, 'dockerd'));
  const image = await layoutWith('docker-src', 's3-docker', 1);
  const archive = path.join(work, 'app.docker.tar');
  await skopeoCopy(`oci:${image.dir}:v1`, `docker-archive:${archive}:berth.test/s3app:v1`);
  await dockerd.docker(['load', '--input', archive]);
  const login = await dockerd.docker(['login', '--username', TEST_USER, '--password-stdin', registry.host], { input: TEST_PASSWORD });
  assert.match(login.stdout, /Login Succeeded/);
  const ref = `${registry.host}/s3/docker:v1`;
  await dockerd.docker(['tag', 'berth.test/s3app:v1', ref]);
  const pushed = await dockerd.docker(['push', ref]);
  const pushedDigest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
  assert.ok(pushedDigest, pushed.stdout);
  await dockerd.docker(['rmi', ref, 'berth.test/s3app:v1']);
  const pulled = await dockerd.docker(['pull', ref]);
  assert.match(pulled.stdout, new RegExp(`Digest: ${pushedDigest}`));
  const [inspected] = JSON.parse((await dockerd.docker(['image', 'inspect', ref])).stdout) as Array<{ Id: string }>;
  assert.equal(inspected?.Id, image.config);
});

test('redirect mode: blob GETs answer 307 to the engine, and skopeo and ctr follow them', async () => {
  const redirecting = await startBerth({ config: { s3: seaweed.s3Config({ rootDirectory: 'clients', redirect: { enabled: true, expiryMs: 600_000 } }) } });
  try {
    const image = await layoutWith('redirect-src', 's3-redirect');
    await skopeoCopy(`oci:${image.dir}:v1`, `docker://${redirecting.host}/s3/redirect:v1`, { dest: redirecting, extra: ['--preserve-digests'] });
    const layer = image.layers[0]!;
    const response = await fetch(`${redirecting.url}/v2/s3/redirect/blobs/${layer}`, { headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) }, redirect: 'manual' });
    assert.equal(response.status, 307);
    const location = response.headers.get('location') ?? '';
    assert.ok(location.startsWith(seaweed.endpoint), location);
    assert.match(location, /X-Amz-Signature=/);
    assert.doesNotMatch(location, new RegExp(seaweed.secretKey), 'the presigned URL carries a signature, never the secret');
    // The presigned URL needs no registry credentials.
    assert.equal(sha256(Buffer.from(await (await fetch(location)).arrayBuffer())), layer);

    const out = path.join(work, 'redirect-out');
    await skopeoCopy(`docker://${redirecting.host}/s3/redirect:v1`, `oci:${out}:v1`, { src: redirecting });
    for (const digest of [image.config, ...image.layers]) assert.equal(sha256(await readFile(path.join(out, 'blobs/sha256', digest.slice(7)))), digest);

    containerd ??= await startContainerd(path.join(work, 'containerd'));
    const ref = `${redirecting.host}/s3/redirect:v1`;
    await containerd.ctr(['images', 'pull', '--plain-http', '--user', `${TEST_USER}:${TEST_PASSWORD}`, ref]);
    const listed = await containerd.ctr(['images', 'ls']);
    assert.match(listed.stdout, new RegExp(`${ref.replace(/[.]/g, '\\.')}\\s+\\S+\\s+${image.manifest}`));
    const content = await containerd.ctr(['content', 'ls', '-q']);
    for (const digest of image.layers) assert.ok(content.stdout.includes(digest), `ctr fetched ${digest} through the redirect`);
  } finally {
    await redirecting.stop();
  }
});

test('a pull-through mirror on S3: concurrent pulls of an uncached image read the local spool while the bytes go to the bucket (one upstream GET per blob); cached blobs then redirect to the engine', async () => {
  const upstream = await startDistribution({ accessLog: true });
  const s3 = seaweed.s3Config({ rootDirectory: 'mirror', redirect: { enabled: true, expiryMs: 600_000 } });
  const mirror = await startBerth({ config: { s3, mirrors: mirrorSettings([{ source: 'docker.io', upstreams: [upstream.url] }]) } });
  try {
    // Layers over the 5 MiB part size: the bucket gets multipart uploads.
    const image = await seedImage(upstream, work, 's3-mirror', 'library/on-s3:1', { layers: 2, layerSize: 6 * 1024 * 1024 });
    const seeded = (await upstreamRequests(upstream)).length;
    const source = `docker://${mirror.host}/docker.io/library/on-s3:1`;
    await Promise.all([0, 1, 2, 3].map((i) => skopeoCopy(source, `dir:${path.join(work, `s3-mirror-${i}`)}`, { src: mirror })));
    const requests = (await upstreamRequests(upstream)).slice(seeded);
    for (const digest of blobDigests(image)) assert.equal(blobGets(requests, digest), 1, `one upstream GET of ${digest}`);
    const layer = image.layers[0]!.digest;
    // The clients read the spool; the upload into the bucket may still be finishing, and
    // until it is committed the blob is served from the spool (200), then redirected.
    const meanwhile: string[] = [];
    const cached = await waitFor(
      'the blob to be committed to the bucket (a 307 to the engine)',
      async () => {
        const answer = await fetch(`${mirror.url}/v2/docker.io/library/on-s3/blobs/${layer}`, { headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) }, redirect: 'manual' });
        if (answer.status === 307) return answer;
        const digest = sha256(Buffer.from(await answer.arrayBuffer()));
        if (answer.status !== 200 || digest !== layer) meanwhile.push(`${answer.status} ${digest}`);
        return undefined;
      },
      15_000,
    );
    assert.deepEqual(meanwhile, [], 'until then the blob is served whole from the spool');
    assert.equal(sha256(Buffer.from(await (await fetch(cached.headers.get('location')!)).arrayBuffer())), layer);
  } finally {
    await mirror.stop();
    await upstream.stop();
  }
});
