// A plain-HTTP registry under a non-loopback name, declared insecure the ecosystem's
// way: `sealos.hub` resolves to 127.0.0.1 through $BERTH_HOSTS_FILE (a hosts file for
// this test's berth processes only; /etc/hosts is never touched), and the registry is
// listed in a registries.conf ($CONTAINERS_REGISTRIES_CONF), a registries.conf.d drop-in,
// or a daemon.json ($BERTH_DOCKER_DAEMON_JSON, names and CIDRs). Without a flag, login,
// pull, push, registry images and registry status work, status shows the http URL it
// used and where the setting came from, and login's recorded transport is reused once
// the files are gone. Not listed anywhere: refused, with a hint naming the files.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, type CliSandbox } from '../support/cli-sandbox.js';
import { LayoutWriter, writeImage, type BuiltImage } from '../support/images.js';
import { stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

let registry: TestRegistry;
let work: string;
let hostsFile: string;
let image: BuiltImage;
let port: string;
let hub: string;

before(async () => {
  work = await scratchDir('cli-insecure-');
  registry = await startBerth();
  port = registry.host.split(':')[1]!;
  hub = `sealos.hub:${port}`;
  hostsFile = path.join(work, 'hosts');
  await writeFile(hostsFile, '127.0.0.1 sealos.hub\n');
  const layout = new LayoutWriter(path.join(work, 'layout'));
  image = await writeImage(layout, { seed: 'cli-insecure', layers: 1 });
  layout.tag(image.manifest, 'v1');
  await layout.save();
  // Seeded over 127.0.0.1 (skopeo does not read our hosts file); pulled back as sealos.hub.
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${registry.host}/seed/app:v1`, { dest: registry, extra: ['--preserve-digests'] });
});

after(async () => {
  await registry?.stop();
  await stopAll();
  await removeScratchDirs();
});

/** A sandbox whose berth resolves sealos.hub to 127.0.0.1. */
async function sandbox(prefix: string): Promise<CliSandbox> {
  const cli = await cliSandbox(prefix);
  cli.env['BERTH_HOSTS_FILE'] = hostsFile;
  return cli;
}

async function writeIn(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

interface StatusRow {
  Name: string;
  URL: string;
  Healthy: string;
  InsecureFrom?: string;
}

/** login, pull, tag + push, registry images and registry status, all without a flag. */
async function workflowWithoutFlags(cli: CliSandbox, tag: string, expectedSource: RegExp): Promise<void> {
  const login = await cli.berth(['login', '-u', TEST_USER, '--password-stdin', hub], { input: TEST_PASSWORD });
  assert.equal(login.stdout, 'Login Succeeded!\n');
  const saved = JSON.parse(await readFile(cli.authFile, 'utf8')) as { auths: Record<string, { auth: string }>; berth?: { transports: Record<string, string> } };
  assert.equal(saved.auths[hub]?.auth, Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString('base64'), 'credentials under host:port, as other tools read them');
  assert.deepEqual(saved.berth, { transports: { [hub]: 'http' } }, 'the transport that worked, in Berth\'s own section');

  const pulled = await cli.berth(['pull', `${hub}/seed/app:v1`]);
  assert.match(pulled.stdout, new RegExp(`Digest: ${image.manifest.digest}`));
  await cli.berth(['tag', `${hub}/seed/app:v1`, `${hub}/library/app:${tag}`]);
  const pushed = await cli.berth(['push', `${hub}/library/app:${tag}`]);
  assert.match(pushed.stdout, new RegExp(`${tag}: digest: ${image.manifest.digest}`));

  const rows = JSON.parse((await cli.berth(['registry', 'images', '--json'])).stdout) as Array<Record<string, string>>;
  assert.ok(rows.some((row) => row['RegistryName'] === hub && row['ImageName'] === 'library/app' && row['Tag'] === tag), JSON.stringify(rows));

  const table = (await cli.berth(['registry', 'status'])).stdout;
  assert.match(table, new RegExp(`\\| ${hub.replace('.', '\\.')} +\\| http://${hub.replace('.', '\\.')} +\\| ${TEST_USER} +\\| \\*+ +\\| ok +\\|`), table);
  const [status] = JSON.parse((await cli.berth(['registry', 'status', '--json'])).stdout) as StatusRow[];
  assert.equal(status?.URL, `http://${hub}`);
  assert.equal(status?.Healthy, 'ok');
  assert.match(status?.InsecureFrom ?? '', expectedSource);
}

test('insecure in registries.conf ($CONTAINERS_REGISTRIES_CONF): login, pull, push, images and status need no flag', async () => {
  const cli = await sandbox('cli-insecure-conf-');
  const conf = cli.env['CONTAINERS_REGISTRIES_CONF']!;
  await writeIn(conf, `unqualified-search-registries = ["docker.io"]\n\n[[registry]]\nprefix = "${hub}"\nlocation = "${hub}"\ninsecure = true\n`);
  await workflowWithoutFlags(cli, 'from-conf', new RegExp(`^${conf.replace(/[.]/g, '\\.')} \\(${hub.replace('.', '\\.')}\\)$`));

  // The files gone, the transport login recorded is used: http straight away.
  await rm(conf);
  const [status] = JSON.parse((await cli.berth(['registry', 'status', '--json'])).stdout) as StatusRow[];
  assert.deepEqual([status?.URL, status?.Healthy], [`http://${hub}`, 'ok']);
  assert.match(status?.InsecureFrom ?? '', /^berth login \(/);
  // Logout forgets the transport along with the credentials.
  await cli.berth(['logout', hub]);
  const saved = JSON.parse(await readFile(cli.authFile, 'utf8')) as Record<string, unknown>;
  assert.equal(saved['berth'], undefined);
  // Credentials removed by another tool, the transport record left behind: logout forgets it too.
  await writeIn(conf, `[[registry]]\nlocation = "${hub}"\ninsecure = true\n`);
  await cli.berth(['login', '-u', TEST_USER, '--password-stdin', hub], { input: TEST_PASSWORD });
  const withRecord = JSON.parse(await readFile(cli.authFile, 'utf8')) as { auths: Record<string, unknown>; berth?: unknown };
  assert.ok(withRecord.berth, 'login recorded the transport');
  await writeFile(cli.authFile, JSON.stringify({ ...withRecord, auths: {} }));
  const out = await cli.berth(['logout', hub]);
  assert.match(out.stdout, /Removed the recorded transport/);
  assert.equal((JSON.parse(await readFile(cli.authFile, 'utf8')) as Record<string, unknown>)['berth'], undefined);
});

test('insecure in a registries.conf.d drop-in (a host entry covers host:port, as in podman)', async () => {
  const cli = await sandbox('cli-insecure-dropin-');
  const conf = cli.env['CONTAINERS_REGISTRIES_CONF']!;
  await writeIn(conf, 'unqualified-search-registries = ["docker.io"]\n');
  const dropIn = path.join(path.dirname(conf), 'registries.conf.d', '50-sealos.conf');
  await writeIn(dropIn, '[[registry]]\nlocation = "sealos.hub"\ninsecure = true\n');
  await cli.berth(['login', '-u', TEST_USER, '--password-stdin', hub], { input: TEST_PASSWORD });
  const [status] = JSON.parse((await cli.berth(['registry', 'status', '--json'])).stdout) as StatusRow[];
  assert.deepEqual([status?.URL, status?.Healthy, status?.InsecureFrom], [`http://${hub}`, 'ok', `${dropIn} (sealos.hub)`]);
  // A malformed drop-in fails the command in one line naming it (not an empty table).
  await writeIn(path.join(path.dirname(dropIn), '60-broken.conf'), '[[registry]]\ninsecure = true\n');
  assert.match(oneErrorLine(await cli.berth(['registry', 'status'], { allowFailure: true })), /60-broken\.conf: registry #1 has neither prefix nor location/);
});

test('insecure-registries in a daemon.json ($BERTH_DOCKER_DAEMON_JSON): the same workflow needs no flag', async () => {
  const cli = await sandbox('cli-insecure-daemon-');
  const daemonJson = cli.env['BERTH_DOCKER_DAEMON_JSON']!;
  await writeIn(daemonJson, JSON.stringify({ 'insecure-registries': [hub], 'log-level': 'warn' }));
  await workflowWithoutFlags(cli, 'from-daemon-json', new RegExp(`^${daemonJson.replace(/[.]/g, '\\.')} \\(${hub.replace('.', '\\.')}\\)$`));
});

test('daemon.json CIDRs match the address the name resolves to, as docker does', async () => {
  const cli = await sandbox('cli-insecure-cidr-');
  await writeIn(cli.env['BERTH_DOCKER_DAEMON_JSON']!, JSON.stringify({ 'insecure-registries': ['10.0.0.0/8', '127.0.0.0/8'] }));
  await cli.berth(['login', '-u', TEST_USER, '--password-stdin', hub], { input: TEST_PASSWORD });
  const [status] = JSON.parse((await cli.berth(['registry', 'status', '--json'])).stdout) as StatusRow[];
  assert.deepEqual([status?.URL, status?.Healthy], [`http://${hub}`, 'ok']);
  assert.match(status?.InsecureFrom ?? '', /\(127\.0\.0\.0\/8 \(sealos\.hub is 127\.0\.0\.1\)\)$/);
});

test('not listed anywhere: a non-loopback name stays TLS; the refusal names the files, and nothing is saved', async () => {
  const cli = await sandbox('cli-insecure-none-');
  const refused = await cli.berth(['login', '-u', TEST_USER, '--password-stdin', hub], { input: TEST_PASSWORD, allowFailure: true });
  const line = oneErrorLine(refused);
  assert.match(line, /does not speak TLS/);
  assert.ok(line.includes(cli.env['CONTAINERS_REGISTRIES_CONF']!), line);
  assert.ok(line.includes(`${path.dirname(cli.env['CONTAINERS_REGISTRIES_CONF']!)}/registries.conf.d/*.conf`), line);
  assert.ok(line.includes(cli.env['BERTH_DOCKER_DAEMON_JSON']!), line);
  await assert.rejects(readFile(cli.authFile), { code: 'ENOENT' }, 'nothing saved');
  // A listed registry under another port does not make this one insecure.
  await writeIn(cli.env['BERTH_DOCKER_DAEMON_JSON']!, JSON.stringify({ 'insecure-registries': [`sealos.hub:${Number(port) + 1}`] }));
  oneErrorLine(await cli.berth(['pull', `${hub}/seed/app:v1`], { allowFailure: true }));
  // A malformed file is one line naming it.
  await writeIn(cli.env['CONTAINERS_REGISTRIES_CONF']!, '[[registry]\n');
  assert.match(oneErrorLine(await cli.berth(['pull', `${hub}/seed/app:v1`], { allowFailure: true })), /registries\.conf: not valid TOML/);
});
