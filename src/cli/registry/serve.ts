// `berth registry serve`: the composition root of the registry server. It alone reads
// flags, the config file and the environment, then wires storage, auth and HTTP.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, homedir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { AuthFailureLimiter, type AuthFailureTracker } from '../../registry/limits.js';
import { LOG_LEVELS, REGISTRY_DEFAULTS, TOKEN_DEFAULTS, parseListenAddress, type LogLevel, type RegistryConfig } from '../../registry/config.js';
import { MetricsServer } from '../../registry/metrics-server.js';
import { RegistryMetrics } from '../../registry/metrics.js';
import { RegistryServer, type RegistryExtension, type TlsMaterial } from '../../registry/server.js';
import { removeAbandonedSpools } from '../../mirror/blob-fetch.js';
import { MirrorMetrics } from '../../mirror/metrics.js';
import { MirrorStorage } from '../../mirror/mirror-storage.js';
import { applyRetention } from '../../mirror/retention.js';
import { StorageUnavailableError } from '../../storage/driver/driver.js';
import { StorageConfigError } from '../../storage/driver/s3.js';
import { BERTH_STATE_DIR } from '../../storage/layout.js';
import type { LayoutStorage, StorageChange } from '../../storage/layout-storage.js';
import { openStorage, type StorageLocation } from '../../storage/open.js';
import { sharedSecret } from '../../storage/shared-secret.js';
import { CliError } from '../cli-error.js';
import { htpasswdFile, setUpAccess, type AccessSetup } from './access-setup.js';
import { createLogger } from '../logger.js';
import { stopYoungGenerationGrowth } from './heap.js';
import { isWorker, runPrimary, workerLinks, workerShare, type WorkerLinks } from './cluster.js';
import { setUpMirrors } from './mirror-setup.js';
import { uiExtension } from './ui-setup.js';
import { readConfigFile, storageLocation, withEnvironmentCredentials } from './storage-config.js';

export { DEFAULT_PASSWORD, DEFAULT_USER } from './access-setup.js';

interface ServeFlags {
  addr?: string;
  dataDir?: string;
  htpasswd?: string;
  config?: string;
  logLevel?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  metricsAddr?: string;
  workers?: string;
  tokenServer?: boolean;
}

export function defaultDataDir(): string {
  if (process.getuid?.() === 0) return '/var/lib/registry';
  const base = process.env['XDG_DATA_HOME'] ?? path.join(homedir(), '.local', 'share');
  return path.join(base, 'berth', 'registry');
}

async function loadConfig(flags: ServeFlags): Promise<{ config: RegistryConfig; warnings: readonly string[] }> {
  let fromFile: Partial<RegistryConfig> = {};
  let warnings: readonly string[] = [];
  if (flags.config) ({ values: fromFile, warnings } = await readConfigFile(flags.config));
  if (flags.dataDir !== undefined && fromFile.s3) {
    throw new CliError(`--data-dir names a directory, but ${flags.config} keeps the data in S3 (storage.s3)`, 'drop one of them');
  }
  if (flags.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(flags.logLevel)) {
    throw new CliError(`unknown log level ${JSON.stringify(flags.logLevel)}`, `use one of ${LOG_LEVELS.join(', ')}`);
  }
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new CliError('--tls-cert and --tls-key go together');
  const tls = flags.tlsCert && flags.tlsKey ? { cert: flags.tlsCert, key: flags.tlsKey, clientCa: flags.tlsClientCa ?? fromFile.tls?.clientCa, minVersion: fromFile.tls?.minVersion } : fromFile.tls;
  if (flags.tlsClientCa && !tls) throw new CliError('--tls-client-ca needs --tls-cert and --tls-key');
  const config: RegistryConfig = {
    ...REGISTRY_DEFAULTS,
    dataDir: defaultDataDir(),
    ...fromFile,
    s3: fromFile.s3 ? withEnvironmentCredentials(fromFile.s3) : undefined,
    tls,
    ...(flags.metricsAddr !== undefined ? { metricsAddr: flags.metricsAddr } : {}),
    ...(flags.addr !== undefined ? { addr: flags.addr } : {}),
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    ...(flags.htpasswd !== undefined ? { htpasswd: flags.htpasswd } : {}),
    ...(flags.logLevel !== undefined ? { logLevel: flags.logLevel as LogLevel } : {}),
    ...(flags.workers !== undefined ? { workers: parseWorkers(flags.workers) } : {}),
  };
  if (flags.tokenServer) {
    if (config.token?.mode === 'trust') throw new CliError(`--token-server makes Berth issue its own tokens, but ${flags.config} trusts an external issuer`, 'drop one of them');
    return { config: { ...config, token: config.token ?? { mode: 'issue', realm: undefined, ...TOKEN_DEFAULTS } }, warnings };
  }
  return { config, warnings };
}

