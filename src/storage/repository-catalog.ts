// The sorted list of repositories, kept in memory. Distribution walks the whole tree
// on every catalog request; Berth walks it at most once per `maxAgeMs` and adds the
// repositories it creates itself at once, so a paginated listing of 10,000
// repositories costs one walk. Changes made by another process show within maxAgeMs.
import type { FsRoot } from './fs-root.js';
import { REPOSITORIES_ROOT } from './layout.js';
import { isValidRepositoryName } from '../oci/names.js';
import { SingleFlight } from '../util/single-flight.js';

export class RepositoryCatalog {
  private sorted: string[] = [];
  private known = new Set<string>();
  private walkedAt = -Infinity;
  private readonly walks = new SingleFlight<void>();

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
    const found: string[] = [];
    await this.visit('', found);
    found.sort(compareNames);
    this.sorted = found;
    this.known = new Set(found);
    this.walkedAt = startedAt;
  }

  /** A directory is a repository when it holds `_manifests` or `_layers`. */
  private async visit(relative: string, found: string[]): Promise<void> {
    const entries = await this.fs.readdir(relative === '' ? REPOSITORIES_ROOT : `${REPOSITORIES_ROOT}/${relative}`);
    const children: string[] = [];
    let isRepository = false;
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      if (entry.name === '_manifests' || entry.name === '_layers') isRepository = true;
      else if (!entry.name.startsWith('_')) children.push(entry.name);
    }
    if (isRepository && relative !== '' && isValidRepositoryName(relative)) found.push(relative);
    await Promise.all(children.map((child) => this.visit(relative === '' ? child : `${relative}/${child}`, found)));
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
