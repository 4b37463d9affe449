// Child processes of the benchmark. Every process started here is tracked by PID and
// stopped by PID (TERM, then KILL after a grace period), never by name, so a run on a
// shared machine cannot touch anyone else's servers.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';

const started = new Set<ChildProcess>();

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly allowFailure?: boolean;
  /** Killed (SIGKILL, by PID) after this long; every run is bounded. */
  readonly timeoutMs?: number;
  readonly input?: string;
}

/** Runs a command to completion; rejects on a non-zero exit unless allowFailure. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const began = performance.now();
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, ...(options.cwd ? { cwd: options.cwd } : {}) });
  started.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    const result = { code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), ms: performance.now() - began };
    if (code !== 0 && !options.allowFailure) {
      throw new Error(`${command} ${args.join(' ')} exited with ${code}\n${result.stderr.slice(-2000)}${result.stdout.slice(-1000)}`);
    }
    return result;
  } finally {
    clearTimeout(timer);
    started.delete(child);
  }
}

export interface Daemon {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  exited(): boolean;
  stop(graceMs?: number): Promise<void>;
}

/** Starts a long-running process with stdout and stderr appended to `logFile`. */
export function startDaemon(command: string, args: readonly string[], logFile: string, options: SpawnOptions = {}): Daemon {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', out, out], ...options });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  started.add(child);
  child.once('exit', () => started.delete(child));
  return {
    child,
    pid: child.pid,
    logFile,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: (graceMs) => stopProcess(child, graceMs),
  };
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

export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => stopProcess(child, 5000)));
}

/** Polls `check` until it returns something other than undefined; bounded by timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `work` over `items` with at most `limit` in flight; the first failure rejects. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const index = next++;
      try {
        await work(items[index]!, index);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}

// A crash or Ctrl-C of the benchmark still takes its own servers down, by PID.
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});