function parseWorkers(text: string): number {
  const workers = Number(text);
  if (!/^\d{1,3}$/.test(text) || workers < 1 || workers > 256) throw new CliError(`invalid --workers ${JSON.stringify(text)}`, 'give a number of processes from 1 to 256');
  return workers;
}

export interface RunningRegistry {
  readonly server: RegistryServer;
  readonly storage: LayoutStorage;
  readonly address: { host: string; port: number };
  readonly metricsAddress: { host: string; port: number } | undefined;
  /** Re-reads the TLS certificate and key (SIGHUP). */
  reloadTls(): Promise<void>;
  stop(): Promise<void>;
}

async function readTlsMaterial(tls: NonNullable<RegistryConfig['tls']>): Promise<TlsMaterial> {
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new CliError(`cannot read TLS ${what} ${file}: ${(error as Error).message}`);
    }
  };
  return {
    cert: await read(tls.cert, 'certificate'),
    key: await read(tls.key, 'key'),
    ...(tls.clientCa ? { clientCa: await read(tls.clientCa, 'client CA') } : {}),
    ...(tls.minVersion ? { minVersion: tls.minVersion } : {}),
  };
}

export interface StartOptions {
  readonly config: RegistryConfig;
  readonly log: Logger;
  /** false: no authentication at all (`serve filesystem`). */
  readonly auth: boolean;
  /** Set in a worker process: what it shares with the primary (cluster.ts). */
  readonly worker?: WorkerLinks;
}

interface OpenedStorage {
  readonly storage: LayoutStorage;
  readonly location: StorageLocation;
  /** The data directory (for S3: the local default one), which holds the default htpasswd. */
  readonly localDir: string;
}

/** The storage the config names, checked: a one-line error when it cannot serve. */
async function openRegistryStorage(config: RegistryConfig, onChange?: (change: StorageChange) => void): Promise<OpenedStorage> {
  const location = await storageLocation(config, { create: true });
  const storage = openStorage(location, {
    allowSparseManifests: config.allowSparseManifests,
    listingMaxAgeMs: config.listingMaxAgeMs,
    ...(onChange ? { onChange } : {}),
  });
  try {
    await storage.checkHealth();
  } catch (error) {
    if (error instanceof StorageConfigError || error instanceof StorageUnavailableError) throw new CliError(`storage ${storage.location}: ${error.message}`);
    throw error;
  }
  return { storage, location, localDir: location.kind === 'filesystem' ? location.root : config.dataDir };
}

