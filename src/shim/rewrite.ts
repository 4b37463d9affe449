// The rewrite decision for a pull: normalise the reference, list the candidates in
// priority order, answer from the cache or probe each candidate's registry (skipping
// registries whose breaker is open), and remember what was learnt.
//
// Caching rules: a match is cached for `imageCacheTTL`, or only for the short
// negative TTL when a higher-priority registry failed to answer (so the better
// registry is asked again soon); "absent" is cached only when every candidate gave a
// definite 404. Concurrent decisions for the same reference share one probe round.
import type { Logger } from 'pino';
import { SingleFlight } from '../util/single-flight.js';
import { BREAKER_STATE_VALUE, CircuitBreaker } from '../util/breaker.js';
import { RewriteCache, type CacheEntry } from './cache.js';
import { candidatesFor, directTarget, normalise, type Candidate } from './candidates.js';
import type { RegistryTarget, ShimConfig } from './config.js';
import type { ShimMetrics } from './metrics.js';
import type { CandidateProber, ProbeOutcome } from './probe.js';

export type CacheUse = 'hit' | 'miss' | 'off' | 'none';

export type RewriteReason =
  | 'image-id'
  | 'unparseable'
  | 'direct'
  | 'no-candidates'
  | 'cached-present'
  | 'cached-absent'
  | 'present'
  | 'absent'
  | 'unavailable';

export interface ProbeNote {
  readonly registry: string;
  readonly outcome: ProbeOutcome['kind'] | 'breaker-open';
  readonly ms?: number;
  readonly detail?: string;
}

export interface Resolution {
  readonly original: string;
  /** The normalised reference (the cache key), when the input was a reference. */
  readonly normalised: string | undefined;
  /** The reference to hand to the runtime: the original unless rewritten. */
  readonly result: string;
  readonly rewritten: boolean;
  /** The registry the result points at: the match of a rewrite, or the one the original names. */
  readonly target: RegistryTarget | undefined;
  readonly cache: CacheUse;
  readonly reason: RewriteReason;
  readonly digest?: string;
  readonly probes: readonly ProbeNote[];
}

export interface LocalCandidates {
  readonly normalised: string | undefined;
  /** The original names a configured registry itself. */
  readonly direct: RegistryTarget | undefined;
  readonly candidates: readonly Candidate[];
}

/** Runtime pull errors that mean "the registry did not answer", not "it said no". */
const UNREACHABLE_PULL_ERROR = /connection refused|no route to host|i\/o timeout|network is unreachable|connection reset|dial tcp|server misbehaving|\b50[234]\b|service unavailable|bad gateway/i;

export class Rewriter {
  private readonly cache: RewriteCache;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly flights = new SingleFlight<Resolution>();

  constructor(
    private readonly config: ShimConfig,
    private readonly prober: CandidateProber,
    private readonly metrics: ShimMetrics,
    private readonly log: Logger,
  ) {
    this.cache = new RewriteCache(config.cache);
    for (const target of config.registries) this.breakerFor(target);
  }

  private breakerFor(target: RegistryTarget): CircuitBreaker {
    // One breaker per registry host: targets that differ only in path prefix share a server.
    let breaker = this.breakers.get(target.host);
    if (!breaker) {
      const host = target.host;
      const created: CircuitBreaker = new CircuitBreaker(this.config.breaker, (state) => {
        this.metrics.breakerState.set({ registry: host }, BREAKER_STATE_VALUE[state]);
        if (state === 'open') this.log.warn({ registry: host, breaker: state, retryAt: new Date(created.retryAt() ?? Date.now()).toISOString() }, 'registry breaker opened: skipping it until the reset time');
        if (state === 'closed') this.log.warn({ registry: host, breaker: state }, 'registry breaker closed: registry answers again');
      });
      breaker = created;
      this.metrics.breakerState.set({ registry: host }, 0);
      this.breakers.set(host, breaker);
    }
    return breaker;
  }

  cacheStats(): ReturnType<RewriteCache['stats']> {
    return this.cache.stats();
  }

  /** Drops the cached decision, e.g. after the pull from the chosen registry failed. */
  forget(normalised: string): void {
    this.cache.delete(normalised);
  }

  /** Candidate names for a lookup on the node (ImageStatus, RemoveImage): no network. */
  localCandidates(image: string): LocalCandidates {
    const normalised = normalise(image);
    if (!normalised.ok) return { normalised: undefined, direct: undefined, candidates: [] };
    const direct = directTarget(normalised.reference, this.config.registries);
    if (direct) return { normalised: normalised.text, direct, candidates: [] };
    return { normalised: normalised.text, direct: undefined, candidates: candidatesFor(normalised.reference, this.config.registries).candidates };
  }

  /** The candidate a pull through the shim chose for `image`, while that decision is
   *  cached: the name the node most likely holds the image under. No network. */
  cachedRewrite(image: string): Candidate | undefined {
    const local = this.localCandidates(image);
    if (local.normalised === undefined) return undefined;
    const entry = this.cache.presentEntry(local.normalised);
    if (!entry) return undefined;
    return local.candidates.find((c) => c.target.id === entry.targetId && c.reference === entry.reference);
  }

