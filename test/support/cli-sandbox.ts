// `berth` as a real process for the CLI end-to-end tests: HOME, the XDG directories,
// DOCKER_CONFIG and REGISTRY_AUTH_FILE all point into one scratch directory, so no
// test reads or writes the user's own credentials or image store; the insecure-registry
// files (registries.conf, daemon.json) point there too, so the machine's own never count.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, type RunResult } from './process.js';
import { scratchDir } from './tmp.js';
import { BERTH_BIN } from './tools.js';

export interface CliSandbox {
  readonly dir: string;
  /** REGISTRY_AUTH_FILE. */
  readonly authFile: string;
  /** The default image store: $XDG_DATA_HOME/berth. */
  readonly storeRoot: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `berth ...args`; rejects on a non-zero exit unless allowFailure. */
  berth(args: readonly string[], options?: { input?: string; allowFailure?: boolean; timeoutMs?: number }): Promise<RunResult>;
}

export async function cliSandbox(prefix = 'berth-cli-'): Promise<CliSandbox> {
  const dir = await scratchDir(prefix);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: path.join(dir, 'home'),
    XDG_RUNTIME_DIR: path.join(dir, 'run'),
    XDG_DATA_HOME: path.join(dir, 'data'),
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    DOCKER_CONFIG: path.join(dir, 'docker'),
    REGISTRY_AUTH_FILE: path.join(dir, 'auth.json'),
    CONTAINERS_REGISTRIES_CONF: path.join(dir, 'containers', 'registries.conf'),
    BERTH_DOCKER_DAEMON_JSON: path.join(dir, 'docker-daemon.json'),
  };
  for (const key of ['HOME', 'XDG_RUNTIME_DIR', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME']) await mkdir(env[key]!, { recursive: true });
  const berth: CliSandbox['berth'] = (args, options = {}) =>
    run(process.execPath, [BERTH_BIN, ...args], {
      env,
      cwd: dir,
      ...(options.input !== undefined ? { input: options.input } : {}),
      allowFailure: options.allowFailure ?? false,
      timeoutMs: options.timeoutMs ?? 300_000,
    });
  return { dir, authFile: env['REGISTRY_AUTH_FILE']!, storeRoot: path.join(env['XDG_DATA_HOME']!, 'berth'), env, berth };
}

/** A failure must be exactly one `error: ...` line on stderr with a non-zero exit. */
export function oneErrorLine(result: RunResult): string {
  if (result.code === 0) throw new Error(`expected a failure, got exit 0; stdout: ${result.stdout}`);
  const lines = result.stderr.trim().split('\n');
  if (lines.length !== 1 || !lines[0]!.startsWith('error: ')) throw new Error(`expected one "error:" line, got: ${JSON.stringify(result.stderr)}`);
  return lines[0]!;
}

/** Writes containers' auth.json with `registry -> user:password` entries. */
export async function writeLogins(file: string, logins: Record<string, { user: string; password: string }>): Promise<void> {
  const auths = Object.fromEntries(
    Object.entries(logins).map(([registry, { user, password }]) => [registry, { auth: Buffer.from(`${user}:${password}`).toString('base64') }]),
  );
  await writeFile(file, JSON.stringify({ auths }), { mode: 0o600 });
}
