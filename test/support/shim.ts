// `berth shim` as a real child process for end-to-end tests: its config file and
// socket in a scratch directory, its JSON log lines in the persistent test log
// directory (so the secrets-hygiene test reads them), crictl pointed at it.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { testLogPath } from './logs.js';
import { run, startProcess, stopProcess, waitFor, type RunOptions, type RunResult } from './process.js';
import { BERTH_BIN, PROJECT_ROOT, tool } from './tools.js';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface ShimProcess {
  readonly child: ChildProcess;
  readonly configFile: string;
  readonly logFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The exit, or a rejection after `timeoutMs` (every wait in the tests is bounded). */
  exit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logText(): Promise<string>;
  lines(): Promise<LogLine[]>;
  /** Waits for a log line (after line number `from`) that matches. */
  waitForLine(what: string, match: (line: LogLine) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<LogLine>;
  stop(): Promise<void>;
}

export async function writeShimConfig(file: string, config: Record<string, unknown>): Promise<void> {
  await writeFile(file, stringify(config));
}

function parseLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(raw) as LogLine);
    } catch {
      // A line being written right now; the next read has it whole.
    }
  }
  return lines;
}

/** Starts `berth shim -f configFile`; by default waits until it logs that it serves. */
export async function startShim(configFile: string, options: { waitUntilServing?: boolean; timeoutMs?: number } = {}): Promise<ShimProcess> {
  const logFile = testLogPath('berth-shim');
  const out = openSync(logFile, 'a');
  const child = startProcess(process.execPath, [BERTH_BIN, 'shim', '-f', configFile], { stdio: ['ignore', out, out] });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const logText = (): Promise<string> => readFile(logFile, 'utf8').catch(() => '');
  const lines = async (): Promise<LogLine[]> => parseLines(await logText());
  const waitForLine: ShimProcess['waitForLine'] = (what, match, waitOptions = {}) =>
    waitFor(
      what,
      async () => {
        const all = await lines();
        return all.slice(waitOptions.from ?? 0).find(match);
      },
      waitOptions.timeoutMs ?? 15_000,
    );
  const exit: ShimProcess['exit'] = (timeoutMs = 15_000) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`berth shim (pid ${child.pid}) did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
  };
  const shim: ShimProcess = { child, configFile, logFile, exited, exit, logText, lines, waitForLine, stop: () => stopProcess(child) };
  if (options.waitUntilServing ?? true) {
    await waitFor(
      'berth shim to serve',
      async () => {
        if (child.exitCode !== null) throw new Error(`berth shim exited with ${child.exitCode}: ${(await logText()).slice(-3000)}`);
        return (await lines()).find((line) => typeof line.msg === 'string' && line.msg.startsWith('image shim serving'));
      },
      options.timeoutMs ?? 20_000,
    );
  }
  return shim;
}

/** A crictl config file: images through `imageSocket`, pods and containers to `runtimeSocket`. */
export async function writeCrictlConfig(file: string, imageSocket: string, runtimeSocket: string): Promise<void> {
  await writeFile(file, `runtime-endpoint: unix://${runtimeSocket}\nimage-endpoint: unix://${imageSocket}\ntimeout: 60\n`);
}

/** deploy/crictl.yaml as an operator installs it, with the sockets of this test. */
export async function installCrictlConfig(file: string, runtimeSocket: string, imageSocket: string): Promise<void> {
  const template = await readFile(path.join(PROJECT_ROOT, 'deploy', 'crictl.yaml'), 'utf8');
  await writeFile(file, template.replace('unix:///run/containerd/containerd.sock', `unix://${runtimeSocket}`).replace('unix:///var/run/image-cri-shim.sock', `unix://${imageSocket}`));
}

/** deploy/containerd-hosts.toml as installed for the plain-HTTP registry `host`: <hostsDir>/<host>/hosts.toml. */
export async function installHostsToml(hostsDir: string, host: string): Promise<void> {
  const template = await readFile(path.join(PROJECT_ROOT, 'deploy', 'containerd-hosts.toml'), 'utf8');
  await mkdir(path.join(hostsDir, host), { recursive: true });
  await writeFile(path.join(hostsDir, host, 'hosts.toml'), template.replaceAll('sealos.hub:5000', host));
}

export function crictl(configFile: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(tool('crictl'), ['--config', configFile, ...args], { timeoutMs: 120_000, ...options });
}
