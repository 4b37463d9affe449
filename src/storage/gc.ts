// Mark-and-sweep garbage collection over distribution's layout, on any driver, safe while
// Berth registries serve pushes on the same storage ("online"), on this host or others.
//
// The protocol rests on one rule the storage code keeps: every push path that relies on
// an object that already exists TOUCHES it through the driver before relying on it:
// a manifest PUT touches every blob and link it names, a mount touches, an upload that
// finds its blob present touches it, a finished upload lands fresh, and HEAD on a blob
// (how pushers decide to skip an upload) touches it. A touch marks the object in use and
// answers whether it exists in one step. So:
//
//  1. A lease under docker/registry/v2/_berth/ (registry:2 never looks there) keeps two
//     collections apart, across hosts (storage/lease.ts). T0 is taken after it is held.
//  2. Mark from every manifest revision of every repository; with deleteUntagged, only
//     from tagged manifests, their index children, referrers of kept manifests and
//     revisions whose link is younger than T0 - grace. A manifest marks itself, its
//     config, its layers and its children.
//  3. With deleteUntagged, unmarked revision links older than T0 - grace are reclaimed:
//     claimed, then re-checked: if their manifest blob was touched meanwhile (a push
//     named it), they stay and are marked.
//  4. Each unmarked blob last used before T0 - grace is reclaimed the same way. The
//     driver's claim is what makes this safe against a concurrent touch: the
//     filesystem moves the directory into a trash area (one atomic rename, so a later
//     touch fails), S3 writes a tombstone that a touch waits out (see driver/s3.ts).
//     Either the touch comes first and the re-check sees it, or the touch fails and the
//     push re-uploads or fails cleanly with MANIFEST_BLOB_UNKNOWN: no manifest ever
//     names a blob that is gone.
//  5. _layers links whose blob is gone are reclaimed unless the blob came back.
//
// The grace period covers pushes whose blobs were uploaded before T0 and whose manifest
// arrives later (nothing touches a blob between its upload and the manifest PUT).
import { parseDigest, SUPPORTED_ALGORITHMS, type Digest } from '../oci/digest.js';
import { parseManifest, type Manifest } from '../oci/manifest.js';
import type { StorageDriver } from './driver/driver.js';
import { recordGcRun } from './gc-status.js';
import {
  BERTH_STATE_DIR,
  BLOBS_ROOT,
  blobDataPath,
  blobDirectory,
  blobOfDataPath,
  layerLinkDirectory,
  repositoryPath,
  revisionLinkDirectory,
  revisionsDirectory,
  tagCurrentLinkPath,
  tagsDirectory,
  V2_ROOT,
} from './layout.js';
import { acquireLease, LeaseBusyError } from './lease.js';
import { RepositoryCatalog } from './repository-catalog.js';
import { mapLimit } from '../util/pool.js';

export const DEFAULT_GC_GRACE_MS = 10 * 60_000;
/** Objects looked at, or reclaimed, at a time (each is a request or a few on S3). */
const CONCURRENCY = 16;
export const GC_LEASE_PATH = `${BERTH_STATE_DIR}/gc.lock`;

export interface GcHooks {
  /** After marking, before anything is removed (tests interleave pushes here). */
  afterMark?(): Promise<void>;
  /** After a blob was found unmarked and old, before it is claimed. */
  beforeTrash?(digest: string): Promise<void>;
  /** After a blob was claimed (moved to the trash, or tombstoned), before it is re-checked. */
  afterTrash?(digest: string): Promise<void>;
}

export interface GcOptions {
  readonly dryRun?: boolean;
  readonly deleteUntagged?: boolean;
  /** Blobs and revision links younger than this are never removed. */
  readonly graceMs?: number;
  readonly now?: () => number;
  readonly hooks?: GcHooks;
  /**
   * Repositories left exactly as they are: every blob they link is kept, whether a
   * manifest names it or not, and none of their links is removed. A mirror's retention
   * collects with every pushed repository protected, so only what it evicted goes.
   */
  readonly protect?: (repository: string) => boolean;
}

