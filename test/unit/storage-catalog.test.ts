// The in-memory repository catalog against a real directory: nested repositories,
// changes made behind its back (another process) seen after maxAgeMs, directories whose
// listing is reused because their mtime did not move, and repositories added while a
// walk is running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StorageDriver } from '../../src/storage/driver/driver.js';
import { openDriver } from '../../src/storage/open.js';
import { RepositoryCatalog } from '../../src/storage/repository-catalog.js';

const REPOS = 'docker/registry/v2/repositories';

async function withRoot(run: (root: string, fs: StorageDriver) => Promise<void>): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-catalog-'));
  try {
    await run(root, openDriver({ kind: 'filesystem', root }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Makes `name` a repository the way a push does, with old mtimes (so listings are trusted). */
async function makeRepository(root: string, name: string, marker: '_manifests' | '_layers' = '_manifests'): Promise<void> {
  await mkdir(path.join(root, REPOS, name, marker), { recursive: true });
  const old = new Date(Date.now() - 60_000);
  for (let dir = path.join(root, REPOS, name); dir.startsWith(path.join(root, REPOS)); dir = path.dirname(dir)) await utimes(dir, old, old);
}

test('lists nested repositories in byte order, and skips _uploads and invalid names', async () => {
  await withRoot(async (root, fs) => {
    for (const name of ['b/app', 'a', 'a/sub', 'a/sub/deeper', 'B/upper', 'c/x']) await makeRepository(root, name, name === 'c/x' ? '_layers' : '_manifests');
    await mkdir(path.join(root, REPOS, 'a', '_uploads', 'not-a-repo', '_manifests'), { recursive: true });
    await mkdir(path.join(root, REPOS, 'empty', 'dir'), { recursive: true });
    const catalog = new RepositoryCatalog(fs, 0);
    assert.deepEqual([...(await catalog.list())], ['a', 'a/sub', 'a/sub/deeper', 'b/app', 'c/x']);
  });
});

test('a repository created or removed by another process shows after maxAgeMs, also under an unchanged parent listing', async () => {
  await withRoot(async (root, fs) => {
    for (let i = 0; i < 30; i++) await makeRepository(root, `ns${i % 3}/repo${i}`);
    const catalog = new RepositoryCatalog(fs, 0);
    assert.equal((await catalog.list()).length, 30);
    // Another process adds a repository: its parent's mtime moves, so that listing is re-read.
    await mkdir(path.join(root, REPOS, 'ns1', 'late', '_manifests'), { recursive: true });
    assert.ok((await catalog.list()).includes('ns1/late'));
    await rm(path.join(root, REPOS, 'ns2'), { recursive: true });
    const after = await catalog.list();
    assert.equal(after.length, 21);
    assert.ok(!after.some((name) => name.startsWith('ns2/')));
    // A repository dir that gains _manifests later (it had only _uploads) becomes a repository.
    await mkdir(path.join(root, REPOS, 'ns0', 'repo0', 'child', '_uploads'), { recursive: true });
    assert.ok(!(await catalog.list()).includes('ns0/repo0/child'));
    await mkdir(path.join(root, REPOS, 'ns0', 'repo0', 'child', '_layers'), { recursive: true });
    assert.ok((await catalog.list()).includes('ns0/repo0/child'));
  });
});

test('a repository added while a walk runs is not lost when the walk ends', async () => {
  await withRoot(async (root, fs) => {
    for (let i = 0; i < 2000; i++) await mkdir(path.join(root, REPOS, `n${i % 20}`, `r${i}`, '_manifests'), { recursive: true });
    const catalog = new RepositoryCatalog(fs, 0);
    const walking = catalog.list();
    // The walk yields to the event loop between slices; a push lands meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    await mkdir(path.join(root, REPOS, 'aaa', '_manifests'), { recursive: true });
    catalog.add('aaa');
    const listed = await walking;
    assert.ok(listed.includes('aaa'));
    assert.equal(listed.length, 2001);
    assert.ok(catalog.has('aaa'));
  });
});

test('within maxAgeMs the catalog is answered from memory; add() shows at once', async () => {
  await withRoot(async (root, fs) => {
    await makeRepository(root, 'one');
    const catalog = new RepositoryCatalog(fs, 60_000);
    assert.deepEqual([...(await catalog.list())], ['one']);
    await makeRepository(root, 'two');
    assert.deepEqual([...(await catalog.list())], ['one'], 'not walked again within maxAgeMs');
    catalog.add('two');
    assert.deepEqual([...(await catalog.list())], ['one', 'two']);
  });
});
