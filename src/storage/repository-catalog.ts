// The sorted list of repositories, kept in memory. Distribution walks the whole tree
// on every catalog request; Berth walks it at most once per `maxAgeMs` and adds the
// repositories it creates itself at once, so a paginated listing of 10,000
// repositories costs one walk. Changes made by another process show within maxAgeMs.
//
// A walk is cheap: every directory's listing is remembered with its mtime, so a
// re-walk costs one lstat per directory and re-reads only directories that changed
// (a new repository, or a repository's first `_manifests`, changes its parent's
// mtime). The calls are synchronous, in slices of a few milliseconds with the event
// loop served in between: thousands of thread-pool round trips (and as many pending
// promises) cost far more time and memory than the calls themselves.
import type { Stats } from 'node:fs';
import type { FsRoot } from './fs-root.js';
import { REPOSITORIES_ROOT } from './layout.js';
import { isValidRepositoryName } from '../oci/names.js';
import { SingleFlight } from '../util/single-flight.js';

/** A directory's listing is re-read when its mtime is this recent (a same-tick change could hide). */
const RACY_WINDOW_MS = 2000;
/** Longest run of synchronous filesystem calls before the event loop gets a turn. */
const SLICE_MS = 4;

interface DirectoryListing {
  readonly mtimeMs: number;
  readonly trusted: boolean;
  /** Subdirectories that may hold repositories (not `_`-prefixed). */
  readonly children: readonly string[];
  /** Holds `_manifests` or `_layers`. */
  readonly isRepository: boolean;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class RepositoryCatalog {
  private sorted: string[] = [];
  private known = new Set<string>();
  private walkedAt = -Infinity;
  private readonly walks = new SingleFlight<void>();
  private listings = new Map<string, DirectoryListing>();
  /** Repositories added while a walk runs: the walk may have passed their parent already. */
  private addedDuringWalk: Set<string> | undefined;

  constructor(
    private readonly fs: FsRoot,
    private readonly maxAgeMs = 1000,
  ) {}

  async list(): Promise<readonly string[]> {
    if (Date.now() - this.walkedAt > this.maxAgeMs) await this.walks.run('walk', () => this.walk());
    return this.sorted;
  }

  /** Records a repository this process just created. */
  add(repository: string): void {
    this.addedDuringWalk?.add(repository);
    if (this.known.has(repository)) return;
    this.known.add(repository);
    const at = lowerBound(this.sorted, repository);
    this.sorted = [...this.sorted.slice(0, at), repository, ...this.sorted.slice(at)];
  }

  has(repository: string): boolean {
    return this.known.has(repository);
  }

  private async walk(): Promise<void> {
    const startedAt = Date.now();
    this.addedDuringWalk = new Set();
    try {
      const found: string[] = [];
      const listings = new Map<string, DirectoryListing>();
      // Depth-first with an explicit stack: bounded memory, no recursion depth limit.
      const pending: string[] = [''];
      let sliceStart = performance.now();
      while (pending.length > 0) {
        const relative = pending.pop()!;
        const listing = this.listing(relative, startedAt);
        if (!listing) continue;
        listings.set(relative, listing);
        if (listing.isRepository && relative !== '' && isValidRepositoryName(relative)) found.push(relative);
        for (const child of listing.children) pending.push(relative === '' ? child : `${relative}/${child}`);
        if (performance.now() - sliceStart >= SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
      for (const repository of this.addedDuringWalk) found.push(repository);
      this.sorted = [...new Set(found)].sort(compareNames);
      this.known = new Set(this.sorted);
      // Only directories seen in this walk are kept: deleted ones do not pile up.
      this.listings = listings;
      this.walkedAt = startedAt;
    } finally {
      this.addedDuringWalk = undefined;
    }
  }

  /** The directory's listing, re-read only when its mtime moved; undefined when it is gone. */
  private listing(relative: string, now: number): DirectoryListing | undefined {
    const path = relative === '' ? REPOSITORIES_ROOT : `${REPOSITORIES_ROOT}/${relative}`;
    const stats: Stats | undefined = this.fs.statSync(path);
    if (!stats?.isDirectory()) return undefined;
    const cached = this.listings.get(relative);
    if (cached && cached.trusted && cached.mtimeMs === stats.mtimeMs) return cached;
    const children: string[] = [];
    let isRepository = false;
    for (const entry of this.fs.readdirSync(path)) {
      if (!entry.isDirectory()) continue;
      if (entry.name === '_manifests' || entry.name === '_layers') isRepository = true;
      else if (!entry.name.startsWith('_')) children.push(entry.name);
    }
    return { mtimeMs: stats.mtimeMs, trusted: now - stats.mtimeMs > RACY_WINDOW_MS, children, isRepository };
  }
}

/** Catalog order is plain byte order, as distribution and the spec's `last` expect. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function lowerBound(sorted: readonly string[], value: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The page after `last` with at most `limit` entries (spec pagination). */
export function paginate(sorted: readonly string[], last: string | undefined, limit: number | undefined): { items: string[]; more: boolean } {
  let start = 0;
  if (last !== undefined && last !== '') {
    start = lowerBound(sorted, last);
    if (sorted[start] === last) start += 1;
  }
  const end = limit === undefined ? sorted.length : Math.min(sorted.length, start + limit);
  return { items: sorted.slice(start, end), more: end < sorted.length };
}
