// Debian's dockerd 20.10 for tests, with its state under one scratch directory:
// daemon config, data-root, exec-root (which also holds the containerd dockerd starts
// for itself), PID file, socket and the client's DOCKER_CONFIG. No iptables, no bridge
// (containers can only use --network none or host) and the vfs storage driver, which
// works on any filesystem. Registries on 127.0.0.0/8 are plain HTTP for dockerd by
// default, so Berth on 127.0.0.1:<port> needs no insecure-registries entry.
//
// One file dockerd 20.10 writes outside the directory, with no flag to move it: its
// trust key, /etc/docker/key.json (created once, then reused).
//
// The client is /usr/bin/docker (20.10, pinned by tool('docker')): a newer docker CLI
// may come first on PATH.
import type { ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unmountUnder } from './mounts.js';
import { run, startProcess, stopProcess, waitFor, type RunOptions, type RunResult } from './process.js';
import { tool } from './tools.js';

export interface RunningDockerd {
  readonly dir: string;
  readonly socket: string;
  /** The client's DOCKER_CONFIG (config.json with the logins). */
  readonly clientConfigDir: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** DOCKER_HOST and DOCKER_CONFIG for this daemon. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs /usr/bin/docker against this daemon. */
  docker(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  logs(): Promise<string>;
  stop(): Promise<void>;
}

/** Signals a PID that may have exited meanwhile. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * dockerd stops the containerd it started when it shuts down cleanly; if dockerd had to
 * be killed, that containerd is found by its PID file under our exec-root, and checked
 * against /proc (its command line names our exec-root) before it is signalled.
 */
async function stopManagedContainerd(execRoot: string): Promise<void> {
  const pid = Number((await readFile(path.join(execRoot, 'containerd', 'containerd.pid'), 'utf8').catch(() => '')).trim());
  if (!(pid > 0)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(execRoot)) return;
  const alive = async (): Promise<boolean> => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')) !== '';
  signal(pid, 'SIGTERM');
  const exited = await waitFor(`dockerd's containerd (${pid}) to exit`, async () => ((await alive()) ? undefined : true), 10_000).then(
    () => true,
    () => false,
  );
  if (!exited) signal(pid, 'SIGKILL');
}

export async function startDockerd(dir: string): Promise<RunningDockerd> {
  dir = path.resolve(dir);
  const socket = path.join(dir, 'docker.sock');
  const execRoot = path.join(dir, 'exec');
  const clientConfigDir = path.join(dir, 'client');
  await mkdir(clientConfigDir, { recursive: true });
  await mkdir(execRoot, { recursive: true });
  // An explicit (empty) daemon config, so /etc/docker/daemon.json is never read.
  const daemonJson = path.join(dir, 'daemon.json');
  await writeFile(daemonJson, '{}\n');
  const logFile = path.join(dir, 'dockerd.log');
  const out = openSync(logFile, 'a');
  const child = startProcess(
    tool('dockerd'),
    [
      '--config-file', daemonJson,
      '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver=vfs',
      '--data-root', path.join(dir, 'data'),
      '--exec-root', execRoot,
      '--pidfile', path.join(execRoot, 'dockerd.pid'),
      '--host', `unix://${socket}`,
    ],
    { stdio: ['ignore', out, out] },
  );
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: clientConfigDir };
  const dockerBinary = tool('docker');
  const docker = (args: readonly string[], options: RunOptions = {}): Promise<RunResult> => run(dockerBinary, args, { env, ...options });
  const logs = (): Promise<string> => readFile(logFile, 'utf8').catch(() => '');

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // dockerd gives running containers up to 15 s on shutdown; allow for that.
      await stopProcess(child, 30_000);
      await stopManagedContainerd(execRoot);
      // A --network host container leaves exec-root/netns/default mounted.
      await unmountUnder(dir);
    })();
    return stopped;
  };
  try {
    await waitFor(
      `dockerd on ${socket}`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}): ${(await logs()).slice(-3000)}`);
        const version = await docker(['version', '--format', '{{.Server.Version}}'], { allowFailure: true, timeoutMs: 10_000 });
        return version.code === 0 ? true : undefined;
      },
      60_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, socket, clientConfigDir, logFile, child, env, docker, logs, stop };
}
