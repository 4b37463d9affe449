// The `berth` CLI as a real process, with its home, XDG and credential locations in a
// scratch directory, so a test never reads or writes the user's own auth files.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, type RunResult } from './process.js';
import { scratchDir } from './tmp.js';
import { BERTH_BIN } from './tools.js';

export interface CliHome {
  readonly dir: string;
  readonly authFile: string;
  readonly env: NodeJS.ProcessEnv;
}

export async function cliHome(prefix = 'berth-cli-'): Promise<CliHome> {
  const dir = await scratchDir(prefix);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: path.join(dir, 'home'),
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    DOCKER_CONFIG: path.join(dir, 'docker'),
    REGISTRY_AUTH_FILE: path.join(dir, 'auth.json'),
  };
  for (const key of ['HOME', 'XDG_RUNTIME_DIR', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME']) await mkdir(env[key]!, { recursive: true });
  return { dir, authFile: env['REGISTRY_AUTH_FILE']!, env };
}

/** Writes containers' auth.json with `registry -> user:password` entries. */
export async function writeLogins(file: string, logins: Record<string, { user: string; password: string }>): Promise<void> {
  const auths = Object.fromEntries(
    Object.entries(logins).map(([registry, { user, password }]) => [registry, { auth: Buffer.from(`${user}:${password}`).toString('base64') }]),
  );
  await writeFile(file, JSON.stringify({ auths }), { mode: 0o600 });
}

export function berth(home: CliHome, args: readonly string[], options: { input?: string; allowFailure?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [BERTH_BIN, ...args], {
    env: home.env,
    cwd: home.dir,
    ...(options.input !== undefined ? { input: options.input } : {}),
    allowFailure: options.allowFailure ?? false,
    timeoutMs: options.timeoutMs ?? 300_000,
  });
}

/** A failed run must say so in exactly one line on stderr, with a non-zero exit. */
export function oneLineError(result: RunResult): string {
  const lines = result.stderr.trim().split('\n');
  if (result.code === 0) throw new Error(`expected a failure, got exit 0; stdout: ${result.stdout}`);
  if (lines.length !== 1 || !lines[0]!.startsWith('error: ')) throw new Error(`expected one "error:" line, got: ${JSON.stringify(result.stderr)}`);
  return lines[0]!;
}
