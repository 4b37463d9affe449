// `berth registry status / images / image / rmi / passwd` as real processes against a
// Berth registry process and docker-registry 2.8: healthy, unreachable and wrong-password
// registries, listings with every pattern form, deletes that continue past failures,
// password changes a running registry picks up, and bad input that changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RegistryClient } from '../../src/client/registry-client.js';
import { UnauthorizedError } from '../../src/client/errors.js';
import { startBerthProcess, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, writeLogins, type CliSandbox } from '../support/cli-sandbox.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, writeImage, writeIndex, type BuiltImage, type BuiltIndex } from '../support/images.js';
import { freePort } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { berthOnTerminal, type TerminalAnswer } from '../support/terminal.js';

let registry: TestRegistry;
let distribution: TestRegistry;
let home: CliSandbox;
let work: string;
let closedPort: number;
let app: BuiltImage;
let other: BuiltImage;
let multi: BuiltIndex;

interface ImageRow {
  RegistryName: string;
  ImageName: string;
  Tag: string;
  ImageID: string;
  ImageDigest: string;
}

function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** Every file under `dir` with its size: what "nothing changed on disk" is checked against. */
async function snapshot(dir: string, relative = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, relative), { withFileTypes: true })) {
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) out.push(...(await snapshot(dir, child)));
    else out.push(`${child} ${(await stat(path.join(dir, child))).size}`);
  }
  return out.sort();
}

async function push(layout: string, tag: string, target: TestRegistry, reference: string, all = false): Promise<void> {
  await skopeoCopy(`oci:${layout}:${tag}`, `docker://${target.host}/${reference}`, { dest: target, extra: all ? ['--all', '--preserve-digests'] : [] });
}

before(async () => {
  work = await scratchDir('registry-admin-');
  registry = await startBerthProcess([]);
  distribution = await startDistribution({ user: TEST_USER, password: TEST_PASSWORD });
  home = await cliSandbox();
  closedPort = await freePort();
  const layout = new LayoutWriter(path.join(work, 'layout'));
  app = await writeImage(layout, { seed: 'admin-app', layers: 2 });
  other = await writeImage(layout, { seed: 'admin-other', layers: 1 });
  multi = await writeIndex(layout, { seed: 'admin-multi' });
  layout.tag(app.manifest, 'app');
  layout.tag(other.manifest, 'other');
  layout.tag(multi.index, 'multi');
  await layout.save();
  for (const target of [registry, distribution]) {
    await push(layout.dir, 'app', target, 'team/app:v1');
    await push(layout.dir, 'app', target, 'team/app:v2');
    await push(layout.dir, 'other', target, 'team/app:v3');
    await push(layout.dir, 'other', target, 'tools/cli:1.0');
    await push(layout.dir, 'multi', target, 'lib/multi:2024', true);
  }
});

after(async () => {
  await registry.stop();
  await distribution.stop();
  await stopAll();
  await removeScratchDirs();
});

test('every command has --help with examples', async () => {
  for (const command of ['status', 'images', 'image', 'rmi', 'gc', 'save', 'sync', 'copy', 'passwd']) {
    const result = await home.berth(['registry', command, '--help']);
    assert.match(result.stdout, /Examples:\n {2}berth registry /, `${command} --help`);
  }
});

