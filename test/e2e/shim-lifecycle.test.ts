// The shim as a process over time, with containerd and crictl: a config edit while it
// runs takes effect on the next pull and a broken edit keeps the running config;
// SIGHUP re-reads it; restarts, a stale socket left by a killed shim, a second shim on
// a live socket, and a runtime socket that is not there yet all behave clearly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startContainerd } from '../support/containerd.js';
import { stopAll, waitFor } from '../support/process.js';
import { crictl, startShim, writeCrictlConfig, writeShimConfig } from '../support/shim.js';
import { PUBLIC_PASSWORD, PUBLIC_USER, ShimLab, berthRequests, distributionRequests, fetched } from '../support/shim-lab.js';
import { removeScratchDirs } from '../support/tmp.js';

const PUBLIC_CREDS = `${PUBLIC_USER}:${PUBLIC_PASSWORD}`;
let lab: ShimLab;

before(async () => {
  lab = await ShimLab.create();
  await lab.startShim();
  await lab.push('private', 'edit-private', 'library/edit:1');
  await lab.push('public', 'edit-public', 'library/edit:1');
});

after(async () => {
  await lab?.stop();
  await stopAll();
  await removeScratchDirs();
});

/** Pulls docker.io/library/edit:1 afresh; says which registry served it. */
async function pullEdit(): Promise<'private' | 'public' | 'none'> {
  // Under both names: after a config change the shim no longer maps one to the other.
  await lab.crictl(['rmi', 'docker.io/library/edit:1'], { allowFailure: true });
  await lab.crictl(['rmi', `${lab.privateHost}/library/edit:1`], { allowFailure: true });
  const privateCursor = lab.privateCursor();
  const publicCursor = lab.publicCursor();
  await privateCursor.mark();
  await publicCursor.mark();
  await lab.crictl(['pull', '--creds', PUBLIC_CREDS, 'docker.io/library/edit:1']);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const privateLog = await privateCursor.since();
  const publicLog = await publicCursor.since();
  const fromPrivate = fetched(berthRequests(privateLog), 'library/edit').length;
  const fromPublic = fetched(distributionRequests(publicLog), 'library/edit').length;
  return fromPrivate > 0 && fromPublic === 0 ? 'private' : fromPublic > 0 && fromPrivate === 0 ? 'public' : 'none';
}

async function lineCount(): Promise<number> {
  return (await lab.shim!.lines()).length;
}

test('a config edit while the shim runs: the next pull follows it; a broken edit keeps the running config', async () => {
  assert.equal(await pullEdit(), 'private');

  // The private registry now only mirrors quay.io: docker.io images go public.
  let from = await lineCount();
  await writeShimConfig(lab.configFile, lab.baseConfig({ mirrors: ['quay.io'] }));
  await lab.shim!.waitForLine('the reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from });
  assert.equal(await pullEdit(), 'public');

  from = await lineCount();
  await writeFile(lab.configFile, 'address: [this is not yaml\n');
  const rejected = await lab.shim!.waitForLine('the rejected reload', (line) => line.msg === 'config reload rejected: keeping the running config', { from });
  assert.match(String(rejected['error']), /not valid YAML/);
  assert.equal(await pullEdit(), 'public', 'the last good config still applies');
  assert.equal(lab.shim!.child.exitCode, null, 'the shim keeps running');

  from = await lineCount();
  await writeShimConfig(lab.configFile, lab.baseConfig());
  await lab.shim!.waitForLine('the reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from });
  assert.equal(await pullEdit(), 'private');
});

test('SIGHUP re-reads the config and clears the rewrite cache', async () => {
  await pullEdit();
  const from = await lineCount();
  lab.shim!.child.kill('SIGHUP');
  const reloaded = await lab.shim!.waitForLine('the SIGHUP reload', (line) => line.msg === 'config reloaded; rewrite cache cleared', { from });
  assert.equal(reloaded['trigger'], 'signal');
  assert.equal(await pullEdit(), 'private');
  const decision = (await lab.shim!.lines()).slice(from).find((line) => line.msg === 'rewrite decision' && line['action'] === 'PullImage');
  assert.equal(decision?.['cache'], 'miss', 'decided afresh after the reload');
});

test('restart: SIGTERM removes the socket and exits 0; a new shim serves on the same path', async () => {
  const shim = lab.shim!;
  shim.child.kill('SIGTERM');
  assert.deepEqual(await shim.exit(), { code: 0, signal: null });
  await assert.rejects(lstat(lab.shimSocket), /ENOENT/, 'socket removed on shutdown');
  assert.match(await shim.logText(), /stopped; socket removed/);
  await lab.startShim();
  assert.equal(await pullEdit(), 'private');
});

test('a stale socket left by a killed shim is removed and the new shim serves', async () => {
  const shim = lab.shim!;
  shim.child.kill('SIGKILL');
  await shim.exit();
  assert.ok((await lstat(lab.shimSocket)).isSocket(), 'the killed shim left its socket behind');
  const fresh = await lab.startShim();
  assert.match(await fresh.logText(), /removed a stale socket file left by a previous shim/);
  assert.equal(await pullEdit(), 'private');
});

test('a second shim on a live socket refuses to start, and the first keeps serving', async () => {
  const second = await startShim(lab.configFile, { waitUntilServing: false });
  assert.deepEqual(await second.exit(), { code: 1, signal: null });
  assert.match(await second.logText(), /error: socket .*image-cri-shim\.sock is already in use: a live server answers on it/);
  assert.ok((await lstat(lab.shimSocket)).isSocket());
  assert.equal(await pullEdit(), 'private');
});

test('runtime socket not there yet: refused without force; with force the shim waits, then serves with the runtime socket mode', async () => {
  const dir = path.join(lab.work, 'late-runtime');
  const runtimeSocket = path.join(dir, 'containerd.sock');
  const configFile = path.join(lab.work, 'late.yaml');
  const shimSocket = path.join(lab.work, 'late', 'shim.sock');
  const crictlConfig = path.join(lab.work, 'late-crictl.yaml');
  await writeCrictlConfig(crictlConfig, shimSocket, runtimeSocket);
  const config = { ...lab.baseConfig(), shim: shimSocket, cri: runtimeSocket };

  await writeShimConfig(configFile, { ...config, force: false });
  const refused = await startShim(configFile, { waitUntilServing: false });
  assert.deepEqual(await refused.exit(), { code: 1, signal: null });
  assert.match(await refused.logText(), new RegExp(`runtime socket ${runtimeSocket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist: is the runtime running\\? \\(set "force: true"`));

  await writeShimConfig(configFile, { ...config, force: true });
  const waiting = await startShim(configFile);
  try {
    const early = await crictl(crictlConfig, ['images'], { allowFailure: true });
    assert.notEqual(early.code, 0);
    assert.match(early.stderr, /Unavailable|UNAVAILABLE/);
    assert.ok(early.stderr.includes(`runtime socket ${runtimeSocket}`), early.stderr);

    const containerd = await startContainerd(dir);
    try {
      await waiting.waitForLine('the shim to see the runtime', (line) => line.msg === 'runtime socket appeared');
      await waitFor('crictl images through the late shim', async () => ((await crictl(crictlConfig, ['images'], { allowFailure: true })).code === 0 ? true : undefined), 15_000);
      assert.equal((await stat(shimSocket)).mode & 0o7777, (await stat(runtimeSocket)).mode & 0o7777, 'the shim socket has the runtime socket mode');
      assert.equal((await stat(shimSocket)).uid, (await stat(runtimeSocket)).uid);
    } finally {
      await containerd.stop();
    }
  } finally {
    await waiting.stop();
  }
});
