// One running shim: the socket, the server, the runtime connection and the current
// rewrite state. A config reload swaps the rewrite state as a whole (new registries,
// credentials, cache and breakers); the sockets and the metrics address need a restart.
import { chmod, stat } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import type { ShimConfig } from './config.js';
import { loadCri } from './cri.js';
import { ImageService, type ActiveState } from './image-service.js';
import { ShimMetrics, serveMetrics } from './metrics.js';
import { Prober } from './probe.js';
import { Rewriter } from './rewrite.js';
import { RuntimeConnection } from './runtime-connection.js';
import { CriServer } from './server.js';
import { INITIAL_SOCKET_MODE, copySocketOwnership, prepareSocketPath, removeSocket, socketIdentity } from './socket.js';

export class ShimStartError extends Error {}

export interface ShimOptions {
  readonly config: ShimConfig;
  /** The runtime socket, after auto-detection. */
  readonly criSocket: string;
  readonly log: Logger;
  readonly userAgent: string;
  /** How often to look for a runtime socket that is not there yet. */
  readonly runtimeWaitPollMs?: number;
}

const SHUTDOWN_GRACE_MS = 5000;

/** The rewrite state plus the prober it owns (closed when the state is replaced). */
type State = ActiveState & { readonly prober: Prober };

async function isSocket(file: string): Promise<boolean> {
  return stat(file).then(
    (info) => info.isSocket(),
    () => false,
  );
}

