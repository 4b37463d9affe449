// oras (the ORAS CLI, built into .tools/bin) against plain-HTTP test registries. The
// password goes through stdin, and a private registry config keeps ~/.docker untouched.
import path from 'node:path';
import { run, type RunResult } from './process.js';
import { tool } from './tools.js';
import type { TestRegistry } from './berth.js';

export interface OrasOptions {
  /** Directory for oras' registry config (credentials file); never written with -u. */
  readonly configDir: string;
  readonly allowFailure?: boolean;
  readonly cwd?: string;
}

/** Runs `oras <command> --plain-http [-u user --password-stdin] ...args` against `registry`. */
export function oras(command: readonly string[], registry: TestRegistry, args: readonly string[], options: OrasOptions): Promise<RunResult> {
  const auth = registry.user !== undefined ? ['--username', registry.user, '--password-stdin'] : [];
  return run(tool('oras'), [...command, '--plain-http', '--registry-config', path.join(options.configDir, 'oras-auth.json'), ...auth, ...args], {
    input: registry.user !== undefined ? (registry.password ?? '') : '',
    allowFailure: options.allowFailure ?? false,
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
}
