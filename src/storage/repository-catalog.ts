// The sorted list of repositories, kept in memory. Distribution walks the whole tree on
// every catalog request; Berth asks the driver at most once per `maxAgeMs` (a cheap
// re-walk on the filesystem, a few listings on S3: see findMarkedDirectories) and adds
// the repositories it creates itself at once, so a client sees its own pushes at once
// and a paginated listing of 10,000 repositories costs one walk. Changes made by
// another process (or another replica) show within maxAgeMs.
import { isValidRepositoryName } from '../oci/names.js';
import { SingleFlight } from '../util/single-flight.js';
import type { StorageDriver } from './driver/driver.js';
import { REPOSITORIES_ROOT } from './layout.js';

/** How old a walk may get before a list that allows staleness starts the next one. */
const STALE_WALK_MS = 10_000;

/** A directory is a repository once it holds `_manifests` or `_layers` (not just `_uploads`). */
const REPOSITORY_MARKERS = new Set(['_manifests', '_layers']);

export class RepositoryCatalog {
  private sorted: string[] = [];
  private known = new Set<string>();
  private walkedAt = -Infinity;
  private readonly walks = new SingleFlight<void>();
  /** Repositories added while a walk runs: the walk may have passed their parent already. */
  private addedDuringWalk: Set<string> | undefined;

  constructor(
    private readonly driver: StorageDriver,
    private readonly maxAgeMs = 1000,
  ) {}

  /**
   * The sorted names. `allowStale`: answer from the last walk at once, and start a new
   * one in the background once that is STALE_WALK_MS old. A page a person waits for
   * need not wait for a re-walk, nor share the process with one on every view; this
   * process's own writes are in the list either way, other processes' within seconds.
   */
  async list(options: { readonly allowStale?: boolean } = {}): Promise<readonly string[]> {
    const age = Date.now() - this.walkedAt;
    if (age < this.maxAgeMs) return this.sorted;
    if (options.allowStale && this.walkedAt > -Infinity) {
      // A failed background walk shows up in the next list() that waits for one.
      if (age >= Math.max(this.maxAgeMs, STALE_WALK_MS)) this.walks.run('walk', () => this.walk()).catch(() => undefined);
      return this.sorted;
    }
    await this.walks.run('walk', () => this.walk());
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
      for (const dir of await this.driver.findMarkedDirectories(REPOSITORIES_ROOT)) {
        // S3 does not name the markers (one listing rolls them up): any `_` child counts.
        const isRepository = dir.markers === undefined || dir.markers.some((marker) => REPOSITORY_MARKERS.has(marker));
        if (isRepository && isValidRepositoryName(dir.path)) found.push(dir.path);
      }
      for (const repository of this.addedDuringWalk) found.push(repository);
      this.sorted = [...new Set(found)].sort(compareNames);
      this.known = new Set(this.sorted);
      this.walkedAt = startedAt;
    } finally {
      this.addedDuringWalk = undefined;
    }
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
