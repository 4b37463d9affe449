// Online garbage collection under load on the filesystem (test/support/gc-load.ts).
import { after, test } from 'node:test';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { startBerthProcess } from '../support/berth.js';
import { GC_ROUNDS, gcUnderLoad } from '../support/gc-load.js';
import { stopAll } from '../support/process.js';
import { removeScratchDirs } from '../support/tmp.js';

after(async () => {
  await stopAll();
  await removeScratchDirs();
});

test(`GC ${GC_ROUNDS} rounds while pushes and deletes run: no reachable blob is ever deleted`, { timeout: 10 * 60_000 }, async (t) => {
  const registry = await startBerthProcess(['--log-level', 'warn']);
  const blobExists = async (digest: string): Promise<boolean> => {
    const hex = digest.slice('sha256:'.length);
    return stat(path.join(registry.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')).then(
      () => true,
      () => false,
    );
  };
  await gcUnderLoad(t, { registry, gcArgs: ['--data-dir', registry.dataDir], blobExists });
  await registry.stop();
});
