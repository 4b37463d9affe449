// Crash safety on the filesystem (test/support/crash-run.ts), with the data directory
// read directly: blob files hashed, tag and revision link files followed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess } from '../support/berth.js';
import { CRASH_CYCLES, crashConfig, crashUnderPushers } from '../support/crash-run.js';
import { freePort } from '../support/net.js';
import { stopAll } from '../support/process.js';
import { removeScratchDirs, scratchDir } from '../support/tmp.js';

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

test(`SIGKILL at random moments under 32 pushers, ${CRASH_CYCLES} cycles: nothing acknowledged is lost or corrupted`, { timeout: 30 * 60_000 }, async (t) => {
  const work = await scratchDir('crash-');
  const dataDir = path.join(work, 'data');
  const port = await freePort();
  const config = path.join(work, 'berth.yaml');
  await writeFile(config, crashConfig());
  await crashUnderPushers(t, {
    start: () => startBerthProcess(['--config', config], { port, dataDir }),
    check: () => checkDisk(dataDir),
    countUploadSessions: () => countUploadSessions(dataDir),
    fsckArgs: ['--data-dir', dataDir],
  });
});

/** Blob files already hashed, by path and inode: a rename over one gives a new inode. */
const hashedBlobs = new Set<string>();

/** Reads the layout directly (not through Berth): every blob hashes right, every tag resolves. */
async function checkDisk(dataDir: string): Promise<{ blobs: number }> {
  const v2 = path.join(dataDir, 'docker/registry/v2');
  let blobs = 0;
  const blobRoot = path.join(v2, 'blobs/sha256');
  for (const prefix of await readdir(blobRoot).catch(() => [])) {
    for (const hex of await readdir(path.join(blobRoot, prefix))) {
      const file = path.join(blobRoot, prefix, hex, 'data');
      const key = `${hex}:${(await stat(file)).ino}`;
      if (hashedBlobs.has(key)) continue;
      assert.equal(sha256(await readFile(file)), `sha256:${hex}`, `blob ${hex} does not match its digest`);
      hashedBlobs.add(key);
      blobs += 1;
    }
  }
  const repositories = path.join(v2, 'repositories/crash');
  for (const repository of await readdir(repositories).catch(() => [])) {
    const tags = path.join(repositories, repository, '_manifests/tags');
    for (const tag of await readdir(tags).catch(() => [])) {
      const target = (await readFile(path.join(tags, tag, 'current/link'), 'utf8')).trim();
      const hex = target.slice('sha256:'.length);
      const revision = (await readFile(path.join(repositories, repository, '_manifests/revisions/sha256', hex, 'link'), 'utf8')).trim();
      assert.equal(revision, target, `tag ${repository}:${tag} has no revision`);
      const manifest = await readFile(path.join(blobRoot, hex.slice(0, 2), hex, 'data'));
      assert.equal(sha256(manifest), target, `tag ${repository}:${tag} points at a missing or broken manifest`);
    }
  }
  return { blobs };
}

async function countUploadSessions(dataDir: string): Promise<number> {
  const repositories = path.join(dataDir, 'docker/registry/v2/repositories/crash');
  let count = 0;
  for (const repository of await readdir(repositories).catch(() => [])) {
    count += (await readdir(path.join(repositories, repository, '_uploads')).catch(() => [])).length;
  }
  return count;
}

