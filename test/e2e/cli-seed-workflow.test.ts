// The operator's seed workflow with the real `berth` CLI against a Berth registry
// (auth on): login, pull from a second registry standing in for docker.io (distribution
// 2.8 holding a two-platform image), tag into the private registry, push, and `berth
// registry images`/`status` show it; then docker 20.10, containerd 1.6 (ctr
// --plain-http) and skopeo all see the same digest. Also:
// the store is a valid OCI layout (skopeo reads it as oci:), --platform and
// --all-platforms, a repeated push reports "Layer already exists", and logout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, type CliSandbox } from '../support/cli-sandbox.js';
import { startContainerd, type RunningContainerd } from '../support/containerd.js';
import { startDistribution } from '../support/distribution.js';
import { startDockerd, type RunningDockerd } from '../support/dockerd.js';
import { LayoutWriter, writeIndex, type BuiltIndex } from '../support/images.js';
import { stopAll } from '../support/process.js';
import { skopeo, skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let berth: TestRegistry;
let hub: TestRegistry;
let cli: CliSandbox;
let dockerd: RunningDockerd;
let containerd: RunningContainerd;
let work: string;
let image: BuiltIndex;

const AMD64 = 0;
const ARM64 = 1;

before(async () => {
  work = await scratchDir('cli-seed-');
  [berth, hub, cli] = await Promise.all([startBerth(), startDistribution(), cliSandbox('cli-seed-home-')]);
  [dockerd, containerd] = await Promise.all([startDockerd(path.join(work, 'dockerd')), startContainerd(path.join(work, 'containerd'))]);
  const layout = new LayoutWriter(path.join(work, 'upstream'));
  image = await writeIndex(layout, { seed: 'cli-seed', layerSize: 256 * 1024 });
  layout.tag(image.index, '1.25');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:1.25`, `docker://${hub.host}/library/nginx:1.25`, { dest: hub, extra: ['--all', '--preserve-digests'] });
});

after(async () => {
  await dockerd?.stop();
  await containerd?.stop();
  await berth?.stop();
  await hub?.stop();
  await stopAll();
  await removeScratchDirs();
});

const upstreamName = (): string => `${hub.host}/library/nginx:1.25`;
const privateName = (): string => `${berth.host}/library/nginx:1.25`;

test('berth login checks the password with the registry, then saves it 0600', async () => {
  const result = await cli.berth(['login', '-u', TEST_USER, '--password-stdin', berth.host], { input: `${TEST_PASSWORD}\n` });
  assert.equal(result.stdout, 'Login Succeeded!\n');
  assert.equal((await stat(cli.authFile)).mode & 0o777, 0o600);
  const saved = JSON.parse(await readFile(cli.authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(saved.auths[berth.host]?.auth, Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64'));
  const who = await cli.berth(['login', '--get-login', berth.host]);
  assert.equal(who.stdout, `${TEST_USER}\n`);
});

test('berth pull from the stand-in for docker.io stores this platform, docker-style output', async () => {
  const amd64 = image.images[AMD64]!;
  const result = await cli.berth(['pull', upstreamName()]);
  const lines = result.stdout.trim().split('\n');
  assert.equal(lines[0], '1.25: Pulling from library/nginx');
  assert.ok(lines.includes(`${amd64.layers[0]!.digest.slice(7, 19)}: Pull complete`), result.stdout);
  assert.ok(lines.includes(`Digest: ${image.index.digest}`), result.stdout);
  assert.ok(lines.includes(`Status: Downloaded newer image for ${upstreamName()}`), result.stdout);
  assert.equal(lines.at(-1), upstreamName());

  const again = await cli.berth(['pull', upstreamName()]);
  assert.match(again.stdout, /Already exists/);
  assert.match(again.stdout, /Status: Image is up to date/);

  const listed = JSON.parse((await cli.berth(['images', '--json'])).stdout) as Array<{ Name: string; Id: string; Digest: string; Platforms: string[] }>;
  assert.deepEqual(listed.map((row) => [row.Name, row.Id, row.Digest, row.Platforms]), [[upstreamName(), amd64.config.digest, amd64.manifest.digest, ['linux/amd64']]]);
  const table = (await cli.berth(['images'])).stdout.split('\n');
  assert.match(table[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(table[1]!, new RegExp(`^${hub.host}/library/nginx\\s+1\\.25\\s+${amd64.config.digest.slice(7, 19)}\\s+\\d+ years ago\\s+\\d`));
  assert.equal((await cli.berth(['images', '-q'])).stdout, `${amd64.config.digest.slice(7, 19)}\n`);

  // The store is an OCI image layout that skopeo reads as is.
  const fromLayout = JSON.parse((await skopeo(['inspect', `oci:${cli.storeRoot}:${upstreamName()}`])).stdout) as { Digest: string };
  assert.equal(fromLayout.Digest, amd64.manifest.digest);
});

test('--platform and --all-platforms choose what is kept of a multi-platform image', async () => {
  const armRoot = path.join(work, 'store-arm');
  await cli.berth(['pull', '-q', '--root', armRoot, '--platform', 'linux/arm64', upstreamName()]);
  const arm = JSON.parse((await cli.berth(['inspect', '--root', armRoot, upstreamName()])).stdout) as Array<{ Id: string; Architecture: string; Digest: string }>;
  assert.deepEqual([arm[0]?.Id, arm[0]?.Architecture, arm[0]?.Digest], [image.images[ARM64]!.config.digest, 'arm64', image.images[ARM64]!.manifest.digest]);

  const allRoot = path.join(work, 'store-all');
  await cli.berth(['pull', '-q', '--root', allRoot, '--all-platforms', upstreamName()]);
  const all = JSON.parse((await cli.berth(['inspect', '--root', allRoot, upstreamName()])).stdout) as Array<{ Digest: string; Platforms: Array<{ Platform: string }> }>;
  assert.equal(all[0]?.Digest, image.index.digest);
  assert.deepEqual(all[0]?.Platforms.map((p) => p.Platform), ['linux/amd64', 'linux/arm64/v8']);
  // The whole index goes to the private registry with its digest.
  const pushed = await cli.berth(['push', '--root', allRoot, upstreamName(), `${berth.host}/mirror/nginx-all:1.25-all`]);
  assert.match(pushed.stdout, new RegExp(`1\\.25-all: digest: ${image.index.digest} size: ${image.indexBytes.length}`));
});

test('berth tag and berth push to the private registry print docker push lines', async () => {
  const amd64 = image.images[AMD64]!;
  await cli.berth(['tag', upstreamName(), privateName()]);
  const pushed = await cli.berth(['push', privateName()]);
  assert.deepEqual(pushed.stdout.trim().split('\n'), [
    `The push refers to repository [${berth.host}/library/nginx]`,
    `${amd64.layers[0]!.digest.slice(7, 19)}: Pushed`,
    `1.25: digest: ${amd64.manifest.digest} size: ${amd64.manifestBytes.length}`,
  ]);
  const again = await cli.berth(['push', privateName()]);
  assert.match(again.stdout, new RegExp(`${amd64.layers[0]!.digest.slice(7, 19)}: Layer already exists`));
});

test('berth registry images and berth registry status show the pushed image and a healthy login', async () => {
  const amd64 = image.images[AMD64]!;
  const rows = JSON.parse((await cli.berth(['registry', 'images', '-n', berth.host, '--filter', 'name=library/nginx', '--json'])).stdout) as Array<Record<string, string>>;
  assert.deepEqual(
    rows.map((row) => [row['RegistryName'], row['ImageName'], row['Tag'], row['ImageID'], row['ImageDigest']]),
    [[berth.host, 'library/nginx', '1.25', amd64.config.digest.slice(7), amd64.manifest.digest]],
  );
  const table = (await cli.berth(['registry', 'images', '-n', berth.host])).stdout;
  assert.match(table, new RegExp(`\\| ${berth.host.replace(/\./g, '\\.')} +\\| library/nginx +\\| 1\\.25 +\\| ${amd64.config.digest.slice(7, 19)} +\\|`));
  const status = JSON.parse((await cli.berth(['registry', 'status', '--json'])).stdout) as Array<Record<string, string>>;
  assert.deepEqual(status, [
    {
      Name: berth.host,
      URL: berth.url,
      UserName: TEST_USER,
      Password: '******',
      Healthy: 'ok',
      Actions: 'pull,push,delete,overwrite on **',
      Access: [{ repositories: '**', actions: ['pull', 'push', 'delete', 'overwrite'] }],
    },
  ]);
});

test('docker, ctr and skopeo pull the pushed image with the same digest', async () => {
  const amd64 = image.images[AMD64]!;
  await dockerd.docker(['login', '--username', TEST_USER, '--password-stdin', berth.host], { input: TEST_PASSWORD });
  const pulled = await dockerd.docker(['pull', privateName()]);
  assert.match(pulled.stdout, new RegExp(`Digest: ${amd64.manifest.digest}`));
  const [inspected] = JSON.parse((await dockerd.docker(['image', 'inspect', privateName()])).stdout) as Array<{ Id: string; RepoDigests: string[] }>;
  assert.equal(inspected?.Id, amd64.config.digest);
  assert.deepEqual(inspected?.RepoDigests, [`${berth.host}/library/nginx@${amd64.manifest.digest}`]);

  await containerd.ctr(['images', 'pull', '--plain-http', '--user', `${TEST_USER}:${TEST_PASSWORD}`, privateName()]);
  const listed = (await containerd.ctr(['images', 'ls'])).stdout.split('\n').find((line) => line.startsWith(`${privateName()} `));
  assert.ok(listed, 'ctr lists the image');
  assert.equal(listed.trim().split(/\s+/)[2], amd64.manifest.digest);

  const viaSkopeo = JSON.parse((await skopeo(['inspect', '--tls-verify=false', '--creds', `${TEST_USER}:${TEST_PASSWORD}`, `docker://${privateName()}`])).stdout) as { Digest: string };
  assert.equal(viaSkopeo.Digest, amd64.manifest.digest);
});

test('berth logout forgets the credentials; pushes are then refused in one line', async () => {
  const out = await cli.berth(['logout', berth.host]);
  assert.equal(out.stdout, `Removed login credentials for ${berth.host}\n`);
  const saved = JSON.parse(await readFile(cli.authFile, 'utf8')) as { auths: Record<string, unknown> };
  assert.equal(saved.auths[berth.host], undefined);
  assert.match(oneErrorLine(await cli.berth(['logout', berth.host], { allowFailure: true })), /not logged in to/);
  await cli.berth(['tag', upstreamName(), `${berth.host}/library/nginx:denied`]);
  const denied = await cli.berth(['push', `${berth.host}/library/nginx:denied`], { allowFailure: true });
  assert.match(oneErrorLine(denied), /unauthorized|requires a login/);
  assert.match(denied.stderr, /hint: run `berth login/);
});
