// The rewrite decision for a pull: normalise the reference, list the candidates in
// priority order, answer from the cache or probe every candidate's registry at once
// (skipping registries whose breaker is open), and remember what was learnt. The answer
// is a plan: every registry that has the image, in priority order, then the original
// reference unless `fallback: false`. Replicas of one registry are separate entries, so
// a pull that loses one goes on to the next (image-service.ts walks the plan).
//
// Caching rules: a plan is cached for `imageCacheTTL` when every candidate answered
// (200 or 404), and only for the short negative TTL when one could not be asked (a
// timeout, a 5xx, an open breaker, another digest): the plan may then lack a registry
// that is back soon, possibly a better one. "Absent" is cached only when every
// candidate gave a definite 404. A cached plan saves the search, but its first registry
// is asked again before each pull (one bounded HEAD); the others are not, and a pull
// that fails anywhere drops the plan. Concurrent decisions for the same reference
// share one probe round.
import type { Logger } from 'pino';
import { SingleFlight } from '../util/single-flight.js';
import { BREAKER_STATE_VALUE, CircuitBreaker } from '../util/breaker.js';
import { RewriteCache, type CacheEntry, type PlannedPull } from './cache.js';
import { candidatesFor, directTarget, normalise, type Candidate } from './candidates.js';
import type { RegistryTarget, ShimConfig } from './config.js';
import type { ShimMetrics } from './metrics.js';
import type { CandidateProber, ProbeOutcome } from './probe.js';
import { classifyPullFailure } from './pull-errors.js';

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

/** One place a pull may come from. */
export type PullStep =
  /** A configured registry (or replica) whose probe found the image. */
  | { readonly kind: 'registry'; readonly candidate: Candidate; readonly digest: string }
  /** The caller's own reference, as sent; `target` when it names a configured registry. */
  | { readonly kind: 'original'; readonly reference: string; readonly target: RegistryTarget | undefined };

export type RegistryStep = Extract<PullStep, { kind: 'registry' }>;

export interface Resolution {
  readonly original: string;
  /** The normalised reference (the cache key), when the input was a reference. */
  readonly normalised: string | undefined;
  /**
   * Where to pull from, in order; never empty. Every registry whose probe found the
   * image, in priority order, then the original unless `fallback: false`; only the
   * original when no registry has it.
   */
  readonly plan: readonly PullStep[];
  readonly cache: CacheUse;
  readonly reason: RewriteReason;
  readonly probes: readonly ProbeNote[];
}

/** The reference a step hands to the runtime. */
export function stepReference(step: PullStep): string {
  return step.kind === 'registry' ? step.candidate.reference : step.reference;
}

/** The configured registry a step pulls from, if any. */
export function stepTarget(step: PullStep): RegistryTarget | undefined {
  return step.kind === 'registry' ? step.candidate.target : step.target;
}

/** What a probe round found, before the caller's own reference is added to it. */
interface Search {
  readonly found: readonly RegistryStep[];
  readonly reason: 'present' | 'absent' | 'unavailable';
  readonly probes: readonly ProbeNote[];
}

interface Answer {
  /** undefined: the breaker was open, nothing was asked. */
  readonly outcome: ProbeOutcome | undefined;
  readonly note: ProbeNote;
}

export interface LocalCandidates {
  readonly normalised: string | undefined;
  /** The original names a configured registry itself. */
  readonly direct: RegistryTarget | undefined;
  readonly candidates: readonly Candidate[];
}

export class Rewriter {
  private readonly cache: RewriteCache;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly flights = new SingleFlight<Search>();

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

  /** Drops the cached plan, e.g. after a pull from one of its registries failed. */
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

  /** The first registry of the plan a pull through the shim made for `image`, while that
   *  plan is cached: the name the node most likely holds the image under. No network. */
  cachedRewrite(image: string): Candidate | undefined {
    const local = this.localCandidates(image);
    if (local.normalised === undefined) return undefined;
    const entry = this.cache.presentEntry(local.normalised);
    return entry ? this.stepsFromCache(entry.plan, local.candidates)[0]?.candidate : undefined;
  }

  /** Whether `target`'s breaker is open now (a trial is not due yet). */
  breakerOpen(target: RegistryTarget): boolean {
    return this.breakerFor(target).state === 'open';
  }

