// Files a test leaves for people to look at (screenshots), in one directory per test
// that outlives the scratch dirs: <project>/.test-artifacts/<test>/ (override the root
// with BERTH_TEST_ARTIFACT_DIR). CI keeps the working tree, so they can be read after a run.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './tools.js';

export const TEST_ARTIFACT_DIR = process.env['BERTH_TEST_ARTIFACT_DIR'] ?? path.join(PROJECT_ROOT, '.test-artifacts');

/** The artifacts folder of one test, created. */
export function artifactDir(test: string): string {
  const dir = path.join(TEST_ARTIFACT_DIR, test);
  mkdirSync(dir, { recursive: true });
  return dir;
}
