// Locates the real third-party peers the tests drive. A missing peer is a test
// failure with the command that installs it, never a silent skip.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const GO_TOOLS_BIN = path.join(PROJECT_ROOT, '.tools', 'bin');

/** Peers with a fixed location, where PATH may hold something else (a newer docker CLI). */
const PINNED: Record<string, string> = { docker: '/usr/bin/docker' };

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function tool(name: string): string {
  const pinned = PINNED[name];
  if (pinned) {
    if (isExecutable(pinned)) return pinned;
  } else {
    const candidates = [GO_TOOLS_BIN, ...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin'];
    for (const dir of candidates) {
      if (dir !== '' && isExecutable(path.join(dir, name))) return path.join(dir, name);
    }
  }
  throw new Error(`test peer "${name}" is not installed; run: bash scripts/install-test-deps.sh`);
}

/** The compiled `berth` entry point. */
export const BERTH_BIN = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