export interface GcReport {
  readonly dryRun: boolean;
  readonly deleteUntagged: boolean;
  readonly graceMs: number;
  readonly startedAt: string;
  durationMs: number;
  repositories: number;
  /** Manifest revisions seen. */
  manifests: number;
  /** Blobs in the blob store when the sweep began. */
  blobs: number;
  marked: number;
  /** Deleted blobs (with dryRun: the ones that would be). */
  readonly deleted: Array<{ digest: string; size: number }>;
  bytesFreed: number;
  /** Unmarked, but younger than the grace period. */
  keptRecent: number;
  /** Claimed, then found touched by a push and kept. */
  restored: number;
  readonly untaggedRemoved: Array<{ repository: string; digest: string }>;
  layerLinksRemoved: number;
  readonly warnings: string[];
}

export class GcBusyError extends Error {
  readonly code = 'EGCBUSY';
}

export class NotARegistryError extends Error {
  readonly code = 'ENOTREGISTRY';
}

interface Revision {
  readonly digest: Digest;
  readonly linkUsedMs: number;
}

export async function collectGarbage(driver: StorageDriver, options: GcOptions = {}): Promise<GcReport> {
  if ((await driver.list(V2_ROOT)).length === 0) {
    throw new NotARegistryError(`${driver.location} is not a registry's storage (no ${V2_ROOT})`);
  }
  const dryRun = options.dryRun ?? false;
  let lease;
  if (!dryRun) {
    try {
      lease = await acquireLease(driver, GC_LEASE_PATH, { holderName: 'another garbage collection' });
    } catch (error) {
      if (error instanceof LeaseBusyError) throw new GcBusyError(error.message);
      throw error;
    }
  }
  try {
    return await new Collector(driver, options).run();
  } finally {
    await lease?.release();
  }
}

class Collector {
  private readonly now: () => number;
  private readonly dryRun: boolean;
  private readonly deleteUntagged: boolean;
  private readonly graceMs: number;
  private readonly marked = new Set<string>();
  /** With deleteUntagged: revisions kept, per repository. */
  private readonly kept = new Map<string, Set<string>>();
  private readonly manifests = new Map<string, Manifest | null>();
  /** Every blob the sweep's walk found. */
  private readonly stored = new Set<string>();
  private cutoff = 0;
  private readonly report: GcReport;

  constructor(
    private readonly driver: StorageDriver,
    private readonly options: GcOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.dryRun = options.dryRun ?? false;
    this.deleteUntagged = options.deleteUntagged ?? false;
    this.graceMs = options.graceMs ?? DEFAULT_GC_GRACE_MS;
    this.report = {
      dryRun: this.dryRun,
      deleteUntagged: this.deleteUntagged,
      graceMs: this.graceMs,
      startedAt: '',
      durationMs: 0,
      repositories: 0,
      manifests: 0,
      blobs: 0,
      marked: 0,
      deleted: [],
      bytesFreed: 0,
      keptRecent: 0,
      restored: 0,
      untaggedRemoved: [],
      layerLinksRemoved: 0,
      warnings: [],
    };
  }

  async run(): Promise<GcReport> {
    if (!this.dryRun) {
      const recovered = await this.driver.recoverReclaims();
      if (recovered > 0) this.report.warnings.push(`put back ${recovered} item(s) an interrupted collection left half done`);
    }
    const started = this.now();
    (this.report as { startedAt: string }).startedAt = new Date(started).toISOString();
    this.cutoff = started - this.graceMs;

    const repositories = await new RepositoryCatalog(this.driver, 0).list();
    this.report.repositories = repositories.length;
    const revisions = new Map<string, Revision[]>();
    for (const repository of repositories) {
      const list = await this.listRevisions(repository);
      revisions.set(repository, list);
      this.report.manifests += list.length;
      await this.markRepository(repository, list);
    }
    await this.options.hooks?.afterMark?.();
    if (this.deleteUntagged) {
      for (const repository of repositories) await this.removeUntagged(repository, revisions.get(repository) ?? []);
    }
    this.report.marked = this.marked.size;
    await this.sweepBlobs();
    for (const repository of repositories) await this.removeDanglingLayerLinks(repository);
    if (!this.dryRun) await recordGcRun(this.driver, { bytes: this.report.bytesFreed, blobs: this.report.deleted.length });
    this.report.durationMs = this.now() - started;
    return this.report;
  }

  private async usedSinceCutoff(path: string, lastUsed: (path: string) => Promise<number | undefined> = (p) => this.driver.lastUsed(p)): Promise<boolean> {
    return ((await lastUsed(path)) ?? -Infinity) >= this.cutoff;
  }

  // ---- marking -------------------------------------------------------------------

  private async readLink(path: string): Promise<Digest | undefined> {
    const content = await this.driver.getContent(path);
    return content ? parseDigest(content.toString('utf8').trim()) : undefined;
  }

