// Berth registries for tests: in process (fast, the common case) or as a real
// `berth registry serve` child process (signals, crashes, the CLI itself).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import type { ChildProcess } from 'node:child_process';
import { REGISTRY_DEFAULTS, type RegistryConfig } from '../../src/registry/config.js';
import { startRegistry, type RunningRegistry } from '../../src/cli/registry/serve.js';
import { BERTH_BIN } from './tools.js';
import { freePort, basicAuth } from './net.js';
import { startProcess, stopProcess, waitFor } from './process.js';
import { scratchDir } from './tmp.js';
import { testLogPath } from './logs.js';

export const TEST_USER = 'admin';
export const TEST_PASSWORD = 'passw0rd';

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  readonly host: string;
  readonly url: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  stop(): Promise<void>;
  logs(): Promise<string>;
}

export interface BerthOptions {
  readonly dataDir?: string;
  readonly auth?: boolean;
  readonly htpasswd?: string;
  readonly config?: Partial<RegistryConfig>;
}

/** Starts Berth in this process on 127.0.0.1 with a free port. */
export async function startBerth(options: BerthOptions = {}): Promise<TestRegistry & { running: RunningRegistry }> {
  const work = await scratchDir('berth-reg-');
  const dataDir = options.dataDir ?? path.join(work, 'data');
  await mkdir(dataDir, { recursive: true });
  const logFile = testLogPath('berth-registry');
  const log = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, pino.destination({ dest: logFile, sync: true }));
  const auth = options.auth ?? true;
  const config: RegistryConfig = {
    ...REGISTRY_DEFAULTS,
    dataDir,
    addr: '127.0.0.1:0',
    ...(options.htpasswd ? { htpasswd: options.htpasswd } : {}),
    shutdownGraceMs: 2000,
    ...options.config,
  };
  const running = await startRegistry({ config, log, auth });
  const host = `127.0.0.1:${running.address.port}`;
  return {
    host,
    url: `http://${host}`,
    dataDir,
    logFile,
    user: auth ? TEST_USER : undefined,
    password: auth ? TEST_PASSWORD : undefined,
    running,
    stop: () => running.stop(),
    logs: () => readFile(logFile, 'utf8'),
  };
}

/** Starts `berth registry serve` as a child process and waits until /v2/ answers. */
export interface ProcessOptions {
  readonly port?: number;
  /** false: pass no --data-dir (the config file names the storage, an S3 bucket). */
  readonly dataDir?: string | false;
  /** The process environment (default: this one). */
  readonly env?: NodeJS.ProcessEnv;
  /** The server speaks TLS: readiness is checked over https with these files. */
  readonly https?: boolean;
  readonly caFile?: string;
  readonly clientCert?: string;
  readonly clientKey?: string;
}

/** GET /v2/ over http or https; the status code. */
async function probe(host: string, options: ProcessOptions): Promise<number> {
  if (!options.https) {
    return (await fetch(`http://${host}/v2/`, { headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) } })).status;
  }
  const { request } = await import('node:https');
  const { readFileSync } = await import('node:fs');
  const [hostname, port] = host.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port: Number(port),
        path: '/v2/',
        headers: { authorization: basicAuth(TEST_USER, TEST_PASSWORD) },
        ...(options.caFile ? { ca: readFileSync(options.caFile) } : {}),
        ...(options.clientCert && options.clientKey ? { cert: readFileSync(options.clientCert), key: readFileSync(options.clientKey) } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export async function startBerthProcess(args: readonly string[], options: ProcessOptions = {}): Promise<TestRegistry & { child: ChildProcess }> {
  const work = await scratchDir('berth-proc-');
  const dataDir = options.dataDir === false ? '' : (options.dataDir ?? path.join(work, 'data'));
  const port = options.port ?? (await freePort());
  const logFile = testLogPath('berth-registry-process');
  const { openSync } = await import('node:fs');
  const out = openSync(logFile, 'a');
  const storageArgs = options.dataDir === false ? [] : ['--data-dir', dataDir];
  const child = startProcess(process.execPath, [BERTH_BIN, 'registry', 'serve', '--addr', `127.0.0.1:${port}`, ...storageArgs, ...args], {
    stdio: ['ignore', out, out],
    ...(options.env ? { env: options.env } : {}),
  });
  const host = `127.0.0.1:${port}`;
  await waitFor(`berth on ${host}`, async () => {
    if (child.exitCode !== null) throw new Error(`berth exited with ${child.exitCode}: ${await readFile(logFile, 'utf8')}`);
    const status = await probe(host, options);
    return status === 200 || status === 401 ? true : undefined;
  });
  return {
    host,
    url: `${options.https ? 'https' : 'http'}://${host}`,
    dataDir,
    logFile,
    user: TEST_USER,
    password: TEST_PASSWORD,
    child,
    stop: () => stopProcess(child),
    logs: () => readFile(logFile, 'utf8'),
  };
}
