// The servers under test, each a real process on 127.0.0.1 with its data on the same
// disk: Berth (`berth registry serve`), Debian's docker-registry 2.8 with an equivalent
// config, and nginx serving plain files (the machine's raw limit for blob GETs).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { run, startDaemon, waitFor, type Daemon } from './proc.js';
import { BERTH_BIN, tool } from './tools.js';

export type ServerName = 'berth' | 'distribution' | 'nginx';

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

export interface RunningServer {
  readonly name: ServerName;
  /** host:port */
  readonly host: string;
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly daemon: Daemon;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function basicAuth(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
}

/** An htpasswd file made by Apache's own tool at the given bcrypt cost, shared by both registries. */
export async function makeHtpasswd(file: string, credentials: Credentials, cost: number): Promise<void> {
  await run(tool('htpasswd'), ['-B', '-C', String(cost), '-b', '-c', file, credentials.user, credentials.password]);
}

async function waitForRegistry(daemon: Daemon, host: string, credentials: Credentials): Promise<void> {
  await waitFor(
    `registry on ${host}`,
    async () => {
      if (daemon.exited()) throw new Error(`exited early; see ${daemon.logFile}`);
      const response = await fetch(`http://${host}/v2/`, { headers: { authorization: basicAuth(credentials) } });
      await response.arrayBuffer();
      return response.status === 200 ? true : undefined;
    },
    60_000,
  );
}

export interface RegistryOptions {
  readonly work: string;
  readonly dataDir: string;
  readonly htpasswd: string;
  readonly credentials: Credentials;
  /** Extra arguments for `node` before the script (profiling: --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /** Berth: worker processes (`--workers`); default 2, the issue's setting on this 2-core machine. */
  readonly workers?: number;
  /** Berth: a config file naming the storage (an S3 bucket) instead of `dataDir`. */
  readonly configFile?: string;
  /** distribution: the storage section of its config.yml instead of the filesystem at `dataDir`. */
  readonly storageYaml?: string;
}

/** `berth registry serve` with the same settings as distribution: auth on, log level info. */
export async function startBerth(options: RegistryOptions): Promise<RunningServer> {
  await mkdir(options.dataDir, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const storage = options.configFile !== undefined ? ['--config', options.configFile] : ['--data-dir', options.dataDir];
  const args = [
    ...(options.nodeArgs ?? []),
    BERTH_BIN,
    'registry',
    'serve',
    '--addr',
    host,
    ...storage,
    '--htpasswd',
    options.htpasswd,
    '--log-level',
    'info',
    '--workers',
    String(options.workers ?? 2),
  ];
  const daemon = startDaemon(process.execPath, args, path.join(options.work, `berth-${port}.log`), { cwd: options.work });
  await waitForRegistry(daemon, host, options.credentials);
  return { name: 'berth', host, url: `http://${host}`, pid: daemon.pid, dataDir: options.dataDir, daemon, stop: () => daemon.stop() };
}

/** Debian's docker-registry 2.8 with its defaults (log level info, access log on) plus auth and delete. */
export async function startDistribution(options: RegistryOptions): Promise<RunningServer> {
  await mkdir(options.dataDir, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = path.join(options.work, `distribution-${port}.yml`);
  await writeFile(
    config,
    `version: 0.1
log:
  level: info
${options.storageYaml ?? `storage:\n  filesystem:\n    rootdirectory: ${options.dataDir}\n`}  delete:
    enabled: true
http:
  addr: ${host}
  secret: bench-${port}
auth:
  htpasswd:
    realm: basic-realm
    path: ${options.htpasswd}
`,
  );
  // Debian's docker-registry panics in its S3 driver when AWS_CA_BUNDLE is set.
  const env = { ...process.env };
  delete env['AWS_CA_BUNDLE'];
  const daemon = startDaemon(tool('docker-registry'), ['serve', config], path.join(options.work, `distribution-${port}.log`), { env });
  await waitForRegistry(daemon, host, options.credentials);
  return { name: 'distribution', host, url: `http://${host}`, pid: daemon.pid, dataDir: options.dataDir, daemon, stop: () => daemon.stop() };
}

/**
 * nginx (Debian) serving `root` as static files, with Debian's default tuning
 * (`worker_processes auto`, sendfile, tcp_nopush) and everything under `work`.
 */
export async function startNginx(work: string, root: string): Promise<RunningServer> {
  const dir = path.join(work, 'nginx');
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = path.join(dir, 'nginx.conf');
  // Workers run as root here so that no directory of the scratch tree needs opening up.
  await writeFile(
    config,
    `user root;
worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  server {
    listen ${host};
    root ${root};
  }
}
`,
  );
  await chmod(dir, 0o755);
  const daemon = startDaemon(tool('nginx'), ['-c', config, '-p', dir, '-e', `${dir}/error.log`], path.join(dir, 'stdout.log'));
  await waitFor(
    `nginx on ${host}`,
    async () => {
      if (daemon.exited()) throw new Error(`nginx exited early; see ${dir}/error.log`);
      const response = await fetch(`http://${host}/`);
      await response.arrayBuffer();
      return true;
    },
    30_000,
  );
  return { name: 'nginx', host, url: `http://${host}`, pid: daemon.pid, dataDir: root, daemon, stop: () => daemon.stop() };
}
