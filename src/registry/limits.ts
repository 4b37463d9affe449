// Protection against abusive clients: a cap on concurrent uploads per client address,
// and a temporary block for an address that keeps sending wrong credentials (it gets
// 429 TOOMANYREQUESTS instead of another bcrypt check).

export interface LimitSettings {
  /** Upload requests (POST/PATCH/PUT with a body) in flight per client address. */
  readonly maxUploadsPerClient: number;
  /** Rejected credentials from one address within `authFailureWindowMs` before a block. */
  readonly maxAuthFailures: number;
  readonly authFailureWindowMs: number;
  readonly authBlockMs: number;
}

export const DEFAULT_LIMITS: LimitSettings = {
  maxUploadsPerClient: 256,
  maxAuthFailures: 10,
  authFailureWindowMs: 60_000,
  authBlockMs: 60_000,
};

export interface TimeoutSettings {
  /** Time allowed to receive a request's headers (slowloris guard). */
  readonly headersTimeoutMs: number;
  /** A connection silent for this long is closed. */
  readonly idleTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_TIMEOUTS: TimeoutSettings = { headersTimeoutMs: 20_000, idleTimeoutMs: 120_000, keepAliveTimeoutMs: 30_000 };

/** Bounds the tracked addresses so a flood of sources cannot grow memory without end. */
const MAX_TRACKED_ADDRESSES = 100_000;

export class UploadLimiter {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Reserves a slot; undefined when the client is at its limit. Call the release once. */
  acquire(address: string): (() => void) | undefined {
    const current = this.inFlight.get(address) ?? 0;
    if (current >= this.max) return undefined;
    this.inFlight.set(address, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const now = (this.inFlight.get(address) ?? 1) - 1;
      if (now <= 0) this.inFlight.delete(address);
      else this.inFlight.set(address, now);
    };
  }
}

/** What the server asks of an auth-failure limiter: local, or shared between worker processes. */
export interface AuthFailureTracker {
  /** Milliseconds the address stays blocked, or 0. */
  blockedFor(address: string, now?: number): number;
  /** Records a rejected credential; true when this failure starts a block. */
  recordFailure(address: string, now?: number): boolean;
}

interface FailureRecord {
  failures: number[];
  blockedUntil: number;
}

export class AuthFailureLimiter implements AuthFailureTracker {
  private readonly records = new Map<string, FailureRecord>();

  constructor(private readonly settings: LimitSettings) {}

  /** Milliseconds the address stays blocked, or 0. */
  blockedFor(address: string, now = Date.now()): number {
    const record = this.records.get(address);
    return record && record.blockedUntil > now ? record.blockedUntil - now : 0;
  }

  /** Records a rejected credential; true when this failure starts a block. */
  recordFailure(address: string, now = Date.now()): boolean {
    return this.record(address, now) !== undefined;
  }

  /** Records a rejected credential; the end of the block it starts, if it starts one. */
  record(address: string, now = Date.now()): number | undefined {
    if (this.records.size >= MAX_TRACKED_ADDRESSES && !this.records.has(address)) this.prune(now);
    const record = this.records.get(address) ?? { failures: [], blockedUntil: 0 };
    record.failures = record.failures.filter((at) => now - at < this.settings.authFailureWindowMs);
    record.failures.push(now);
    this.records.set(address, record);
    if (record.failures.length >= this.settings.maxAuthFailures && record.blockedUntil <= now) {
      record.blockedUntil = now + this.settings.authBlockMs;
      record.failures = [];
      return record.blockedUntil;
    }
    return undefined;
  }

  /** Blocks an address until `until` (a block decided elsewhere: another worker's primary). */
  block(address: string, until: number): void {
    const record = this.records.get(address) ?? { failures: [], blockedUntil: 0 };
    record.blockedUntil = Math.max(record.blockedUntil, until);
    this.records.set(address, record);
  }

  private prune(now: number): void {
    for (const [address, record] of this.records) {
      if (record.blockedUntil <= now && record.failures.every((at) => now - at >= this.settings.authFailureWindowMs)) this.records.delete(address);
    }
    if (this.records.size >= MAX_TRACKED_ADDRESSES) this.records.clear();
  }
}