  /** Where to pull `image` from. Never throws for registry trouble: the original is the answer then. */
  async resolve(image: string): Promise<Resolution> {
    const normalised = normalise(image);
    const unchanged = (reason: RewriteReason, extra: Partial<Resolution> = {}): Resolution => ({
      original: image,
      normalised: normalised.ok ? normalised.text : undefined,
      result: image,
      rewritten: false,
      target: undefined,
      cache: 'none',
      reason,
      probes: [],
      ...extra,
    });
    if (!normalised.ok) return unchanged(normalised.reason);
    const direct = directTarget(normalised.reference, this.config.registries);
    if (direct) return unchanged('direct', { target: direct });
    const { candidates } = candidatesFor(normalised.reference, this.config.registries);
    if (candidates.length === 0) return unchanged('no-candidates');

    const key = normalised.text;
    const cached = this.lookup(key);
    if (cached?.kind === 'absent') return unchanged('cached-absent', { cache: 'hit' });
    let known: Parameters<Rewriter['probeAll']>[2];
    if (cached?.kind === 'present') {
      const candidate = candidates.find((c) => c.target.id === cached.targetId && c.reference === cached.reference);
      if (candidate) {
        // The search is cached, but the winner is asked again (one bounded HEAD): a
        // registry that died or hangs since costs the probe timeout, not a stuck pull.
        const checked = await this.probeOne(candidate);
        if (checked.outcome?.kind === 'present') {
          return { ...unchanged('cached-present'), result: candidate.reference, rewritten: true, target: candidate.target, cache: 'hit', digest: checked.outcome.digest, probes: [checked.note] };
        }
        this.cache.delete(key);
        known = { candidate, ...checked };
      }
    }
    const decided = await this.flights.run(key, () => this.probeAll(key, candidates, known));
    // Unchanged means byte-for-byte the caller's string, not its normalised form.
    return { ...decided, original: image, result: decided.rewritten ? decided.result : image, cache: this.cache.enabled ? 'miss' : 'off' };
  }

  private lookup(key: string): CacheEntry | undefined {
    if (!this.cache.enabled) return undefined;
    const entry = this.cache.get(key);
    if (entry) this.metrics.cacheHits.inc({ kind: entry.kind });
    else this.metrics.cacheMisses.inc();
    return entry;
  }

  /** One probe with its breaker accounting and metrics; undefined when the breaker is open. */
  private async probeOne(candidate: Candidate): Promise<{ outcome: ProbeOutcome | undefined; note: ProbeNote }> {
    const registry = candidate.target.host;
    const breaker = this.breakerFor(candidate.target);
    if (!breaker.tryAcquire()) return { outcome: undefined, note: { registry, outcome: 'breaker-open' } };
    let outcome: ProbeOutcome;
    let durationMs = 0;
    try {
      const result = await this.prober.probe(candidate);
      outcome = result.outcome;
      durationMs = result.durationMs;
    } catch (error) {
      outcome = { kind: 'error', message: (error as Error).message, unreachable: false };
    }
    if (outcome.kind === 'error' && outcome.unreachable) breaker.failure();
    else breaker.success();
    this.metrics.probeDuration.observe({ registry, outcome: outcome.kind }, durationMs / 1000);
    const detail = outcome.kind === 'error' ? { detail: outcome.message } : outcome.kind === 'mismatch' ? { detail: `registry has ${outcome.digest}` } : {};
    return { outcome, note: { registry, outcome: outcome.kind, ms: Math.round(durationMs), ...detail } };
  }

  /**
   * Probes the candidates in order until one has the image. `known` holds answers
   * already obtained in this decision (the re-check of a cached match), so no
   * registry is asked twice.
   */
  private async probeAll(key: string, candidates: readonly Candidate[], known?: { candidate: Candidate; outcome: ProbeOutcome | undefined; note: ProbeNote }): Promise<Resolution> {
    const probes: ProbeNote[] = [];
    // Whether every candidate so far gave a definite answer (404).
    let definite = true;
    for (const candidate of candidates) {
      const { outcome, note } = known?.candidate === candidate ? known : await this.probeOne(candidate);
      probes.push(note);
      if (outcome?.kind === 'present') {
        this.cache.setPresent(key, { targetId: candidate.target.id, reference: candidate.reference, digest: outcome.digest }, definite ? undefined : this.config.cache.negativeTtlMs);
        return { original: key, normalised: key, result: candidate.reference, rewritten: true, target: candidate.target, cache: 'miss', reason: 'present', digest: outcome.digest, probes };
      }
      if (outcome?.kind !== 'absent') definite = false;
    }
    if (definite) this.cache.setAbsent(key);
    return { original: key, normalised: key, result: key, rewritten: false, target: undefined, cache: 'miss', reason: definite ? 'absent' : 'unavailable', probes };
  }

  /**
   * A pull from `target` failed. When the runtime's message says the registry could not
   * be reached, it counts against its breaker like a failed probe would.
   */
  reportPullFailure(target: RegistryTarget, message: string): void {
    if (UNREACHABLE_PULL_ERROR.test(message)) this.breakerFor(target).failure();
  }
}
