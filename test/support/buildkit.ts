// buildkitd (built by scripts/go-tools.sh) as the test's own process, with everything
// under one scratch directory: its state (--root), its socket, its OTEL socket (which
// would otherwise go to /run/buildkit) and its config. The OCI worker uses the native
// snapshotter, the containerd worker is off, and the registries given are plain HTTP
// (`[registry."HOST:PORT"] http = true`). buildctl reads registry credentials from
// $DOCKER_CONFIG/config.json, so each run gets the DOCKER_CONFIG the caller names.
import type { ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, startProcess, stopProcess, waitFor, type RunResult } from './process.js';
import { tool } from './tools.js';

export interface RunningBuildkit {
  readonly socket: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** `buildctl --addr unix://<socket> ...args`, with $DOCKER_CONFIG set to `dockerConfig`. */
  buildctl(args: readonly string[], dockerConfig: string, options?: { allowFailure?: boolean }): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startBuildkit(dir: string, plainHttpRegistries: readonly string[]): Promise<RunningBuildkit> {
  await mkdir(dir, { recursive: true });
  const socket = path.join(dir, 'buildkitd.sock');
  const config = path.join(dir, 'buildkitd.toml');
  const registries = plainHttpRegistries.map((host) => `[registry.${JSON.stringify(host)}]\n  http = true\n`).join('');
  await writeFile(config, `[worker.oci]\n  enabled = true\n  snapshotter = "native"\n[worker.containerd]\n  enabled = false\n${registries}`);
  const logFile = path.join(dir, 'buildkitd.log');
  const out = openSync(logFile, 'a');
  const child = startProcess(
    tool('buildkitd'),
    ['--config', config, '--root', path.join(dir, 'root'), '--addr', `unix://${socket}`, '--otel-socket-path', path.join(dir, 'otel.sock')],
    { stdio: ['ignore', out, out] },
  );
  const buildctlBinary = tool('buildctl');
  const buildctl: RunningBuildkit['buildctl'] = (args, dockerConfig, options = {}) =>
    run(buildctlBinary, ['--addr', `unix://${socket}`, ...args], { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, timeoutMs: 300_000, ...options });
  try {
    await waitFor(
      `buildkitd on ${socket}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`buildkitd exited (${child.exitCode}): ${(await readFile(logFile, 'utf8')).slice(-3000)}`);
        const workers = await run(buildctlBinary, ['--addr', `unix://${socket}`, 'debug', 'workers'], { allowFailure: true, timeoutMs: 5000 });
        return workers.code === 0 && workers.stdout.includes('linux/') ? true : undefined;
      },
      30_000,
    );
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return { socket, logFile, child, buildctl, stop: () => stopProcess(child) };
}
