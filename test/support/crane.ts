// go-containerregistry's crane against plain-HTTP test registries, each "user" with its
// own DOCKER_CONFIG (crane auth login writes there), so logins never mix.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { run, type RunResult } from './process.js';
import { tool } from './tools.js';

export interface Crane {
  run(args: readonly string[], options?: { allowFailure?: boolean }): Promise<RunResult>;
}

/** crane as one user: logged in to `host` when credentials are given, anonymous otherwise. */
export async function craneAs(configDir: string, host: string, credentials?: { user: string; password: string }): Promise<Crane> {
  await mkdir(configDir, { recursive: true });
  const env = { ...process.env, DOCKER_CONFIG: path.resolve(configDir) };
  const crane: Crane = {
    run: (args, options = {}) => run(tool('crane'), ['--insecure', ...args], { env, timeoutMs: 300_000, allowFailure: options.allowFailure ?? false }),
  };
  if (credentials) await run(tool('crane'), ['auth', 'login', host, '-u', credentials.user, '--password-stdin'], { env, input: credentials.password });
  return crane;
}
