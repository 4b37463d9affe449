// Directory listings (a repository's tags, its revisions) cached per path. Where the
// driver can tell cheaply that a directory changed (the filesystem: its mtime), a cached
// listing is used until it does; where it cannot (S3), a listing is used for at most
// `maxAgeMs`. Writes made through this process invalidate at once, so a client sees its
// own pushes immediately; writes by other processes show within that bound.
import type { DirectoryEntry, StorageDriver } from './driver/driver.js';

interface Entry {
  readonly version: number | undefined;
  readonly at: number;
  readonly entries: readonly DirectoryEntry[];
}

export class ListingCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: { readonly versioned: boolean; readonly maxAgeMs: number; readonly maxEntries?: number },
  ) {}

  async list(path: string): Promise<readonly DirectoryEntry[]> {
    const now = Date.now();
    const cached = this.entries.get(path);
    let version: number | undefined;
    if (this.options.versioned) {
      version = await this.driver.listingVersion(path);
      if (cached && version !== undefined && cached.version === version) return cached.entries;
    } else if (cached && now - cached.at < this.options.maxAgeMs) {
      return cached.entries;
    }
    const entries = await this.driver.list(path);
    // An untrustworthy version (a same-tick change could hide) is not cached at all.
    if (!this.options.versioned || version !== undefined) this.remember(path, { version, at: now, entries });
    return entries;
  }

  /** Forgets a path this process just changed. */
  invalidate(path: string): void {
    this.entries.delete(path);
  }

  private remember(path: string, entry: Entry): void {
    const max = this.options.maxEntries ?? 4096;
    if (this.entries.size >= max && !this.entries.has(path)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(path, entry);
  }
}
