// Prometheus counters of the pull-through mirror, in the registry's own prom-client
// Registry (one /metrics for both). Labels name sources and upstream hosts, never a
// credential or a repository (unbounded).
import { Counter, Gauge, type Registry } from 'prom-client';

export type ContentKind = 'manifest' | 'blob';

export class MirrorMetrics {
  readonly hits: Counter<'source' | 'kind'>;
  readonly misses: Counter<'source' | 'kind'>;
  readonly upstreamErrors: Counter<'source' | 'upstream' | 'reason'>;
  readonly staleServes: Counter<'source' | 'reason'>;
  readonly upstreamBytes: Counter<'source' | 'upstream'>;
  readonly breakerOpen: Gauge<'upstream'>;
  readonly evicted: Counter<'source'>;

  /** Manifests and blobs served from the cache, and fetched, for one source so far. */
  async counts(source: string): Promise<{ hits: number; misses: number }> {
    const sum = async (counter: Counter<'source' | 'kind'>): Promise<number> =>
      (await counter.get()).values.filter((value) => value.labels.source === source).reduce((total, value) => total + value.value, 0);
    return { hits: await sum(this.hits), misses: await sum(this.misses) };
  }

  constructor(registry: Registry) {
    const registers = [registry];
    this.hits = new Counter({ name: 'berth_mirror_hits_total', help: 'Manifests and blobs a mirror served without fetching them (cached, or already being fetched for another client)', labelNames: ['source', 'kind'], registers });
    this.misses = new Counter({ name: 'berth_mirror_misses_total', help: 'Manifests and blobs a mirror had to fetch upstream', labelNames: ['source', 'kind'], registers });
    this.upstreamErrors = new Counter({
      name: 'berth_mirror_upstream_errors_total',
      help: 'Failed upstream requests by reason (unreachable, refused, invalid)',
      labelNames: ['source', 'upstream', 'reason'],
      registers,
    });
    this.staleServes = new Counter({
      name: 'berth_mirror_stale_serves_total',
      help: 'Cached tags served without the upstream confirming them (upstream down, slow, failing, or without the tag)',
      labelNames: ['source', 'reason'],
      registers,
    });
    this.upstreamBytes = new Counter({ name: 'berth_mirror_upstream_bytes_total', help: 'Blob bytes received from upstreams', labelNames: ['source', 'upstream'], registers });
    this.breakerOpen = new Gauge({ name: 'berth_mirror_upstream_breaker_open', help: '1 while an upstream is skipped after repeated failures', labelNames: ['upstream'], registers });
    this.evicted = new Counter({ name: 'berth_mirror_evicted_manifests_total', help: 'Manifests retention evicted (unused for the retention period)', labelNames: ['source'], registers });
  }
}
