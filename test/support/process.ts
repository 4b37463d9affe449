// Child processes for tests: every one started is tracked by PID and stopped by PID
// when the test file ends, never by name.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { recordCliOutput } from './logs.js';
import { BERTH_BIN } from './tools.js';

const started = new Set<ChildProcess>();

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions extends SpawnOptions {
  readonly input?: string | Buffer;
  /** Resolve even when the exit code is not 0. */
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
}

/** Runs a command to completion; rejects on a non-zero exit unless allowFailure. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { input, allowFailure, timeoutMs = 300_000, ...spawnOptions } = options;
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOptions });
  started.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    const result = { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
    if (args[0] === BERTH_BIN) recordCliOutput(args.slice(1), result.stdout, result.stderr);
    if (code !== 0 && !allowFailure) {
      throw new Error(`${command} ${args.join(' ')} exited with ${code}\nstdout: ${result.stdout.slice(-4000)}\nstderr: ${result.stderr.slice(-4000)}`);
    }
    return result;
  } finally {
    clearTimeout(timer);
    started.delete(child);
  }
}

/** Starts a long-running process; it is stopped by stopAll() or stop(). */
export function startProcess(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`, to exactly this PID. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the PID, its identity. */
async function startTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces) start at field 3.
  return stat === '' ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
}

/**
 * SIGKILL to `child` and, at the same moment, to the processes it started (a registry's
 * worker processes): how a host that dies takes a whole process tree down. The children
 * are found through /proc and each is checked by its start time before the signal, so a
 * reused PID is never hit. Resolves, with how many processes were killed, once `child`
 * has exited and the children are gone.
 */
export async function killWithChildren(child: ChildProcess): Promise<number> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return 0;
  const children: Array<{ pid: number; started: string | undefined }> = [];
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const listed = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const id of listed.split(/\s+/).filter((text) => text !== '')) children.push({ pid: Number(id), started: await startTime(Number(id)) });
  }
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  let killed = 1;
  for (const worker of children) {
    if (worker.started === undefined || (await startTime(worker.pid)) !== worker.started) continue;
    process.kill(worker.pid, 'SIGKILL');
    killed += 1;
  }
  await exited;
  await waitFor('the killed process tree to be gone', async () => ((await Promise.all(children.map((w) => startTime(w.pid)))).every((s, i) => s !== children[i]!.started) ? true : undefined), 10_000);
  return killed;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => stopProcess(child)));
}

/** Polls `check` until it returns a value other than undefined, or fails after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});