function parseHostPort(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export class Shim {
  readonly metrics = new ShimMetrics();
  private active: State;
  private server: CriServer | undefined;
  private runtime: RuntimeConnection | undefined;
  private metricsServer: HttpServer | undefined;
  private socketId: { dev: number; ino: number } | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private runtimeWait: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Resolves once the runtime socket exists and the shim socket carries its owner and mode. */
  readonly runtimeReady: Promise<void>;
  private markRuntimeReady!: () => void;
  metricsPort: number | undefined;

  private constructor(private readonly options: ShimOptions) {
    this.active = this.buildState(options.config);
    this.runtimeReady = new Promise((resolve) => (this.markRuntimeReady = resolve));
  }

  get config(): ShimConfig {
    return this.active.config;
  }

  get socketPath(): string {
    return this.options.config.shimSocket;
  }

  private buildState(config: ShimConfig): State {
    const prober = new Prober(config.registries, { timeoutMs: config.probeTimeoutMs, userAgent: this.options.userAgent });
    return { config, rewriter: new Rewriter(config, prober, this.metrics, this.options.log), prober };
  }

  static async start(options: ShimOptions): Promise<Shim> {
    const { config, criSocket } = options;
    const runtimePresent = await isSocket(criSocket);
    if (!runtimePresent && !config.force) {
      throw new ShimStartError(`runtime socket ${criSocket} does not exist: is the runtime running? (set "force: true" to start anyway and wait for it)`);
    }
    const shim = new Shim(options);
    try {
      await shim.open(runtimePresent);
    } catch (error) {
      await shim.stop();
      throw error;
    }
    return shim;
  }

  private async open(runtimePresent: boolean): Promise<void> {
    const { config, criSocket, log } = this.options;
    const { removedStale } = await prepareSocketPath(config.shimSocket);
    if (removedStale) log.warn({ socket: config.shimSocket }, 'removed a stale socket file left by a previous shim');
    this.runtime = new RuntimeConnection(criSocket);
    const cri = loadCri();
    const pathOf = (name: string): string => {
      const method = cri.imageMethods.find((m) => m.name === name);
      if (!method) throw new Error(`ImageService.${name} is missing from the CRI proto`);
      return method.path;
    };
    const images = new ImageService({
      runtime: this.runtime,
      codecs: cri.codecs,
      paths: { pull: pathOf('PullImage'), status: pathOf('ImageStatus'), remove: pathOf('RemoveImage') },
      state: () => this.active,
      metrics: this.metrics,
      log,
    });
    this.server = new CriServer(cri, this.runtime, images.handlers());
    await this.server.listen(config.shimSocket);
    this.socketId = await socketIdentity(config.shimSocket);
    await chmod(config.shimSocket, INITIAL_SOCKET_MODE);
    if (runtimePresent) await this.adoptRuntimeOwnership();
    else this.waitForRuntime();
    if (config.metricsAddr) {
      const listen = parseHostPort(config.metricsAddr);
      if (!listen) throw new ShimStartError(`metricsAddr ${JSON.stringify(config.metricsAddr)} is not host:port`);
      const served = await serveMetrics(this.metrics, listen.host, listen.port);
      this.metricsServer = served.server;
      this.metricsPort = served.port;
      log.info({ metricsAddr: `${listen.host}:${served.port}` }, 'serving metrics on /metrics');
    }
    this.startStatsTimer(this.active.config);
    log.info(
      { socket: config.shimSocket, cri: criSocket, registries: config.registries.map((r) => r.id), fallback: config.fallback },
      runtimePresent ? 'image shim serving' : 'image shim serving; runtime socket not there yet',
    );
  }

  private async adoptRuntimeOwnership(): Promise<void> {
    const { config, criSocket, log } = this.options;
    try {
      const owner = await copySocketOwnership(criSocket, config.shimSocket);
      log.info({ socket: config.shimSocket, uid: owner.uid, gid: owner.gid, mode: owner.mode.toString(8) }, 'shim socket has the runtime socket owner and mode');
    } catch (error) {
      log.warn({ socket: config.shimSocket, err: (error as Error).message }, 'could not copy the runtime socket owner and mode');
    }
    this.markRuntimeReady();
  }

  /** With `force: true` the shim serves before the runtime is up; calls fail with UNAVAILABLE until it is. */
  private waitForRuntime(): void {
    const { criSocket, log } = this.options;
    const poll = this.options.runtimeWaitPollMs ?? 500;
    const started = Date.now();
    let lastLog = started;
    log.warn({ cri: criSocket }, 'runtime socket does not exist yet; waiting for it (calls fail with UNAVAILABLE until then)');
    const check = async (): Promise<void> => {
      if (this.stopped) return;
      if (await isSocket(criSocket)) {
        log.info({ cri: criSocket, waitedMs: Date.now() - started }, 'runtime socket appeared');
        await this.adoptRuntimeOwnership();
        return;
      }
      if (Date.now() - lastLog >= 30_000) {
        lastLog = Date.now();
        log.warn({ cri: criSocket, waitedMs: Date.now() - started }, 'still waiting for the runtime socket');
      }
      this.runtimeWait = setTimeout(() => void check(), poll);
    };
    this.runtimeWait = setTimeout(() => void check(), poll);
  }

  private startStatsTimer(config: ShimConfig): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    if (config.cache.disableStats) return;
    this.statsTimer = setInterval(() => this.options.log.info({ cache: this.active.rewriter.cacheStats() }, 'cache stats'), config.cache.statsLogIntervalMs);
    this.statsTimer.unref();
  }

  /** Applies a new config to the next decision; the cache and breakers start afresh. */
  applyConfig(config: ShimConfig): string[] {
    const notes: string[] = [];
    const running = this.options.config;
    if (config.shimSocket !== running.shimSocket) notes.push(`shim socket change (${config.shimSocket}) needs a restart`);
    if (config.criSocket !== running.criSocket) notes.push(`cri change (${config.criSocket ?? 'auto-detect'}) needs a restart`);
    if (config.metricsAddr !== running.metricsAddr) notes.push(`metricsAddr change (${config.metricsAddr ?? 'off'}) needs a restart`);
    const previous = this.active;
    this.active = this.buildState(config);
    previous.prober.close();
    this.options.log.level = config.debug ? 'debug' : 'info';
    if (config.cache.statsLogIntervalMs !== previous.config.cache.statsLogIntervalMs || config.cache.disableStats !== previous.config.cache.disableStats) {
      this.startStatsTimer(config);
    }
    return notes;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.runtimeWait) clearTimeout(this.runtimeWait);
    if (this.statsTimer) clearInterval(this.statsTimer);
    await this.server?.close(SHUTDOWN_GRACE_MS);
    this.runtime?.close();
    this.active.prober.close();
    if (this.metricsServer) {
      const server = this.metricsServer;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.socketId) await removeSocket(this.options.config.shimSocket, this.socketId);
  }
}
