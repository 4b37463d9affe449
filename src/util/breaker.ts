// A circuit breaker per remote registry (the shim's probes, a mirror's upstreams), so a
// dead registry costs one timeout per reset period instead of one per request. Closed:
// requests go through; after `failureThreshold` consecutive failures (timeout,
// connection error, 5xx) it opens and the registry is skipped for `resetTimeoutMs`;
// then it is half-open and exactly one trial request goes through: success closes it,
// failure opens it again. Any answer from a live registry (200, 404, 401) counts as
// success.

export interface BreakerSettings {
  /** Consecutive failures (timeout, connection error, 5xx) that open the breaker. */
  readonly failureThreshold: number;
  /** How long an open breaker skips the registry before one trial request. */
  readonly resetTimeoutMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, open: 1, 'half-open': 2 };

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;
  private trialStartedAt = 0;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly onChange: (state: BreakerState) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.settings.resetTimeoutMs ? 'half-open' : 'open';
  }

  /** Whether a probe may go out now. In half-open state only one caller gets true. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    // A trial whose caller never reported back must not keep the breaker shut forever.
    if (this.trialInFlight && this.now() - this.trialStartedAt < this.settings.resetTimeoutMs) return false;
    this.trialInFlight = true;
    this.trialStartedAt = this.now();
    this.onChange('half-open');
    return true;
  }

  success(): void {
    const wasOpen = this.openedAt !== undefined;
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
    if (wasOpen) this.onChange('closed');
  }

  failure(): void {
    this.failures++;
    const trial = this.trialInFlight;
    this.trialInFlight = false;
    if (trial || this.failures >= this.settings.failureThreshold) {
      this.openedAt = this.now();
      this.onChange('open');
    }
  }

  /** When the breaker will let a trial probe through, for log lines. */
  retryAt(): number | undefined {
    return this.openedAt === undefined ? undefined : this.openedAt + this.settings.resetTimeoutMs;
  }
}
