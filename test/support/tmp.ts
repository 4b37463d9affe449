// Per-test scratch directories, removed when the test file ends.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const made: string[] = [];

export async function scratchDir(prefix = 'berth-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(process.env['BERTH_TEST_TMP'] ?? tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function removeScratchDirs(): Promise<void> {
  if (process.env['BERTH_KEEP_TEST_DIRS']) return;
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true }).catch(() => undefined)));
}
