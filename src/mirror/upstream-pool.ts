// The upstreams of one mirror, asked in order: the first that has the content wins;
// one that is down, hung past its timeout, or skipped by its breaker passes the
// question on to the next. An upstream that sent bytes not matching a digest is not
// asked for that digest again for a while (the next one is), so a client's retry gets
// good content or a clear error instead of the same corruption.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { MirrorMetrics } from './metrics.js';
import type { FailureReason, Upstream, UpstreamAnswer, UpstreamFailure } from './upstream.js';

export type PoolAnswer<T> =
  | { readonly kind: 'found'; readonly value: T; readonly upstream: Upstream }
  | { readonly kind: 'absent' }
  | { readonly kind: 'failed'; readonly reason: FailureReason; readonly message: string };

const INVALID_MEMORY_MS = 10 * 60_000;

export class UpstreamPool {
  private readonly invalid = new LRUCache<string, string>({ max: 10_000, ttl: INVALID_MEMORY_MS });
  /** Each upstream's latest failure, for the UI; cleared when it next answers. */
  private readonly lastFailures = new Map<Upstream, string>();

  constructor(
    readonly source: string,
    readonly upstreams: readonly Upstream[],
    private readonly metrics: MirrorMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * Asks each upstream in turn. `digest`: what is asked for, when it is content-addressed
   * (upstreams that sent corrupt bytes for it are skipped). Absent only when every
   * upstream answered 404; otherwise the failures, in one line. `preferred` is asked
   * first (the upstream that just answered a HEAD for the same content).
   */
  async first<T>(digest: string | undefined, ask: (upstream: Upstream) => Promise<UpstreamAnswer<T>>, preferred?: Upstream): Promise<PoolAnswer<T>> {
    const failures: UpstreamFailure[] = [];
    const order = preferred ? [preferred, ...this.upstreams.filter((u) => u !== preferred)] : this.upstreams;
    for (const upstream of order) {
      const remembered = digest === undefined ? undefined : this.invalid.get(`${upstream.url} ${digest}`);
      if (remembered !== undefined) {
        failures.push({ kind: 'failed', reason: 'invalid', message: remembered });
        continue;
      }
      const answer = await ask(upstream);
      if (answer.kind !== 'failed') this.lastFailures.delete(upstream);
      if (answer.kind === 'found') return { kind: 'found', value: answer.value, upstream };
      if (answer.kind === 'failed') {
        this.recordFailure(upstream, answer, digest);
        failures.push(answer);
      }
    }
    if (failures.length === 0) return { kind: 'absent' };
    // The most telling reason: corrupt content over refusals over silence.
    const reason = (['invalid', 'refused', 'unreachable', 'breaker-open'] as const).find((r) => failures.some((f) => f.reason === r)) ?? 'unreachable';
    return { kind: 'failed', reason, message: failures.map((f) => f.message).join('; ') };
  }

  /** Counts and logs a failure; corrupt content is remembered per upstream and digest. */
  recordFailure(upstream: Upstream, failure: UpstreamFailure, digest?: string): void {
    if (failure.reason === 'breaker-open') return;
    this.lastFailures.set(upstream, `${failure.reason}: ${failure.message}`);
    this.metrics.upstreamErrors.inc({ source: this.source, upstream: upstream.url, reason: failure.reason });
    if (failure.reason === 'invalid' && digest !== undefined) this.invalid.set(`${upstream.url} ${digest}`, `${failure.message}; nothing was stored`);
    this.log.warn({ source: this.source, upstream: upstream.url, reason: failure.reason, err: failure.message, ...(digest ? { digest } : {}) }, 'mirror upstream failed');
  }

  /** The latest failure of `upstream` since it last answered; undefined when none. */
  lastFailure(upstream: Upstream): string | undefined {
    return this.lastFailures.get(upstream);
  }

  close(): void {
    for (const upstream of this.upstreams) upstream.close();
  }
}
