// Socket lifecycle and runtime socket detection, on real unix sockets in a scratch dir.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, lstat, mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { detectRuntimeSocket } from '../../src/shim/runtime-detect.js';
import { SocketError, copySocketOwnership, prepareSocketPath, removeSocket, socketIdentity } from '../../src/shim/socket.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

const servers: Server[] = [];
after(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await removeScratchDirs();
});

async function listen(socketPath: string): Promise<Server> {
  const server = createServer((connection) => connection.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}

/** A socket file whose server died without cleaning up (a SIGKILLed shim). */
async function staleSocket(socketPath: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await once(child, 'exit');
  assert.ok((await lstat(socketPath)).isSocket(), 'the dead process left its socket file');
}

test('a missing parent directory is created; a free path stays free', async () => {
  const dir = await scratchDir('shim-sock-');
  const socketPath = path.join(dir, 'run', 'deeper', 'shim.sock');
  assert.deepEqual(await prepareSocketPath(socketPath), { removedStale: false });
  assert.equal((await stat(path.dirname(socketPath))).mode & 0o777, 0o711);
});

test('a stale socket file is removed; a live one is refused with a clear message', async () => {
  const dir = await scratchDir('shim-sock-');
  const stale = path.join(dir, 'stale.sock');
  await staleSocket(stale);
  assert.deepEqual(await prepareSocketPath(stale), { removedStale: true });
  await assert.rejects(lstat(stale), /ENOENT/);

  const live = path.join(dir, 'live.sock');
  await listen(live);
  await assert.rejects(prepareSocketPath(live), (error: Error) => error instanceof SocketError && /already in use: a live server answers/.test(error.message));
  assert.ok((await lstat(live)).isSocket(), 'the live socket is left alone');
});

test('a regular file at the socket path is never deleted', async () => {
  const dir = await scratchDir('shim-sock-');
  const file = path.join(dir, 'not-a-socket');
  await writeFile(file, 'precious');
  await assert.rejects(prepareSocketPath(file), (error: Error) => error instanceof SocketError && /is not a socket/.test(error.message));
});

test('the shim socket takes the runtime socket mode; removal only of the socket this process made', async () => {
  const dir = await scratchDir('shim-sock-');
  const runtime = path.join(dir, 'runtime.sock');
  const shim = path.join(dir, 'shim.sock');
  await listen(runtime);
  await chmod(runtime, 0o600);
  await listen(shim);
  await chmod(shim, 0o666);
  const copied = await copySocketOwnership(runtime, shim);
  assert.equal(copied.mode, 0o600);
  assert.equal((await stat(shim)).mode & 0o777, 0o600);
  assert.equal((await stat(shim)).uid, (await stat(runtime)).uid);

  const mine = await socketIdentity(shim);
  const other = await socketIdentity(runtime);
  assert.equal(await removeSocket(shim, other), false, 'another socket at the path is not ours');
  assert.equal(await removeSocket(shim, mine), true);
  await assert.rejects(lstat(shim), /ENOENT/);
});

test('runtime detection: one socket is used, none means the containerd default, several are refused', async () => {
  const dir = await scratchDir('shim-detect-');
  const known = [
    { name: 'containerd', path: path.join(dir, 'containerd', 'containerd.sock') },
    { name: 'cri-o', path: path.join(dir, 'crio', 'crio.sock') },
    { name: 'cri-dockerd', path: path.join(dir, 'cri-dockerd.sock') },
  ];
  assert.deepEqual(await detectRuntimeSocket(known), { ok: true, path: known[0]!.path, how: 'default', runtime: 'containerd' });
  await mkdir(path.dirname(known[1]!.path), { recursive: true });
  await listen(known[1]!.path);
  assert.deepEqual(await detectRuntimeSocket(known), { ok: true, path: known[1]!.path, how: 'found', runtime: 'cri-o' });
  // The same socket under a second name (/var/run -> /run) is still one runtime.
  await symlink(known[1]!.path, known[2]!.path);
  assert.equal((await detectRuntimeSocket(known)).ok, true);
  await mkdir(path.dirname(known[0]!.path), { recursive: true });
  await listen(known[0]!.path);
  const several = await detectRuntimeSocket(known);
  assert.equal(several.ok, false);
  assert.match(several.ok ? '' : several.error, /several CRI runtime sockets \(containerd: .*cri-o: .*\); set "cri:"/);
  // A regular file where a socket should be is not a runtime.
  const files = [{ name: 'x', path: path.join(dir, 'plain') }];
  await writeFile(files[0]!.path, '');
  assert.deepEqual(await detectRuntimeSocket(files), { ok: true, path: files[0]!.path, how: 'default', runtime: 'x' });
});