  /** Where to pull `image` from. Never throws for registry trouble: the original is the answer then. */
  async resolve(image: string): Promise<Resolution> {
    const normalised = normalise(image);
    const planned = (reason: RewriteReason, found: readonly RegistryStep[], extra: { cache?: CacheUse; probes?: readonly ProbeNote[]; direct?: RegistryTarget } = {}): Resolution => {
      // Unchanged means byte-for-byte the caller's string, not its normalised form.
      const original: PullStep = { kind: 'original', reference: image, target: extra.direct };
      return {
        original: image,
        normalised: normalised.ok ? normalised.text : undefined,
        plan: found.length === 0 || this.config.fallback ? [...found, original] : found,
        cache: extra.cache ?? 'none',
        reason,
        probes: extra.probes ?? [],
      };
    };
    if (!normalised.ok) return planned(normalised.reason, []);
    const direct = directTarget(normalised.reference, this.config.registries);
    if (direct) return planned('direct', [], { direct });
    const { candidates } = candidatesFor(normalised.reference, this.config.registries);
    if (candidates.length === 0) return planned('no-candidates', []);

    const key = normalised.text;
    const cached = this.lookup(key);
    if (cached?.kind === 'absent') return planned('cached-absent', [], { cache: 'hit' });
    let known: (Answer & { candidate: Candidate }) | undefined;
    if (cached?.kind === 'present') {
      const [first, ...rest] = this.stepsFromCache(cached.plan, candidates);
      if (first) {
        // The search is cached, but the first registry is asked again (one bounded HEAD):
        // one that died or hangs since costs the probe timeout, not a failed attempt.
        const checked = await this.probeOne(first.candidate);
        if (checked.outcome?.kind === 'present') {
          return planned('cached-present', [{ ...first, digest: checked.outcome.digest }, ...rest], { cache: 'hit', probes: [checked.note] });
        }
        this.cache.delete(key);
        known = { candidate: first.candidate, ...checked };
      }
    }
    const search = await this.flights.run(key, () => this.search(key, candidates, known));
    return planned(search.reason, search.found, { cache: this.cache.enabled ? 'miss' : 'off', probes: search.probes });
  }

  private lookup(key: string): CacheEntry | undefined {
    if (!this.cache.enabled) return undefined;
    const entry = this.cache.get(key);
    if (entry) this.metrics.cacheHits.inc({ kind: entry.kind });
    else this.metrics.cacheMisses.inc();
    return entry;
  }

  /** The cached plan as steps over today's candidates (a reload clears the cache, so all match). */
  private stepsFromCache(plan: readonly PlannedPull[], candidates: readonly Candidate[]): RegistryStep[] {
    return plan.flatMap((entry) => {
      const candidate = candidates.find((c) => c.target.id === entry.targetId && c.reference === entry.reference);
      return candidate ? [{ kind: 'registry' as const, candidate, digest: entry.digest }] : [];
    });
  }

  /** One probe with its breaker accounting and metrics. */
  private async probeOne(candidate: Candidate): Promise<Answer> {
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
   * Probes every candidate at once: the plan needs every answer, and the slowest probe
   * (each is bounded by probeTimeout) bounds the decision instead of their sum. A
   * registry that hangs is out of the round after `failureThreshold` timeouts (its
   * breaker). `known` is an answer already obtained in this decision (the re-check of a
   * cached plan's first registry), so no registry is asked twice.
   */
  private async search(key: string, candidates: readonly Candidate[], known?: Answer & { candidate: Candidate }): Promise<Search> {
    const answers = await Promise.all(candidates.map((candidate) => (known?.candidate === candidate ? known : this.probeOne(candidate))));
    const probes = answers.map((answer) => answer.note);
    const found: RegistryStep[] = [];
    answers.forEach((answer, index) => {
      if (answer.outcome?.kind === 'present') found.push({ kind: 'registry', candidate: candidates[index]!, digest: answer.outcome.digest });
    });
    // Whether every candidate gave a definite answer (200 or 404).
    const definite = answers.every((answer) => answer.outcome?.kind === 'present' || answer.outcome?.kind === 'absent');
    if (found.length > 0) {
      const plan = found.map((step) => ({ targetId: step.candidate.target.id, reference: step.candidate.reference, digest: step.digest }));
      this.cache.setPresent(key, plan, definite ? undefined : this.config.cache.negativeTtlMs);
      return { found, reason: 'present', probes };
    }
    if (definite) this.cache.setAbsent(key);
    return { found, reason: definite ? 'absent' : 'unavailable', probes };
  }

  /**
   * A pull from `target` failed. When the runtime's message says the registry could not
   * be reached, it counts against its breaker like a failed probe would.
   */
  reportPullFailure(target: RegistryTarget, message: string): void {
    if (classifyPullFailure(message) === 'unreachable') this.breakerFor(target).failure();
  }
}
