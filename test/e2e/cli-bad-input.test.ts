// Bad input to the real `berth` CLI: each case must end in exactly one `error:` line
// on stderr, a non-zero exit, and no change on disk. A wrong password (the auth file
// stays byte for byte, or absent), an unknown image (pull, push, tag, rmi, inspect,
// save), a corrupt archive (truncated, garbage, a flipped byte), and a full disk on
// `save` and under the image store, using small tmpfs mounts made for the test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from '../support/berth.js';
import { cliSandbox, oneErrorLine, type CliSandbox } from '../support/cli-sandbox.js';
import { startDistribution } from '../support/distribution.js';
import { LayoutWriter, writeImage, type BuiltImage } from '../support/images.js';
import { mountsUnder, unmountUnder } from '../support/mounts.js';
import { run, stopAll } from '../support/process.js';
import { skopeoCopy } from '../support/skopeo.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';
import { tool } from '../support/tools.js';

let work: string;
let berth: TestRegistry;
let hub: TestRegistry;
let cli: CliSandbox;
let app: BuiltImage;
const NAME = () => `${hub.host}/team/app:v1`;

before(async () => {
  work = await scratchDir('cli-bad-');
  [berth, hub, cli] = await Promise.all([startBerth(), startDistribution(), cliSandbox('cli-bad-home-')]);
  const layout = new LayoutWriter(path.join(work, 'layout'));
  // Two 256 KiB layers of incompressible bytes: more than the small disks below hold.
  app = await writeImage(layout, { seed: 'cli-bad-input', layers: 2, layerSize: 256 * 1024 });
  layout.tag(app.manifest, 'v1');
  await layout.save();
  await skopeoCopy(`oci:${layout.dir}:v1`, `docker://${hub.host}/team/app:v1`, { dest: hub, extra: ['--preserve-digests'] });
  await cli.berth(['pull', '-q', NAME()]);
});

after(async () => {
  await unmountUnder(work);
  await berth?.stop();
  await hub?.stop();
  await stopAll();
  await removeScratchDirs();
});

/** Every file under `dir` with its sha256: any change on disk shows. */
async function treeState(dir: string): Promise<Record<string, string>> {
  const state: Record<string, string> = {};
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, relative), { withFileTypes: true }).catch(() => [])) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) await walk(child);
      else state[child] = createHash('sha256').update(await readFile(path.join(dir, child))).digest('hex');
    }
  };
  await walk('');
  return state;
}

/** The store minus bookkeeping that legitimately comes and goes (empty dirs, released leases). */
async function storeState(): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await treeState(cli.storeRoot)).filter(([file]) => !file.startsWith('leases/')));
}

/** A tmpfs of `size` mounted at `dir` for the duration of `work`. */
async function withTmpfs(dir: string, size: string, body: () => Promise<void>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const mounted = await run(tool('mount'), ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { allowFailure: true });
  assert.equal(mounted.code, 0, `this test needs to mount a tmpfs (run as root): ${mounted.stderr}`);
  try {
    await body();
  } finally {
    await run(tool('umount'), [dir], { allowFailure: true });
    assert.deepEqual(await mountsUnder(dir), [], `${dir} is still mounted`);
  }
}

test('a wrong password: one line, and the auth file is left exactly as it was', async () => {
  const wrongLogin = (): ReturnType<CliSandbox['berth']> => cli.berth(['login', '-u', TEST_USER, '--password-stdin', berth.host], { input: 'wrong-password', allowFailure: true });
  const first = await wrongLogin();
  assert.match(oneErrorLine(first), /login to 127\.0\.0\.1:\d+ failed: the registry rejected the user name or password/);
  assert.equal(first.stdout, '');
  await assert.rejects(stat(cli.authFile), /ENOENT/, 'no auth file is created');

  const existing = JSON.stringify({ auths: { 'other.example:5000': { auth: Buffer.from('someone:secret').toString('base64') } } });
  await writeFile(cli.authFile, existing, { mode: 0o600 });
  oneErrorLine(await wrongLogin());
  assert.equal(await readFile(cli.authFile, 'utf8'), existing);

  assert.match(oneErrorLine(await cli.berth(['login', '--password-stdin', berth.host], { input: TEST_PASSWORD, allowFailure: true })), /needs --username/);
  assert.match(oneErrorLine(await cli.berth(['login', '-u', TEST_USER, '--password-stdin', '127.0.0.1:1'], { input: TEST_PASSWORD, allowFailure: true })), /connection refused \(127\.0\.0\.1:1\).*hint: is the registry running/);
  assert.equal(await readFile(cli.authFile, 'utf8'), existing);
});