  /**
   * A repository's revisions from one walk of its revision links (their last write comes
   * with the listing: no request per revision on S3), with their manifests read many at
   * a time, so marking finds them cached.
   */
  private async listRevisions(repository: string): Promise<Revision[]> {
    const root = revisionsDirectory(repository);
    const found: Revision[] = [];
    for await (const file of this.driver.walk(root)) {
      const entry = /^([a-z0-9]+)\/([0-9a-f]+)\/link$/.exec(file.path.slice(root.length + 1));
      const digest = entry ? parseDigest(`${entry[1]}:${entry[2]}`) : undefined;
      if (digest) found.push({ digest, linkUsedMs: file.modifiedMs });
    }
    await mapLimit(found, CONCURRENCY, (revision) => this.loadManifest(revision.digest));
    return found;
  }

  private isProtected(repository: string): boolean {
    return this.options.protect?.(repository) ?? false;
  }

  private async markRepository(repository: string, revisions: readonly Revision[]): Promise<void> {
    if (this.isProtected(repository)) {
      for (const revision of revisions) await this.markManifest(repository, revision.digest);
      for (const digest of await this.linkedLayers(repository)) this.marked.add(digest.value);
      return;
    }
    if (!this.deleteUntagged) {
      for (const revision of revisions) await this.markManifest(repository, revision.digest);
      return;
    }
    const tags = (await this.driver.list(tagsDirectory(repository))).filter((entry) => entry.isDirectory);
    const targets = await mapLimit(tags, CONCURRENCY, (entry) => this.readLink(tagCurrentLinkPath(repository, entry.name)));
    for (const digest of targets) if (digest) await this.markManifest(repository, digest);
    for (const revision of revisions) {
      if (revision.linkUsedMs >= this.cutoff) await this.markManifest(repository, revision.digest);
    }
    // Referrers (signatures, SBOMs) live as long as their subject; chains of them too.
    for (let changed = true, rounds = 0; changed && rounds < 100; rounds++) {
      changed = false;
      for (const revision of revisions) {
        if (this.isKept(repository, revision.digest)) continue;
        const subject = (await this.loadManifest(revision.digest))?.subject?.digest;
        if (subject !== undefined && this.kept.get(repository)?.has(subject)) {
          await this.markManifest(repository, revision.digest);
          changed = true;
        }
      }
    }
  }

  private isKept(repository: string, digest: Digest): boolean {
    return this.kept.get(repository)?.has(digest.value) ?? false;
  }

  /** Marks a manifest, what it references, and (for an index) its children. */
  private async markManifest(repository: string, digest: Digest, depth = 0): Promise<void> {
    let kept = this.kept.get(repository);
    if (!kept) this.kept.set(repository, (kept = new Set()));
    if (kept.has(digest.value) || depth > 16) return;
    kept.add(digest.value);
    this.marked.add(digest.value);
    const manifest = await this.loadManifest(digest);
    if (!manifest) return;
    if (manifest.kind === 'index') {
      for (const child of manifest.manifests) {
        const childDigest = parseDigest(child.digest);
        if (childDigest) await this.markManifest(repository, childDigest, depth + 1);
      }
      return;
    }
    for (const blob of [manifest.config, ...manifest.layers]) this.marked.add(blob.digest);
  }

  private async loadManifest(digest: Digest): Promise<Manifest | undefined> {
    const known = this.manifests.get(digest.value);
    if (known !== undefined) return known ?? undefined;
    const bytes = await this.driver.getContent(blobDataPath(digest));
    const parsed = bytes ? parseManifest(bytes) : undefined;
    if (!parsed?.ok) {
      this.report.warnings.push(`manifest ${digest.value} is ${bytes ? 'unreadable' : 'missing from the blob store'}; what it references is not marked`);
    }
    const manifest = parsed?.ok ? parsed.manifest : null;
    this.manifests.set(digest.value, manifest);
    return manifest ?? undefined;
  }

  // ---- untagged manifests --------------------------------------------------------

