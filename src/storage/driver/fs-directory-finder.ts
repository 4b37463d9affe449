// Finds the directories below a root that hold `_`-prefixed children (distribution's
// repositories: `_manifests`, `_layers`, `_uploads`), for the catalog. Distribution walks
// the whole tree on every catalog request; this walk is cheap to repeat: every
// directory's listing is remembered with its mtime, so a re-walk costs one lstat per
// directory and re-reads only directories that changed (a new repository, or a
// repository's first `_manifests`, changes its parent's mtime). The calls are
// synchronous, in slices of a few milliseconds with the event loop served in between:
// thousands of thread-pool round trips (and as many pending promises) cost far more time
// and memory than the calls themselves.
import type { FsRoot } from './fs-root.js';
import type { MarkedDirectory } from './driver.js';

/** A directory's listing is re-read when its mtime is this recent (a same-tick change could hide). */
const RACY_WINDOW_MS = 2000;
/** Longest run of synchronous filesystem calls before the event loop gets a turn. */
const SLICE_MS = 4;

interface DirectoryListing {
  readonly mtimeMs: number;
  readonly trusted: boolean;
  /** Subdirectories without the `_` prefix: they may hold more. */
  readonly children: readonly string[];
  /** Names of `_`-prefixed subdirectories. */
  readonly markers: readonly string[];
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class DirectoryFinder {
  private listings = new Map<string, DirectoryListing>();

  constructor(private readonly fs: FsRoot) {}

  async find(root: string): Promise<MarkedDirectory[]> {
    const startedAt = Date.now();
    const found: MarkedDirectory[] = [];
    const listings = new Map<string, DirectoryListing>();
    // Depth-first with an explicit stack: bounded memory, no recursion depth limit.
    const pending: string[] = [''];
    let sliceStart = performance.now();
    while (pending.length > 0) {
      const relative = pending.pop()!;
      const listing = this.listing(root, relative, startedAt);
      if (!listing) continue;
      listings.set(`${root}\u0000${relative}`, listing);
      if (listing.markers.length > 0 && relative !== '') found.push({ path: relative, markers: listing.markers });
      for (const child of listing.children) pending.push(relative === '' ? child : `${relative}/${child}`);
      if (performance.now() - sliceStart >= SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    // Only directories seen in this walk are kept: deleted ones do not pile up.
    for (const [key, listing] of this.listings) if (!key.startsWith(`${root}\u0000`)) listings.set(key, listing);
    this.listings = listings;
    return found;
  }

  /** The directory's listing, re-read only when its mtime moved; undefined when it is gone. */
  private listing(root: string, relative: string, now: number): DirectoryListing | undefined {
    const path = relative === '' ? root : `${root}/${relative}`;
    const stats = this.fs.statSync(path);
    if (!stats?.isDirectory()) return undefined;
    const cached = this.listings.get(`${root}\u0000${relative}`);
    if (cached && cached.trusted && cached.mtimeMs === stats.mtimeMs) return cached;
    const children: string[] = [];
    const markers: string[] = [];
    for (const entry of this.fs.readdirSync(path)) {
      if (!entry.isDirectory()) continue;
      if (entry.name.startsWith('_')) markers.push(entry.name);
      else children.push(entry.name);
    }
    return { mtimeMs: stats.mtimeMs, trusted: now - stats.mtimeMs > RACY_WINDOW_MS, children, markers };
  }
}
