// `berth registry serve --workers N`: N worker processes behind one listening socket
// (node:cluster), so one registry uses every core. Each worker is a whole registry over the
// same storage; what they must agree on travels through the primary:
//   - changes a worker's caches must not miss (a new repository, a listing that changed)
//     are relayed to its siblings, so a client sees its own pushes whichever worker
//     answers its next connection;
//   - rejected credentials are counted in the primary, which tells every worker to block
//     an address once it has failed `maxAuthFailures` times in all (shared);
//   - the per-client upload limit is divided: each worker allows its share;
//   - /metrics (on the metrics address) aggregates every worker's metrics;
//   - upload purging runs in the primary only, and GC is its own command (with a lease).
// SIGTERM to the primary drains every worker (each turns /readyz 503, finishes in-flight
// requests, exits) and then exits; a worker that dies is replaced; if the primary dies,
// its workers exit at once (they would otherwise keep the port).
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { HealthCheck } from '../../registry/health.js';
import { AuthFailureLimiter, type AuthFailureTracker, type LimitSettings } from '../../registry/limits.js';
import { MetricsServer } from '../../registry/metrics-server.js';
import type { RegistryMetrics } from '../../registry/metrics.js';
import type { LayoutStorage, StorageChange } from '../../storage/layout-storage.js';

type FromWorker = { readonly berth: 'change'; readonly change: StorageChange } | { readonly berth: 'auth-failure'; readonly address: string };
type FromPrimary = { readonly berth: 'change'; readonly change: StorageChange } | { readonly berth: 'auth-block'; readonly address: string; readonly until: number };

/** A worker gives up restarting siblings that die this often (a crash loop, not a crash). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 30_000;

function isMessage<T extends { berth: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { berth?: unknown }).berth === 'string';
}

export function isWorker(): boolean {
  return cluster.isWorker;
}

/** This worker's share of a per-client limit. */
export function workerShare(limits: LimitSettings, workers: number): LimitSettings {
  return { ...limits, maxUploadsPerClient: Math.max(1, Math.floor(limits.maxUploadsPerClient / workers)) };
}

/** Auth failures counted by the primary; blocks it decides are applied here. */
class SharedAuthFailures implements AuthFailureTracker {
  constructor(private readonly local: AuthFailureLimiter) {}

  blockedFor(address: string, now?: number): number {
    return this.local.blockedFor(address, now);
  }

  /** The primary logs the block it starts; here a failure is only reported. */
  recordFailure(address: string): boolean {
    process.send?.({ berth: 'auth-failure', address } satisfies FromWorker);
    return false;
  }

  block(address: string, until: number): void {
    this.local.block(address, until);
  }
}

export interface WorkerLinks {
  readonly authFailures: AuthFailureTracker;
  /** Relays a change this worker made to its siblings. */
  onChange(change: StorageChange): void;
  /** Starts applying siblings' changes to `storage`, and aggregating `metrics`. */
  attach(storage: LayoutStorage, metrics: RegistryMetrics): void;
}

/** A worker's side of the links with the primary. */
export function workerLinks(limits: LimitSettings): WorkerLinks {
  const authFailures = new SharedAuthFailures(new AuthFailureLimiter(limits));
  // The primary is gone (killed): this worker must not keep serving on its own, not even
  // the connections it already holds. It exits at once (an asynchronous log write might
  // never complete now), as if it had been killed with its primary.
  const orphaned = (): void => {
    process.stderr.write(`${JSON.stringify({ level: 'error', time: new Date().toISOString(), pid: process.pid, msg: 'the primary process is gone: exiting' })}\n`);
    process.exit(1);
  };
  process.once('disconnect', orphaned);
  // Writing to a primary that is gone fails with EPIPE: the same news.
  cluster.worker?.on('error', orphaned);
  process.on('error', orphaned);
  return {
    authFailures,
    onChange(change) {
      process.send?.({ berth: 'change', change } satisfies FromWorker);
    },
    attach(storage, metrics) {
      AggregatorRegistry.setRegistries(metrics.registry);
      // Constructing one installs prom-client's answer to the primary's metrics requests.
      void new AggregatorRegistry();
      process.on('message', (message: unknown) => {
        if (!isMessage<FromPrimary>(message)) return;
        if (message.berth === 'change') storage.applyChange(message.change);
        else authFailures.block(message.address, message.until);
      });
    },
  };
}

