// HTTP load generators. Closed loop (every connection sends its next request as soon as
// the previous answer arrives): wrk, and hey for HEAD, which wrk cannot do (it waits
// for the body that Content-Length announces). Fixed rate: paced-load.js, Poisson
// arrivals over keep-alive connections (`hey -q` would send synchronised bursts, one
// request per worker per tick, which measures the burst, not the server).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './proc.js';
import { tool } from './tools.js';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Non-2xx answers and socket errors: any of these makes the run invalid. */
  readonly errors: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  switch (unit) {
    case 'us':
      return n / 1000;
    case 'ms':
      return n;
    case 's':
      return n * 1000;
    case 'm':
      return n * 60_000;
    default:
      throw new Error(`unknown time unit ${unit}`);
  }
}

export function parseWrk(text: string): LoadResult {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(text);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(text);
  const total = /(\d+) requests in/.exec(text);
  if (!rate || !p50 || !p99 || !total) throw new Error(`cannot read wrk output:\n${text}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = socket ? socket.slice(1).reduce((sum, v) => sum + Number(v), 0) : 0;
  return {
    requestsPerSecond: Number(rate[1]),
    p50Ms: toMs(p50[1]!, p50[2]!),
    p99Ms: toMs(p99[1]!, p99[2]!),
    requests: Number(total[1]),
    errors: non2xx + socketErrors,
  };
}

export interface WrkOptions {
  readonly url: string;
  readonly method: 'GET' | 'HEAD';
  readonly headers: Record<string, string>;
  readonly connections: number;
  readonly seconds: number;
  readonly threads: number;
  readonly work: string;
}

export async function wrk(options: WrkOptions): Promise<LoadResult> {
  const script = path.join(options.work, `wrk-${options.method}.lua`);
  await writeFile(script, `wrk.method = "${options.method}"\n`);
  const args = ['-t', String(options.threads), '-c', String(options.connections), '-d', `${options.seconds}s`, '--latency', '--timeout', '30s', '-s', script];
  for (const [name, value] of Object.entries(options.headers)) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  const result = await run(tool('wrk'), args, { timeoutMs: (options.seconds + 60) * 1000 });
  return parseWrk(result.stdout);
}

/** hey's summary; with very few answers some sections are missing, so fall back on what is there. */
export function parseHey(text: string): LoadResult {
  const seconds = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(text);
    return match ? Number(match[1]) : undefined;
  };
  let ok = 0;
  let bad = 0;
  for (const match of text.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)) {
    if (match[1]!.startsWith('2')) ok += Number(match[2]);
    else bad += Number(match[2]);
  }
  const errorSection = text.split('Error distribution:')[1] ?? '';
  for (const match of errorSection.matchAll(/\[(\d+)\]/g)) bad += Number(match[1]);
  const total = seconds(/Total:\s+([\d.]+) secs/);
  const rate = seconds(/Requests\/sec:\s+([\d.]+)/) ?? (total ? (ok + bad) / total : undefined);
  const p50 = seconds(/50% in ([\d.]+) secs/) ?? seconds(/Average:\s+([\d.]+) secs/);
  const p99 = seconds(/99% in ([\d.]+) secs/) ?? seconds(/Slowest:\s+([\d.]+) secs/);
  if (rate === undefined || p50 === undefined || p99 === undefined) throw new Error(`cannot read hey output:\n${text}`);
  return { requestsPerSecond: rate, p50Ms: p50 * 1000, p99Ms: p99 * 1000, requests: ok + bad, errors: bad };
}

export interface HeyOptions {
  readonly url: string;
  readonly method: 'GET' | 'HEAD';
  readonly headers: Record<string, string>;
  readonly connections: number;
  /** Total offered rate, spread evenly over the connections; undefined: closed loop. */
  readonly rate: number | undefined;
  readonly seconds: number;
}

/** hey with `rate` spread over the connections, or closed loop when `rate` is undefined. */
export async function hey(options: HeyOptions): Promise<LoadResult> {
  const args = ['-z', `${options.seconds}s`, '-c', String(options.connections), '-m', options.method, '-t', '30'];
  if (options.rate !== undefined) args.push('-q', (options.rate / options.connections).toFixed(3));
  for (const [name, value] of Object.entries(options.headers)) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  const result = await run(tool('hey'), args, { timeoutMs: (options.seconds + 90) * 1000 });
  return parseHey(result.stdout);
}

export interface PacedResult extends LoadResult {
  /** Arrivals not sent because too many requests were outstanding: the server fell behind. */
  readonly dropped: number;
  /** p99 of how late the generator sent a request after its arrival time. */
  readonly sendLagP99Ms: number;
}

export interface PacedOptions {
  readonly url: string;
  readonly method: 'GET' | 'HEAD';
  readonly headers: Record<string, string>;
  readonly connections: number;
  readonly rate: number;
  readonly seconds: number;
}

const PACED_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'paced-load.js');

export async function paced(options: PacedOptions): Promise<PacedResult> {
  const args = [PACED_SCRIPT, '--url', options.url, '--method', options.method, '--rate', String(options.rate), '--connections', String(options.connections), '--seconds', String(options.seconds)];
  for (const [name, value] of Object.entries(options.headers)) args.push('--header', `${name}: ${value}`);
  const result = await run(process.execPath, args, { timeoutMs: (options.seconds + 90) * 1000 });
  return JSON.parse(result.stdout) as PacedResult;
}
