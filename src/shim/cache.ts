// Remembered rewrite decisions, keyed on the normalised reference (so `nginx` and
// `docker.io/library/nginx:latest` share an entry). A "present" entry names the
// registry and reference to pull; an "absent" entry is written only for a definite
// 404 from every candidate, with a short TTL. A timeout, a 5xx or a connection error
// is never remembered as "absent": that is what sent offline clusters to the internet
// for 30 minutes with the old shim.
import { LRUCache } from 'lru-cache';
import type { CacheSettings } from './config.js';

export type CacheEntry =
  | { readonly kind: 'present'; readonly targetId: string; readonly reference: string; readonly digest: string | undefined }
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

  /** `ttlMs` shortens the lifetime (a match found while a better registry was failing). */
  setPresent(key: string, entry: Omit<Extract<CacheEntry, { kind: 'present' }>, 'kind'>, ttlMs?: number): void {
    this.lru?.set(key, { kind: 'present', ...entry }, { ttl: Math.min(ttlMs ?? this.settings.ttlMs, this.settings.ttlMs) });
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
