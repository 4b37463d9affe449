// The seed page's "nerdctl build" section without nerdctl: buildkitd (v0.34.2, the
// test's own process, state in a scratch dir) builds a Dockerfile `FROM` an image in
// Berth (two static binaries, no shell) plus `COPY` and an exec-form `RUN` (buildkit's
// OCI worker does start processes here), and pushes the result to Berth over plain HTTP
// with basic auth (`berth login` writes the
// $DOCKER_CONFIG/config.json buildctl reads). skopeo checks the pushed digest and the
// COPY layer's content; a build cache exported to Berth is imported by a second
// buildkitd with empty state; containerd 2.x pulls the built image through the shim.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { TEST_PASSWORD, TEST_USER } from '../support/berth.js';
import { startBuildkit, type RunningBuildkit } from '../support/buildkit.js';
import { cliSandbox, type CliSandbox } from '../support/cli-sandbox.js';
import { stopAll } from '../support/process.js';
import { buildRunnableImage } from '../support/runnable-image.js';
import { ShimLab, berthRequests } from '../support/shim-lab.js';
import { inspectImage, pullAndWatch } from '../support/shim-routing-cases.js';
import { skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

const HELLO = 'built by buildkit, pushed to berth\n';

let lab: ShimLab;
let buildkit: RunningBuildkit;
let cli: CliSandbox;
let work: string;
let dockerConfig: string;
let context: string;
let host: string;
let firstDigest: string;

before(async () => {
  work = await scratchDir('buildkit-');
  lab = await ShimLab.create({ containerd: { version: '2' } });
  host = lab.privateHost;
  [buildkit, cli] = await Promise.all([startBuildkit(path.join(work, 'first'), [host]), cliSandbox('buildkit-home-'), lab.startShim()]);
  // The base image lives in Berth; the Dockerfile builds FROM it and runs its /hello.
  const base = path.join(work, 'base-layout');
  await buildRunnableImage(path.join(work, 'gcc'), base, 'v1');
  await skopeoCopy(`oci:${base}:v1`, `docker://${host}/library/base:1`, { dest: lab.privateRegistry, extra: ['--preserve-digests'] });
  context = path.join(work, 'context');
  await mkdir(context, { recursive: true });
  await writeFile(path.join(context, 'Dockerfile'), `FROM ${host}/library/base:1\nCOPY hello.txt /hello.txt\nRUN ["/hello", "run", "by", "buildkit"]\n`);
  await writeFile(path.join(context, 'hello.txt'), HELLO);
  // berth login writes the file buildctl reads ($DOCKER_CONFIG/config.json, same "auths" format).
  dockerConfig = cli.env['DOCKER_CONFIG']!;
  cli.env['REGISTRY_AUTH_FILE'] = path.join(dockerConfig, 'config.json');
  await cli.berth(['login', '-u', TEST_USER, '--password-stdin', host], { input: TEST_PASSWORD });
});

after(async () => {
  await buildkit?.stop();
  await lab?.stop();
  await stopAll();
  await removeScratchDirs();
});

function build(tag: string, cache: string[]): Promise<{ stderr: string; digest: string }> {
  const metadata = path.join(work, `metadata-${tag}.json`);
  return buildkit
    .buildctl(
      [
        'build',
        '--progress=plain',
        '--frontend=dockerfile.v0',
        '--local',
        `context=${context}`,
        '--local',
        `dockerfile=${context}`,
        '--output',
        `type=image,name=${host}/library/built:${tag},push=true,registry.insecure=true`,
        '--metadata-file',
        metadata,
        ...cache,
      ],
      dockerConfig,
    )
    .then(async (result) => ({ stderr: result.stderr, digest: (JSON.parse(await readFile(metadata, 'utf8')) as Record<string, string>)['containerimage.digest']! }));
}

interface Inspected {
  Digest: string;
  Layers: string[];
}

async function inspectRemote(reference: string): Promise<Inspected> {
  return JSON.parse((await skopeo(['inspect', '--tls-verify=false', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${host}/${reference}`])).stdout) as Inspected;
}

/** The files of a gzipped layer tar. */
async function layerFiles(blob: Buffer): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const extract = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        files.set(header.name.replace(/^\.?\//, ''), Buffer.concat(chunks).toString('utf8'));
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(gunzipSync(blob));
  await done;
  return files;
}

test('buildctl builds FROM an image in Berth with COPY and RUN, pushes over plain HTTP with basic auth, exports its cache; skopeo sees the digest', async () => {
  const cursor = lab.privateCursor();
  await cursor.mark();
  const first = await build('v1', ['--export-cache', `type=registry,ref=${host}/library/built-cache:v1,mode=max`]);
  assert.match(first.stderr, /#\d+ \[3\/3\] RUN \["\/hello", "run", "by", "buildkit"\]\n#\d+ [\d.]+ hello from container run by buildkit/, first.stderr.slice(-3000));
  firstDigest = first.digest;
  assert.match(firstDigest, /^sha256:[0-9a-f]{64}$/);

  const inspected = await inspectRemote('library/built:v1');
  assert.equal(inspected.Digest, firstDigest, 'skopeo reads the digest buildctl pushed');
  const base = await inspectRemote('library/base:1');
  assert.deepEqual(inspected.Layers.slice(0, base.Layers.length), base.Layers, 'the base image\'s layers come first');
  assert.equal(inspected.Layers.length, base.Layers.length + 2, 'COPY and RUN added a layer each');

  // The COPY layer holds exactly the file from the build context.
  const copied = path.join(work, 'copied');
  await skopeo(['copy', '--src-tls-verify=false', '--src-creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${host}/library/built:v1`, `dir:${copied}`]);
  const added = inspected.Layers[base.Layers.length]!.replace('sha256:', '');
  assert.ok((await readdir(copied)).includes(added));
  assert.equal((await layerFiles(await readFile(path.join(copied, added)))).get('hello.txt'), HELLO);

  // Berth saw the pushes from the logged-in user, over plain HTTP (its only listener).
  const requests = berthRequests(await cursor.since());
  const manifestPuts = requests.filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'));
  assert.ok(manifestPuts.some((r) => r.path === '/v2/library/built/manifests/v1' && r.status === 201 && r.user === TEST_USER), JSON.stringify(manifestPuts));
  assert.ok(manifestPuts.some((r) => r.path === '/v2/library/built-cache/manifests/v1' && r.status === 201), 'the cache was exported to Berth');
});

test('a second buildkitd with empty state imports the cache from Berth: COPY and RUN are CACHED, the layers are the same', async () => {
  // A new daemon with its own state: the only cache it can have is the one in Berth.
  await buildkit.stop();
  buildkit = await startBuildkit(path.join(work, 'second'), [host]);
  const cursor = lab.privateCursor();
  await cursor.mark();
  const second = await build('v2', ['--import-cache', `type=registry,ref=${host}/library/built-cache:v1`]);
  assert.match(second.stderr, /#\d+ \[2\/3\] COPY hello\.txt \/hello\.txt\n#\d+ CACHED/, second.stderr.slice(-3000));
  assert.match(second.stderr, /#\d+ \[3\/3\] RUN \["\/hello", "run", "by", "buildkit"\]\n#\d+ CACHED/);
  assert.ok(!second.stderr.includes('hello from container'), 'RUN did not run again');
  const requests = berthRequests(await cursor.since());
  const cacheReads = requests.filter((r) => r.path.startsWith('/v2/library/built-cache/') && r.status === 200).map((r) => `${r.method} ${r.path}`);
  assert.ok(cacheReads.some((r) => r.startsWith('GET /v2/library/built-cache/manifests/')), `the cache manifest was read from Berth: ${JSON.stringify(requests.map((r) => `${r.method} ${r.path} ${r.status}`))}`);
  assert.deepEqual((await inspectRemote('library/built:v2')).Layers, (await inspectRemote('library/built:v1')).Layers);
});

test('containerd pulls the built image through the shim, from Berth, with the digest buildctl pushed', async () => {
  assert.ok(firstDigest, 'the first build ran');
  const pull = await pullAndWatch(lab, ['docker.io/library/built:v1'], 'library/built');
  assert.ok(pull.fromPrivate >= 2, `Berth served it (${pull.fromPrivate} fetches)`);
  assert.equal(pull.fromPublic, 0);
  assert.deepEqual((await inspectImage(lab, 'docker.io/library/built:v1')).repoDigests, [`${host}/library/built@${firstDigest}`]);
});
