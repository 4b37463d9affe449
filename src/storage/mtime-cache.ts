// Directory listings cached against the directory's mtime. An mtime within
// RACY_WINDOW_MS of the read is not trusted: a change in the same clock tick could
// leave the mtime unchanged (the "racy git" problem), so such entries are re-read.
import type { Stats } from 'node:fs';

const RACY_WINDOW_MS = 2000;

interface Entry<T> {
  readonly mtimeMs: number;
  readonly trusted: boolean;
  readonly value: T;
}

export class MtimeCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly maxEntries = 4096) {}

  /** The cached value when `stats` shows the directory unchanged since it was read. */
  get(key: string, stats: Stats): T | undefined {
    const entry = this.entries.get(key);
    if (!entry || !entry.trusted || entry.mtimeMs !== stats.mtimeMs) return undefined;
    return entry.value;
  }

  set(key: string, stats: Stats, value: T): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { mtimeMs: stats.mtimeMs, trusted: Date.now() - stats.mtimeMs > RACY_WINDOW_MS, value });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
