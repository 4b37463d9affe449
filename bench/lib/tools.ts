// Finds the peers the benchmark drives, and installs missing ones through the same
// script the tests use (its --peers mode: Debian packages only, no `npm ci` under a
// running benchmark, no Go toolchain needed).
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.js';

/** The repository root (this file is dist/bench/lib/tools.js once compiled). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BERTH_BIN = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');

/** Every command the full suite runs. */
export const BENCH_PEERS = ['docker-registry', 'htpasswd', 'skopeo', 'curl', 'wrk', 'hey', 'nginx', 'containerd'] as const;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findTool(name: string): string | undefined {
  const dirs = [path.join(PROJECT_ROOT, '.tools', 'bin'), ...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir !== '' && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export function tool(name: string): string {
  const found = findTool(name);
  if (!found) throw new Error(`"${name}" is not installed; run: bash scripts/install-test-deps.sh --peers (Go-built peers such as weed: bash scripts/go-tools.sh)`);
  return found;
}

/** Installs what is missing (once), then fails loudly if anything still is. */
export async function ensurePeers(names: readonly string[], log: (line: string) => void): Promise<void> {
  let missing = names.filter((name) => !findTool(name));
  if (missing.length === 0) return;
  log(`installing missing peers (${missing.join(', ')}) with scripts/install-test-deps.sh --peers`);
  const result = await run('bash', [path.join(PROJECT_ROOT, 'scripts', 'install-test-deps.sh'), '--peers'], { allowFailure: true, timeoutMs: 1_800_000 });
  missing = names.filter((name) => !findTool(name));
  if (missing.length > 0) {
    throw new Error(`still missing after install: ${missing.join(', ')}\n${result.stderr.slice(-2000)}`);
  }
}
