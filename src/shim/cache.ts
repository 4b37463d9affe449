// Remembered rewrite decisions, keyed on the normalised reference (so `nginx` and
// `docker.io/library/nginx:latest` share an entry). A "present" entry is a pull plan:
// every registry that had the image, in priority order, with the reference to pull
// from each; an "absent" entry is written only for a definite 404 from every
// candidate, with a short TTL. A timeout, a 5xx or a connection error
// is never remembered as "absent": that is what sent offline clusters to the internet
// for 30 minutes with the old shim.
import { LRUCache } from 'lru-cache';
import type { CacheSettings } from './config.js';

/** One registry of a cached plan. */
export interface PlannedPull {
  readonly targetId: string;
  readonly reference: string;
  readonly digest: string;
}

export type CacheEntry =
  /** `plan` is never empty; its first entry is the registry a pull tries first. */
  | { readonly kind: 'present'; readonly plan: readonly PlannedPull[] }
  | { readonly kind: 'absent' };

export interface CacheStats {
  readonly entries: number;
  readonly hits: number;
  readonly misses: number;
  readonly enabled: boolean;
}

export class RewriteCache {
  private readonly lru: LRUCache<string, CacheEntry> | undefined;
  private hits = 0;
  private misses = 0;

  constructor(private readonly settings: CacheSettings) {
    // size 0 is the legacy "negative imageCacheSize": no cache at all.
    this.lru = settings.size > 0 ? new LRUCache<string, CacheEntry>({ max: settings.size, ttl: settings.ttlMs, ttlAutopurge: false }) : undefined;
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  /** The live entry for `key`; counts a hit or a miss. */
  get(key: string): CacheEntry | undefined {
    if (!this.lru) return undefined;
    const entry = this.lru.get(key);
    if (entry) this.hits++;
    else this.misses++;
    return entry;
  }

  /** The live "present" entry for `key`, without counting a hit or a miss: a lookup on
   *  the node (ImageStatus) is not a pull decision. */
  presentEntry(key: string): Extract<CacheEntry, { kind: 'present' }> | undefined {
    const entry = this.lru?.get(key);
    return entry?.kind === 'present' ? entry : undefined;
  }

  /** `ttlMs` shortens the lifetime (a plan made while some registry could not be asked). */
  setPresent(key: string, plan: readonly PlannedPull[], ttlMs?: number): void {
    if (plan.length === 0) return;
    this.lru?.set(key, { kind: 'present', plan }, { ttl: Math.min(ttlMs ?? this.settings.ttlMs, this.settings.ttlMs) });
  }

  /** Only for a definite 404 from every candidate. */
  setAbsent(key: string): void {
    if (this.settings.negativeTtlMs <= 0) return;
    this.lru?.set(key, { kind: 'absent' }, { ttl: this.settings.negativeTtlMs });
  }

  delete(key: string): void {
    this.lru?.delete(key);
  }

  clear(): void {
    this.lru?.clear();
  }

  stats(): CacheStats {
    return { entries: this.lru?.size ?? 0, hits: this.hits, misses: this.misses, enabled: this.enabled };
  }
}