test('an unknown image: one line from every command, and the store does not change', async () => {
  const before = await storeState();
  const unknownRemote = await cli.berth(['pull', `${hub.host}/team/nope:v1`], { allowFailure: true });
  assert.match(oneErrorLine(unknownRemote), /team\/nope:v1: manifest unknown \(hint: check the repository name and tag\)/);
  assert.equal(unknownRemote.stdout, '', 'nothing is printed before the failure');
  const archive = path.join(work, 'never.tar');
  const cases: string[][] = [
    ['push', 'nope:1'],
    ['tag', 'nope:1', 'other:1'],
    ['inspect', NAME(), 'nope:1'],
    ['rmi', NAME(), 'nope:1'],
    ['save', '-o', archive, 'nope:1'],
  ];
  for (const args of cases) {
    const result = await cli.berth(args, { allowFailure: true });
    assert.match(oneErrorLine(result), /no such image: nope:1/, args.join(' '));
  }
  await assert.rejects(stat(archive), /ENOENT/, 'save wrote no file');
  assert.deepEqual(await storeState(), before);
  assert.ok((await cli.berth(['images', '-q'])).stdout.includes(app.config.digest.slice(7, 19)), 'rmi of a known and an unknown image removed neither');
});

test('a corrupt archive: one line, nothing loaded, no staging left behind', async () => {
  const good = path.join(work, 'good.tar');
  await cli.berth(['save', '-o', good, NAME()]);
  const bytes = await readFile(good);
  const flipped = Buffer.from(bytes);
  const layerAt = flipped.indexOf(Buffer.from(`blobs/sha256/${app.layers[1]!.digest.slice(7)}`));
  flipped[layerAt + 1024] = flipped[layerAt + 1024]! ^ 0xff;
  const cases: Record<string, Buffer> = {
    truncated: bytes.subarray(0, Math.floor(bytes.length * 0.6)),
    garbage: createHash('sha512').update('garbage').digest(),
    'flipped byte': flipped,
  };
  await cli.berth(['rmi', NAME()]);
  const before = await storeState();
  for (const [name, content] of Object.entries(cases)) {
    const file = path.join(work, `${name.replace(' ', '-')}.tar`);
    await writeFile(file, content);
    const line = oneErrorLine(await cli.berth(['load', '-i', file], { allowFailure: true }));
    assert.match(line, /is not a valid image archive: .*hint: check the file/, name);
    assert.deepEqual(await storeState(), before, `${name} changed the store`);
  }
  assert.match(oneErrorLine(await cli.berth(['load', '-i', path.join(work, 'missing.tar')], { allowFailure: true })), /cannot read .*missing\.tar: no such file/);
  assert.deepEqual(await readdir(path.join(cli.storeRoot, 'ingest')), []);
  await cli.berth(['load', '-q', '-i', good]);
});

test('a full disk on save: one line, no file written, an existing file untouched', async () => {
  const disk = path.join(work, 'full-save');
  await withTmpfs(disk, '128k', async () => {
    const target = path.join(disk, 'images.tar');
    const first = await cli.berth(['save', '-o', target, NAME()], { allowFailure: true });
    assert.match(oneErrorLine(first), /no space left on device .*hint: free some space and retry/);
    assert.deepEqual(await readdir(disk), []);

    await writeFile(target, 'previous archive');
    oneErrorLine(await cli.berth(['save', '-o', target, NAME()], { allowFailure: true }));
    assert.deepEqual(await readdir(disk), ['images.tar']);
    assert.equal(await readFile(target, 'utf8'), 'previous archive');
  });
});

test('a full disk under the image store: the pull fails in one line and leaves no image or partial blob', async () => {
  const disk = path.join(work, 'full-store');
  await withTmpfs(disk, '192k', async () => {
    const root = path.join(disk, 'store');
    const pulled = await cli.berth(['pull', '--root', root, NAME()], { allowFailure: true });
    assert.match(oneErrorLine(pulled), /no space left on device/);
    const index = await readFile(path.join(root, 'index.json'), 'utf8').catch(() => '{"manifests":[]}');
    assert.deepEqual((JSON.parse(index) as { manifests: unknown[] }).manifests, []);
    // Whatever blobs made it are whole: each file hashes to its name.
    for (const [file, hash] of Object.entries(await treeState(path.join(root, 'blobs')))) assert.equal(hash, path.basename(file), `${file} is a partial blob`);
    assert.deepEqual(await readdir(path.join(root, 'ingest')), []);
  });
});
