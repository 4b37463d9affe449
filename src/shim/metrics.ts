// Prometheus metrics of the shim, in their own prom-client Registry so several shims
// (tests) never share counters. Served on `metricsAddr` when it is set.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { listenOn } from '../util/listen.js';

export class ShimMetrics {
  readonly registry = new Registry();
  readonly rewrites = new Counter({
    name: 'berth_shim_rewrites_total',
    help: 'Rewrite decisions by CRI action and outcome (rewritten, unchanged)',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly cacheHits = new Counter({
    name: 'berth_shim_cache_hits_total',
    help: 'Rewrite cache lookups answered from the cache, by entry kind (present, absent)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly cacheMisses = new Counter({ name: 'berth_shim_cache_misses_total', help: 'Rewrite cache lookups that had to probe', registers: [this.registry] });
  readonly fallbacks = new Counter({
    name: 'berth_shim_fallbacks_total',
    help: 'Pulls from a private registry that failed and were retried with the original reference',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly failovers = new Counter({
    name: 'berth_shim_failovers_total',
    help: 'Pulls from a private registry that failed and went on to the next registry (or replica) of the plan, by the registry that failed',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly pulls = new Counter({
    name: 'berth_shim_pulls_total',
    help: 'PullImage calls that succeeded, by the registry that served them (a configured registry, or "original")',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly pullFailures = new Counter({
    name: 'berth_shim_private_pull_failures_total',
    help: 'Pulls of a rewritten reference that the runtime could not complete',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly probeDuration = new Histogram({
    name: 'berth_shim_probe_duration_seconds',
    help: 'Manifest existence probes by registry and outcome (present, absent, mismatch, error)',
    labelNames: ['registry', 'outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  readonly breakerState = new Gauge({
    name: 'berth_shim_breaker_state',
    help: 'Circuit breaker per registry: 0 closed, 1 open, 2 half-open',
    labelNames: ['registry'] as const,
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'berth_shim_config_reloads_total',
    help: 'Config reloads by result (applied, rejected)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'berth_shim_' });
  }
}

/** Serves GET /metrics on `host:port`; resolves once listening. */
export async function serveMetrics(metrics: ShimMetrics, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`),
    );
  });
  const address = await listenOn(server, port, host);
  return { server, port: address.port };
}