  private async removeUntagged(repository: string, revisions: readonly Revision[]): Promise<void> {
    if (this.isProtected(repository)) return;
    for (const revision of revisions) {
      if (this.isKept(repository, revision.digest)) continue;
      const manifestBlob = blobDataPath(revision.digest);
      if (await this.usedSinceCutoff(manifestBlob)) {
        await this.markManifest(repository, revision.digest);
        continue;
      }
      if (this.dryRun) {
        this.report.untaggedRemoved.push({ repository, digest: revision.digest.value });
        continue;
      }
      // A push that named this manifest (a new index, or the same manifest again)
      // touched its blob: then it stays, with everything it references.
      const result = await this.driver.reclaim(revisionLinkDirectory(repository, revision.digest), (lastUsed) => this.usedSinceCutoff(manifestBlob, lastUsed));
      if (result === 'in-use') {
        await this.markManifest(repository, revision.digest);
        this.report.restored += 1;
      } else if (result === 'deleted') {
        this.report.untaggedRemoved.push({ repository, digest: revision.digest.value });
      }
    }
  }

  // ---- blobs ---------------------------------------------------------------------

  private async sweepBlobs(): Promise<void> {
    const unmarked: Array<{ digest: Digest; size: number; modifiedMs: number }> = [];
    for await (const file of this.driver.walk(BLOBS_ROOT)) {
      const digest = blobOfDataPath(file.path);
      if (!digest) continue;
      this.report.blobs += 1;
      this.stored.add(digest.value);
      if (!this.marked.has(digest.value)) unmarked.push({ digest, size: file.size, modifiedMs: file.modifiedMs });
    }
    await mapLimit(unmarked, CONCURRENCY, (blob) => this.sweepBlob(blob.digest, blob.size, blob.modifiedMs));
    this.report.deleted.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }

  /**
   * `modifiedMs` is the blob's last write as the walk saw it: newer than the cutoff, it
   * stays. Otherwise its last use (a touch may be newer than the write) is looked at, and
   * the reclaim decides for good: its check runs after the claim.
   */
  private async sweepBlob(digest: Digest, size: number, modifiedMs: number): Promise<void> {
    const data = blobDataPath(digest);
    const usedMs = modifiedMs >= this.cutoff ? modifiedMs : await this.driver.lastUsed(data);
    if (usedMs === undefined) return;
    if (usedMs >= this.cutoff) {
      this.report.keptRecent += 1;
      return;
    }
    if (this.dryRun) {
      this.report.deleted.push({ digest: digest.value, size });
      this.report.bytesFreed += size;
      return;
    }
    const hooks = this.options.hooks;
    await hooks?.beforeTrash?.(digest.value);
    const result = await this.driver.reclaim(blobDirectory(digest), (lastUsed) => this.usedSinceCutoff(data, lastUsed), {
      afterClaim: async () => hooks?.afterTrash?.(digest.value),
    });
    if (result === 'in-use') {
      // Touched between our look and the claim: a push is using it.
      this.report.restored += 1;
    } else if (result === 'deleted') {
      this.report.deleted.push({ digest: digest.value, size });
      this.report.bytesFreed += size;
    }
  }

  // ---- layer links ---------------------------------------------------------------

  private async removeDanglingLayerLinks(repository: string): Promise<void> {
    if (this.isProtected(repository)) return;
    const deleted = new Set(this.report.deleted.map((d) => d.digest));
    for (const digest of await this.linkedLayers(repository)) {
      const data = blobDataPath(digest);
      // The sweep's walk saw what is stored (less what it deleted); only a link to a blob
      // it did not see is looked at again: the blob may have arrived since.
      if (this.stored.has(digest.value) && !deleted.has(digest.value)) continue;
      if (!this.dryRun && (await this.driver.stat(data)) !== undefined) continue;
      const dir = layerLinkDirectory(repository, digest);
      if (await this.usedSinceCutoff(`${dir}/link`)) continue;
      if (this.dryRun) {
        this.report.layerLinksRemoved += 1;
        continue;
      }
      // An upload lands its blob before its link: a blob that exists now means the
      // link may be a fresh one.
      const result = await this.driver.reclaim(dir, async (lastUsed) => (await lastUsed(data)) !== undefined);
      if (result === 'deleted') this.report.layerLinksRemoved += 1;
    }
  }

  /** The blobs a repository's `_layers` links name (by their directory names). */
  private async linkedLayers(repository: string): Promise<Digest[]> {
    const digests: Digest[] = [];
    for (const algorithm of SUPPORTED_ALGORITHMS) {
      for (const entry of await this.driver.list(`${repositoryPath(repository)}/_layers/${algorithm}`)) {
        const digest = entry.isDirectory ? parseDigest(`${algorithm}:${entry.name}`) : undefined;
        if (digest) digests.push(digest);
      }
    }
    return digests;
  }
}