test('status: a table of every login, pinged with its credentials; unreachable and wrong password fail with the reason', async () => {
  await writeLogins(home.authFile, {
    [registry.host]: { user: TEST_USER, password: TEST_PASSWORD },
    [distribution.host]: { user: TEST_USER, password: TEST_PASSWORD },
    [`127.0.0.1:${closedPort}`]: { user: TEST_USER, password: TEST_PASSWORD },
  });
  const table = await home.berth(['registry', 'status'], { allowFailure: true });
  assert.equal(table.code, 1, 'a failed registry makes the exit code 1');
  const lines = table.stdout.split('\n');
  assert.match(lines[1]!, /^\| Name +\| URL +\| UserName \| Password \| Healthy \| Actions +\|$/);
  // Berth tells what the login may do (no policy: everything); distribution does not.
  assert.match(table.stdout, new RegExp(`\\| ${registry.host} +\\| http://${registry.host} +\\| admin +\\| \\*{6} +\\| ok +\\| pull,push,delete,overwrite on \\*\\* +\\|`));
  assert.match(table.stdout, new RegExp(`\\| ${distribution.host} +\\| http://${distribution.host} +\\| admin +\\| \\*{6} +\\| ok +\\| - +\\|`));
  assert.match(table.stdout, new RegExp(`\\| 127\\.0\\.0\\.1:${closedPort} +\\| http://127\\.0\\.0\\.1:${closedPort} +\\| admin +\\| \\*{6} +\\| failed +\\|`));
  assert.match(table.stdout, new RegExp(`127\\.0\\.0\\.1:${closedPort}: failed: connection refused`));
  assert.ok(!table.stdout.includes(TEST_PASSWORD), 'passwords are masked by default');

  const json = JSON.parse((await home.berth(['registry', 'status', '--json'], { allowFailure: true })).stdout) as Array<Record<string, string>>;
  assert.deepEqual(
    json.map((row) => [row['Name'], row['Healthy'], row['Password']]),
    [
      [registry.host, 'ok', '******'],
      [distribution.host, 'ok', '******'],
      [`127.0.0.1:${closedPort}`, 'failed', '******'],
    ],
  );
  const shown = JSON.parse((await home.berth(['registry', 'status', '--json', '--show-password'], { allowFailure: true })).stdout) as Array<Record<string, string>>;
  assert.equal(shown[0]!['Password'], TEST_PASSWORD);

  const wrong = await cliSandbox();
  await writeLogins(wrong.authFile, { [registry.host]: { user: TEST_USER, password: 'wrong-password' }, [distribution.host]: { user: TEST_USER, password: 'wrong-password' } });
  const refused = await wrong.berth(['registry', 'status', '--json'], { allowFailure: true });
  assert.equal(refused.code, 1);
  for (const row of JSON.parse(refused.stdout) as Array<Record<string, string>>) {
    assert.equal(row['Healthy'], 'failed');
    assert.match(row['Error']!, /unauthorized|rejected/i);
  }

  const empty = await cliSandbox();
  const none = await empty.berth(['registry', 'status']);
  assert.match(none.stderr, /no registry logins in .*auth\.json; log in with: berth login REGISTRY/);
  assert.equal((await empty.berth(['registry', 'status', '--json'])).stdout.trim(), '[]');
});