export interface PrimaryOptions {
  readonly workers: number;
  /** Environment the workers get on top of the primary's. */
  readonly workerEnv: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly limits: LimitSettings;
  /** The primary's own view of the storage: upload purging and readiness. */
  readonly storage: LayoutStorage;
  readonly metricsListen: { host: string; port: number } | undefined;
  /** Runs the periodic upload purge; returns its stop function. */
  startPurge(): () => void;
  /** Upper bound for the workers' graceful stop before they are killed. */
  readonly stopTimeoutMs: number;
}

export interface RunningPrimary {
  /** The address the workers listen on, once all of them do. */
  readonly address: { host: string; port: number };
  readonly metricsAddress: { host: string; port: number } | undefined;
}

/** The primary: forks and supervises the workers, relays what they share, and stops them. */
export async function runPrimary(options: PrimaryOptions): Promise<RunningPrimary> {
  const { log } = options;
  const authFailures = new AuthFailureLimiter(options.limits);
  const health = new HealthCheck(options.storage);
  let stopping = false;
  const restarts: number[] = [];

  const broadcast = (message: FromPrimary, except?: Worker): void => {
    for (const worker of Object.values(cluster.workers ?? {})) if (worker && worker !== except && worker.isConnected()) worker.send(message);
  };
  const fork = (): Worker => cluster.fork({ ...options.workerEnv });

  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<FromWorker>(message)) return;
    if (message.berth === 'change') {
      broadcast({ berth: 'change', change: message.change }, worker);
    } else {
      const until = authFailures.record(message.address);
      if (until !== undefined) {
        log.warn({ remote: message.address }, 'too many failed logins: answering 429 to this address for a while');
        broadcast({ berth: 'auth-block', address: message.address, until });
      }
    }
  });
  let started = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping || !started) return;
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && now - restarts[0]! > RESTART_WINDOW_MS) restarts.shift();
    log.error({ worker: worker.process.pid, code, signal }, 'a worker died: starting another');
    if (restarts.length > MAX_RESTARTS) {
      log.fatal({ restarts: restarts.length, windowMs: RESTART_WINDOW_MS }, 'workers keep dying: stopping the registry');
      void shutdown(1);
      return;
    }
    fork();
  });

  // Every worker listening means the registry is up; one that exits first (a port in use)
  // means it is not.
  let onListening: ((worker: Worker, address: { address: string | null; port: number }) => void) | undefined;
  let onEarlyExit: ((worker: Worker, code: number) => void) | undefined;
  const listening = new Promise<{ host: string; port: number }>((resolve, reject) => {
    let count = 0;
    onListening = (_worker, address) => {
      count += 1;
      if (count === options.workers) resolve({ host: address.address ?? '0.0.0.0', port: address.port });
    };
    onEarlyExit = (_worker, code) => reject(new Error(`a worker exited with code ${code} before it was listening; see its log lines above`));
    cluster.on('listening', onListening);
    cluster.on('exit', onEarlyExit);
  });
  for (let i = 0; i < options.workers; i++) fork();
  let address: { host: string; port: number };
  try {
    address = await listening;
  } catch (error) {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    throw error;
  } finally {
    cluster.off('listening', onListening!);
    cluster.off('exit', onEarlyExit!);
  }
  started = true;

  let metricsServer: MetricsServer | undefined;
  let metricsAddress: { host: string; port: number } | undefined;
  if (options.metricsListen) {
    const aggregator = new AggregatorRegistry();
    metricsServer = new MetricsServer({ contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() }, health);
    metricsAddress = await metricsServer.listen(options.metricsListen.port, options.metricsListen.host);
    log.info({ addr: `${metricsAddress.host}:${metricsAddress.port}` }, 'metrics and health listening (all workers)');
  }
  const stopPurge = options.startPurge();

  const shutdown = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    health.shuttingDown = true;
    stopPurge();
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    const exited = Promise.all(workers.map((worker) => new Promise((resolve) => (worker.isDead() ? resolve(undefined) : worker.once('exit', resolve)))));
    for (const worker of workers) worker.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      log.warn('workers did not stop in time: killing them');
      for (const worker of workers) worker.process.kill('SIGKILL');
    }, options.stopTimeoutMs);
    await exited;
    clearTimeout(timer);
    await metricsServer?.close();
    log.info('stopped');
    log.flush(() => process.exit(exitCode));
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      log.flush(() => process.exit(1));
      return;
    }
    log.info({ signal, workers: options.workers }, 'shutting down: draining the workers');
    void shutdown(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  return { address, metricsAddress };
}