/** Upload purging every `uploadPurgeInterval`, when enabled; returns its stop function. */
function startPurge(config: RegistryConfig, storage: LayoutStorage, log: Logger): () => void {
  if (!config.uploadPurgeEnabled) return () => undefined;
  const purge = async (): Promise<void> => {
    try {
      const report = await storage.purgeUploads(config.uploadPurgeAgeMs);
      if (report.removed > 0) log.info(report, 'purged stale upload sessions');
    } catch (error) {
      log.error({ err: error }, 'upload purge failed');
    }
  };
  void purge();
  const timer = setInterval(() => void purge(), config.uploadPurgeIntervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function listenAddresses(config: RegistryConfig): { listen: { host: string; port: number }; metrics: { host: string; port: number } | undefined } {
  const listen = parseListenAddress(config.addr);
  if (!listen) throw new CliError(`invalid listen address ${JSON.stringify(config.addr)}`, 'use host:port, [v6]:port or :port');
  const metrics = config.metricsAddr !== undefined ? parseListenAddress(config.metricsAddr) : undefined;
  if (config.metricsAddr !== undefined && !metrics) throw new CliError(`invalid metrics address ${JSON.stringify(config.metricsAddr)}`);
  return { listen, metrics };
}

export async function startRegistry({ config, log, auth, worker }: StartOptions): Promise<RunningRegistry> {
  const { listen, metrics: metricsListen } = listenAddresses(config);
  const { storage, location, localDir } = await openRegistryStorage(config, worker ? (change) => worker.onChange(change) : undefined);
  const uploadSecret = config.httpSecret !== undefined ? Buffer.from(config.httpSecret) : await sharedSecret(storage.driver);
  const metrics = new RegistryMetrics(() => storage.gcStatus());
  let access: AccessSetup | undefined;
  if (auth) access = await setUpAccess({ config, driver: storage.driver, htpasswd: await htpasswdFile(config, localDir, log), metrics, log });
  else log.warn('authentication is off: anyone who can reach this port can push and delete');
  const mirrorMetrics = config.mirrors.length > 0 ? new MirrorMetrics(metrics.registry) : undefined;
  const mirror = mirrorMetrics ? await startMirror(config, storage, location, localDir, mirrorMetrics, log) : undefined;
  // One tracker of rejected passwords for the API and the UI's sign-in (shared by workers).
  const authFailures: AuthFailureTracker = worker?.authFailures ?? new AuthFailureLimiter(config.limits);
  const extensions: RegistryExtension[] = [...(access?.extensions ?? [])];
  if (config.ui.enabled) {
    const ui = await uiExtension({ config, storage, access, mirror, sessionSecret: uploadSecret, authFailures, log });
    if (ui) extensions.push(ui);
  }
  const server = new RegistryServer({
    storage: mirror ?? storage,
    metrics,
    ...(mirror ? { namespaces: (ns: string, repository: string) => mirror.namespace(ns, repository) } : {}),
    extensions,
    uploadSecret,
    logger: log,
    ...(access ? { gatekeeper: access.gatekeeper } : {}),
    settings: { deleteEnabled: config.deleteEnabled, readOnly: config.readOnly, headers: config.headers },
    limits: config.limits,
    timeouts: config.timeouts,
    drainDelayMs: config.drainDelayMs,
    authFailures,
    ...(config.tls ? { tls: await readTlsMaterial(config.tls) } : {}),
  });
  worker?.attach(storage, server.metrics);
  const address = await server.listen(listen.port, listen.host);
  if (extensions.some((extension) => extension.name === 'ui')) {
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    log.info({ url: `${config.tls ? 'https' : 'http'}://${host}:${address.port}/ui/` }, 'web UI served');
  }
  let metricsServer: MetricsServer | undefined;
  let metricsAddress: { host: string; port: number } | undefined;
  // Workers leave /metrics to the primary, which aggregates them all.
  if (metricsListen && !worker) {
    metricsServer = new MetricsServer(server.metrics.registry, server.health);
    metricsAddress = await metricsServer.listen(metricsListen.port, metricsListen.host);
    log.info({ addr: `${metricsAddress.host}:${metricsAddress.port}` }, 'metrics and health listening');
  }
  // In a worker, the primary purges for all of them.
  const stopPurge = worker ? () => undefined : startPurge(config, storage, log);
  const stopRetention = mirrorMetrics ? scheduleRetention(config, storage, mirrorMetrics, log) : () => undefined;
  return {
    server,
    storage,
    address,
    metricsAddress,
    async reloadTls() {
      if (!config.tls) return;
      server.reloadTls(await readTlsMaterial(config.tls));
      log.info({ cert: config.tls.cert }, 'TLS certificate reloaded');
    },
    async stop() {
      stopPurge();
      stopRetention();
      await Promise.all([server.close(config.shutdownGraceMs), metricsServer?.close()]);
      mirror?.close();
    },
  };
}

async function startMirror(config: RegistryConfig, local: LayoutStorage, location: StorageLocation, localDir: string, metrics: MirrorMetrics, log: Logger): Promise<MirrorStorage> {
  // Blobs being fetched are spooled on local disk, inside the (local) data directory. On
  // the filesystem that is inside the driver's root, which then moves a verified spool
  // file into its blob store instead of copying it.
  const spoolPath = `${BERTH_STATE_DIR}/mirror-spool`;
  const spoolDir = path.join(localDir, ...spoolPath.split('/'));
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const abandoned = await removeAbandonedSpools(spoolDir);
  if (abandoned > 0) log.info({ removed: abandoned, spoolDir }, 'removed spool files of fetches a stopped process left behind');
  const mirrors = await setUpMirrors(config.mirrors, metrics, log);
  for (const { settings } of mirrors) {
    log.info(
      { source: settings.source, prefix: settings.prefix === '' ? '(every repository)' : settings.prefix, upstreams: settings.upstreams.map((u) => u.url), offline: settings.offline },
      'pull-through mirror',
    );
  }
  return new MirrorStorage({ local, mirrors, spool: { dir: spoolDir, ...(location.kind === 'filesystem' ? { driverDir: spoolPath } : {}) }, metrics, log });
}

/**
 * Evicts mirrored content unused for its retention, every half retention period (at most
 * hourly); returns its stop function.
 */
function scheduleRetention(config: RegistryConfig, local: LayoutStorage, metrics: MirrorMetrics, log: Logger): () => void {
  const periods = config.mirrors.map((mirror) => mirror.retentionMs).filter((ms): ms is number => ms !== undefined);
  if (periods.length === 0) return () => undefined;
  let running = false;
  let sweepAgain = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    applyRetention(local, config.mirrors, { sweep: sweepAgain })
      .then((report) => {
        // Unreferenced blobs younger than the grace period go in a later pass.
        sweepAgain = (report.gc?.keptRecent ?? 0) > 0;
        for (const item of report.evicted) metrics.evicted.inc({ source: item.source });
        if (report.evicted.length > 0) log.info({ evicted: report.evicted.length, blobsDeleted: report.gc?.deleted.length ?? 0, bytesFreed: report.gc?.bytesFreed ?? 0 }, 'mirror retention evicted unused content');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'mirror retention failed; it runs again later'))
      .finally(() => {
        running = false;
      });
  }, Math.max(1000, Math.min(3_600_000, Math.min(...periods) / 2)));
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The primary of `--workers N`: checks the storage and the htpasswd once (so a bad config
 * is one line from here), then forks the workers and supervises them.
 */
async function startPrimary(config: RegistryConfig, log: Logger, workers: number): Promise<void> {
  const { metrics } = listenAddresses(config);
  const { storage, localDir } = await openRegistryStorage(config);
  const htpasswd = await htpasswdFile(config, localDir, log);
  if (config.httpSecret === undefined) await sharedSecret(storage.driver);
  const running = await runPrimary({
    workers,
    // The workers use the file decided here (the default one, if none is configured).
    workerEnv: htpasswd !== undefined ? { BERTH_WORKER_HTPASSWD: htpasswd } : {},
    log,
    limits: config.limits,
    storage,
    metricsListen: metrics,
    startPurge: () => startPurge(config, storage, log),
    stopTimeoutMs: config.drainDelayMs + config.shutdownGraceMs + 5000,
  });
  if (!config.tls && !isLoopback(running.address.host)) log.warn({ addr: config.addr }, 'serving plain HTTP on a non-loopback address: credentials and images cross the network unencrypted');
  log.info({ addr: `${running.address.host}:${running.address.port}`, storage: storage.location, workers }, 'registry listening');
}

/** A worker of `--workers N`: one whole registry, stopped by the primary's SIGTERM. */
async function startWorker(config: RegistryConfig, log: Logger, workers: number): Promise<void> {
  // A SIGHUP forwarded while this worker starts must not end it (it reads the certificate
  // as it starts anyway); stopOnSignals installs the reload once the server is up.
  const ignoreHangup = (): void => undefined;
  process.on('SIGHUP', ignoreHangup);
  const links = workerLinks(config.limits);
  const htpasswd = process.env['BERTH_WORKER_HTPASSWD'] ?? config.htpasswd;
  const running = await startRegistry({ config: { ...config, htpasswd, limits: workerShare(config.limits, workers) }, log, auth: true, worker: links });
  process.off('SIGHUP', ignoreHangup);
  stopOnSignals(running, log, { worker: true });
}

/**
 * Stops gracefully on SIGTERM/SIGINT; a second signal exits at once. A worker stops on
 * SIGTERM only: Ctrl-C reaches the whole process group, and the primary then stops its
 * workers itself.
 */
export function stopOnSignals(running: RunningRegistry, log: Logger, options: { worker?: boolean } = {}): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      log.flush();
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    void running.stop().then(
      () => {
        log.info('stopped');
        log.flush(() => process.exit(0));
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        log.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', options.worker ? () => undefined : onSignal);
  process.on('SIGHUP', () => {
    running.reloadTls().catch((error: unknown) => log.error({ err: error }, 'TLS reload failed; keeping the old certificate'));
  });
}

/**
 * `--workers`, else one per CPU. A pull-through mirror runs in one process: its fetches
 * are single-flight within a process, and N workers would fetch a blob N times.
 */
function workerCount(config: RegistryConfig): number {
  if (config.mirrors.length === 0) return config.workers ?? availableParallelism();
  if (config.workers !== undefined && config.workers > 1) {
    throw new CliError(`--workers ${config.workers} with a pull-through mirror is not implemented: its fetches are single-flight within one process`, 'leave --workers out (or 1) when mirrors or proxy are configured');
  }
  return 1;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export function registerServe(registry: Command): void {
  const serve = registry
    .command('serve')
    .description('serve an OCI / Docker v2 registry over a distribution-layout data directory')
    .option('--addr <host:port>', `listen address (default ${REGISTRY_DEFAULTS.addr})`)
    .option('--data-dir <dir>', 'directory that holds docker/registry/v2 (default /var/lib/registry as root)')
    .option('--htpasswd <file>', 'bcrypt htpasswd file (default: <data-dir>/htpasswd, created for admin/passw0rd)')
    .option('--config <file>', 'YAML config: Berth keys or a registry:2 config.yml; flags win')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`)
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (reloaded on SIGHUP)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--tls-client-ca <file>', 'require client certificates signed by this CA (mTLS)')
    .option('--metrics-addr <host:port>', 'serve /metrics, /livez and /readyz on this separate address')
    .option('--token-server', 'issue Bearer tokens at /token (docker\'s token protocol), signed with a key kept in the storage')
    .option('--workers <n>', `worker processes behind the port (default: one per CPU, ${availableParallelism()} here)`)
    .addHelpText(
      'after',
      `
Examples:
  berth registry serve --data-dir /var/lib/registry --addr 0.0.0.0:5000
  berth registry serve --config /etc/registry/registry_config.yml
  berth registry serve --data-dir /var/lib/registry --token-server
  berth registry serve filesystem /var/lib/registry --port 5050`,
    )
    .action(async (flags: ServeFlags) => {
      stopYoungGenerationGrowth();
      const { config, warnings } = await loadConfig(flags);
      const log = createLogger(config.logLevel, 'berth-registry');
      const workers = workerCount(config);
      if (isWorker()) return startWorker(config, log, workers);
      for (const warning of warnings) log.warn(warning);
      if (workers > 1) return startPrimary(config, log, workers);
      const running = await startRegistry({ config, log, auth: true });
      if (!config.tls && !isLoopback(running.address.host)) log.warn({ addr: config.addr }, 'serving plain HTTP on a non-loopback address: credentials and images cross the network unencrypted');
      log.info({ addr: `${running.address.host}:${running.address.port}`, storage: running.storage.location }, 'registry listening');
      stopOnSignals(running, log);
    });

  serve
    .command('filesystem')
    .alias('fs')
    .description('serve DIR without authentication on all interfaces (the form provisioning scripts call)')
    .argument('<dir>', 'data directory (distribution layout)')
    .option('-p, --port <port>', 'port; 0 picks a free one', '5000')
    .option('--host <host>', 'interface to bind', '0.0.0.0')
    .option('--disable-logging', 'log nothing but errors')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
    .option('--pid-file <file>', 'write the process ID here')
    .action(async (dir: string, flags: { port: string; host: string; disableLogging?: boolean; logLevel: string; pidFile?: string }) => {
      stopYoungGenerationGrowth();
      if (!/^\d{1,5}$/.test(flags.port) || Number(flags.port) > 65535) throw new CliError(`invalid port ${JSON.stringify(flags.port)}`);
      if (!(LOG_LEVELS as readonly string[]).includes(flags.logLevel)) throw new CliError(`unknown log level ${JSON.stringify(flags.logLevel)}`);
      const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
      const config: RegistryConfig = {
        ...REGISTRY_DEFAULTS,
        workers: 1,
        dataDir: dir,
        addr: `${host}:${flags.port}`,
        logLevel: flags.disableLogging ? 'error' : (flags.logLevel as LogLevel),
      };
      const log = createLogger(config.logLevel, 'berth-registry');
      const running = await startRegistry({ config, log, auth: false });
      if (flags.pidFile) await writeFile(flags.pidFile, `${process.pid}\n`);
      log.info({ port: running.address.port, dataDir: dir }, `serving on :${running.address.port}`);
      stopOnSignals(running, log);
    });
}