test('images: catalog and tags with image IDs, counts, every pattern form, on Berth and docker-registry', async () => {
  await writeLogins(home.authFile, { [registry.host]: { user: TEST_USER, password: TEST_PASSWORD }, [distribution.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const ambiguous = await home.berth(['registry', 'images'], { allowFailure: true });
  assert.match(oneErrorLine(ambiguous), new RegExp(`several registries are logged in: .*${registry.host}.*choose one with -n`));

  for (const target of [registry, distribution]) {
    const listing = await home.berth(['registry', 'images', '-n', target.host]);
    const expected = [
      ['lib/multi', '2024', hex(multi.index.digest).slice(0, 12)],
      ['team/app', 'v1', hex(app.config.digest).slice(0, 12)],
      ['team/app', 'v2', hex(app.config.digest).slice(0, 12)],
      ['team/app', 'v3', hex(other.config.digest).slice(0, 12)],
      ['tools/cli', '1.0', hex(other.config.digest).slice(0, 12)],
    ];
    for (const [name, tag, id] of expected) assert.match(listing.stdout, new RegExp(`\\| ${target.host} +\\| ${name} +\\| ${tag} +\\| ${id} \\|`));
    assert.match(listing.stdout, /Repo count: 3\nImage count: 5\n$/);

    const rows = async (filter: string): Promise<string[]> => {
      const json = JSON.parse((await home.berth(['registry', 'images', '-n', target.host, '--filter', filter, '--json'])).stdout) as ImageRow[];
      return json.map((row) => `${row.ImageName}:${row.Tag}`);
    };
    assert.deepEqual(await rows('name=*'), ['lib/multi:2024', 'team/app:v1', 'team/app:v2', 'team/app:v3', 'tools/cli:1.0']);
    assert.deepEqual(await rows('name=team/*'), ['team/app:v1', 'team/app:v2', 'team/app:v3']);
    assert.deepEqual(await rows('name=*/cli'), ['tools/cli:1.0']);
    assert.deepEqual(await rows('name=*mult*'), ['lib/multi:2024']);
    assert.deepEqual(await rows('name=team/app,tag=v2'), ['team/app:v2']);
    assert.deepEqual(await rows('tag=v*'), ['team/app:v1', 'team/app:v2', 'team/app:v3']);
    assert.deepEqual(await rows('name=nothing/here'), []);
    const json = JSON.parse((await home.berth(['registry', 'images', '-n', target.host, '--filter', 'name=lib/multi', '--json'])).stdout) as ImageRow[];
    assert.equal(json[0]!.ImageDigest, multi.index.digest);
    assert.equal(json[0]!.ImageID, hex(multi.index.digest));
  }

  const single = await cliSandbox();
  await writeLogins(single.authFile, { [registry.host]: { user: TEST_USER, password: TEST_PASSWORD } });
  const defaulted = await single.berth(['registry', 'images', '--filter', 'name=tools/*']);
  assert.match(defaulted.stdout, new RegExp(`\\| ${registry.host} +\\| tools/cli +\\| 1\\.0 +\\|`), '-n defaults to the one logged-in registry');
});

test('image NAME[:TAG] shows one; an unknown one is a one-line error', async () => {
  const one = await home.berth(['registry', 'image', `${registry.host}/team/app:v3`]);
  assert.match(one.stdout, new RegExp(`\\| ${registry.host} +\\| team/app +\\| v3 +\\| ${hex(other.config.digest).slice(0, 12)} \\|`));
  assert.doesNotMatch(one.stdout, /Repo count/);
  const json = JSON.parse((await home.berth(['registry', 'image', '-n', distribution.host, 'lib/multi:2024', '--json'])).stdout) as Array<ImageRow & { Platforms: string[] }>;
  assert.deepEqual(json[0]!.Platforms, ['linux/amd64', 'linux/arm64/v8']);
  const unknown = await home.berth(['registry', 'image', `${registry.host}/team/app:nope`], { allowFailure: true });
  assert.match(oneErrorLine(unknown), /image .*team\/app:nope not found \(hint: list what is there with: berth registry images/);
});

test('rmi resolves each tag to its digest, deletes it, reports each and goes on past failures', async () => {
  for (const target of [registry, distribution]) {
    const result = await home.berth(['registry', 'rmi', `${target.host}/team/app:v1`, `${target.host}/no/such:1`, `${target.host}/tools/cli:1.0`], { allowFailure: true });
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`Deleted: ${target.host}/team/app:v1 ${app.manifest.digest} \\(also removed tags: v2\\)`));
    assert.match(result.stdout, new RegExp(`Deleted: ${target.host}/tools/cli:1\\.0 ${other.manifest.digest}`));
    assert.match(result.stdout, new RegExp(`Error: ${target.host}/no/such:1: manifest unknown`));
    assert.match(oneErrorLine(result), new RegExp(`error: 1 of 3 image\\(s\\) could not be deleted: ${target.host}/no/such:1: manifest unknown`));
    const left = JSON.parse((await home.berth(['registry', 'images', '-n', target.host, '--json'])).stdout) as ImageRow[];
    assert.deepEqual(
      left.map((row) => `${row.ImageName}:${row.Tag}`),
      ['lib/multi:2024', 'team/app:v3', 'tools/cli:<none>'],
    );
  }
  // Put them back for the tests that follow.
  await push(path.join(work, 'layout'), 'app', registry, 'team/app:v1');
});

test('bad input: unknown image, unreachable registry, invalid filter: one line, non-zero exit, nothing changed', async () => {
  const before = await snapshot(registry.dataDir);
  await new Promise((resolve) => setTimeout(resolve, 500)); // let the registry's async log catch up
  const logBefore = (await registry.logs()).length;
  const invalid = await home.berth(['registry', 'images', '-n', registry.host, '--filter', 'name=te*am'], { allowFailure: true });
  assert.match(oneErrorLine(invalid), /invalid name pattern "te\*am" \(hint: use \*, x\*, \*x, \*x\* or an exact value/);
  assert.match(oneErrorLine(await home.berth(['registry', 'images', '-n', registry.host, '--filter', 'color=red'], { allowFailure: true })), /invalid filter "color=red"/);
  assert.match(oneErrorLine(await home.berth(['registry', 'images', '-n', registry.host, '--filter', 'name=<none>'], { allowFailure: true })), /name=<none> is not a valid filter/);
  assert.equal((await registry.logs()).length, logBefore, 'an invalid filter is refused before any request');

  assert.match(oneErrorLine(await home.berth(['registry', 'rmi', `${registry.host}/team/ghost:1`], { allowFailure: true })), /1 of 1 image\(s\) could not be deleted/);
  assert.match(oneErrorLine(await home.berth(['registry', 'rmi', `${registry.host}/Team/App:1`], { allowFailure: true })), /invalid repository name "Team\/App"/);
  const unreachable = await home.berth(['registry', 'images', '-n', `127.0.0.1:${closedPort}`], { allowFailure: true });
  assert.match(oneErrorLine(unreachable), new RegExp(`listing 127\\.0\\.0\\.1:${closedPort}: connection refused .*hint: is the registry running`));
  const copyDown = await home.berth(['registry', 'copy', `${registry.host}/team/app:v1`, `127.0.0.1:${closedPort}`], { allowFailure: true });
  assert.match(oneErrorLine(copyDown), /destination registry .* is not reachable: connection refused/);
  assert.deepEqual(await snapshot(registry.dataDir), before);
});

/** Runs `berth registry passwd` on a pseudo-terminal, answering each prompt. */
function passwdInteractive(htpasswd: string, answers: TerminalAnswer[]): ReturnType<typeof berthOnTerminal> {
  return berthOnTerminal(['registry', 'passwd', '--htpasswd', htpasswd], home.env, answers);
}

test('passwd: atomic bcrypt update keeping other users, picked up by the running registry; interactive on a terminal', async () => {
  const htpasswd = path.join(work, 'htpasswd');
  await writeFile(htpasswd, '# registry users\n');
  assert.match((await home.berth(['registry', 'passwd', '-u', 'admin', '--password-stdin', '--htpasswd', htpasswd], { input: 'first-secret\n' })).stdout, /Added user admin/);
  await home.berth(['registry', 'passwd', '-u', 'ops', '--password-stdin', '--htpasswd', htpasswd], { input: 'ops-secret\n' });
  const served = await startBerthProcess(['--htpasswd', htpasswd]);
  const login = (user: string, password: string): Promise<void> => {
    const client = new RegistryClient({ registry: served.host, credentials: () => ({ username: user, password }), attempts: 1 });
    return client.checkLogin().finally(() => client.close());
  };
  await login('admin', 'first-secret');
  await login('ops', 'ops-secret');

  const changed = await home.berth(['registry', 'passwd', '-u', 'admin', '--password-stdin', '--htpasswd', htpasswd], { input: 'second-secret\n' });
  assert.match(changed.stdout, /Updated password for admin/);
  const lines = (await readFile(htpasswd, 'utf8')).trim().split('\n');
  assert.equal(lines[0], '# registry users');
  assert.match(lines[1]!, /^admin:\$2y\$10\$[./A-Za-z0-9]{53}$/);
  assert.match(lines[2]!, /^ops:\$2y\$10\$/);
  assert.equal(((await stat(htpasswd)).mode & 0o777).toString(8), '644', 'the file keeps its mode');

  // The running registry re-reads the file: the new password works, the old one stops.
  await waitForLogin(login, 'admin', 'second-secret');
  await assert.rejects(login('admin', 'first-secret'), UnauthorizedError);
  await login('ops', 'ops-secret');

  const interactive = await passwdInteractive(htpasswd, [
    [/Username \[admin\]: $/, 'bob'],
    [/^Password: $/, 'bob-secret'],
    [/Confirm password: $/, 'bob-secret'],
  ]);
  assert.equal(interactive.code, 0, interactive.output);
  assert.match(interactive.output, /Added user bob/);
  assert.ok(!interactive.output.includes('bob-secret'), 'the password is not echoed');
  await waitForLogin(login, 'bob', 'bob-secret');

  const mismatch = await passwdInteractive(htpasswd, [
    [/Username \[admin\]: $/, ''],
    [/^Password: $/, 'one-thing'],
    [/Confirm password: $/, 'another-thing'],
  ]);
  assert.notEqual(mismatch.code, 0);
  assert.match(mismatch.output, /error: the passwords do not match; nothing changed/);
  await login('admin', 'second-secret');

  const short = await home.berth(['registry', 'passwd', '-u', 'al', '--password-stdin', '--htpasswd', htpasswd], { input: 'x\n', allowFailure: true });
  assert.match(oneErrorLine(short), /user name "al" is too short \(hint: use at least 3 characters\)/);
  const noTty = await home.berth(['registry', 'passwd', '--htpasswd', htpasswd], { allowFailure: true });
  assert.match(oneErrorLine(noTty), /no terminal to ask for the password/);
  await served.stop();
});

async function waitForLogin(login: (user: string, password: string) => Promise<void>, user: string, password: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await login(user, password);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
