// Mark-and-sweep garbage collection over distribution's layout, safe while a Berth
// registry serves pushes on the same directory ("online").
//
// The protocol rests on one rule the storage code keeps: every push path that relies on
// a blob that already exists TOUCHES it (sets its mtime to now) before linking it:
// manifest PUT touches every blob and child manifest it names, a mount touches, an
// upload that finds its blob present touches it, a finished upload lands with a fresh
// mtime, and HEAD on a blob (how pushers decide to skip an upload) touches it. So:
//
//  1. An exclusive lock under docker/registry/v2/_berth/ (registry:2 never looks
//     there) keeps two collections apart. T0 is taken after it is held.
//  2. Mark from every manifest revision of every repository; with deleteUntagged, only
//     from tagged manifests, their index children, referrers of kept manifests and
//     revisions whose link is younger than T0 - grace. A manifest marks itself, its
//     config, its layers and its children.
//  3. With deleteUntagged, unmarked revision links older than T0 - grace are moved to a
//     trash directory and re-checked: if their manifest blob was touched meanwhile (a
//     push named it), they are put back and marked.
//  4. Each unmarked blob whose data is older than T0 - grace is moved (one rename of
//     its directory, atomic on one filesystem) into the trash, then re-stat'ed: if its
//     mtime moved, a push touched it in between, so it goes back (or, when the path was
//     recreated meanwhile by an upload of the same bytes, the trash copy is dropped).
//     Only then is it deleted. A touch that comes after the rename fails, and the push
//     re-uploads or fails cleanly with MANIFEST_BLOB_UNKNOWN: no manifest ever
//     names a blob that is gone.
//  5. _layers links whose blob is gone are removed, with the same move-and-recheck.
//
// The grace period covers pushes whose blobs were uploaded before T0 and whose manifest
// arrives later (nothing touches a blob between its upload and the manifest PUT).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseDigest, SUPPORTED_ALGORITHMS, type Digest } from '../oci/digest.js';
import { parseManifest, type Manifest } from '../oci/manifest.js';
import { readLink } from './blobs.js';
import type { FsRoot } from './fs-root.js';
import { BERTH_STATE_DIR, recordGcRun } from './gc-status.js';
import {
  BLOBS_ROOT,
  blobDataPath,
  blobDirectory,
  layerLinkDirectory,
  repositoryPath,
  revisionLinkDirectory,
  revisionsDirectory,
  tagCurrentLinkPath,
  tagsDirectory,
  V2_ROOT,
} from './layout.js';
import { RepositoryCatalog } from './repository-catalog.js';

export const DEFAULT_GC_GRACE_MS = 10 * 60_000;
const LOCK_PATH = `${BERTH_STATE_DIR}/gc.lock`;
const TRASH_ROOT = `${BERTH_STATE_DIR}/trash`;

export interface GcHooks {
  /** After marking, before anything is removed (tests interleave pushes here). */
  afterMark?(): Promise<void>;
  /** After a blob was found unmarked and old, before it is moved to the trash. */
  beforeTrash?(digest: string): Promise<void>;
  /** After a blob's directory went to the trash, before it is re-checked. */
  afterTrash?(digest: string): Promise<void>;
}

export interface GcOptions {
  readonly dryRun?: boolean;
  readonly deleteUntagged?: boolean;
  /** Blobs and revision links younger than this are never removed. */
  readonly graceMs?: number;
  readonly now?: () => number;
  readonly hooks?: GcHooks;
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
  /** Moved aside, then found touched by a push and put back. */
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

interface LockContent {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly startedAt: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The data dir's GC lock; a lock whose holder died on this host is broken. */
async function acquireLock(fs: FsRoot): Promise<() => Promise<void>> {
  const mine: LockContent = { pid: process.pid, host: hostname(), token: randomBytes(12).toString('hex'), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await fs.createExclusive(LOCK_PATH, JSON.stringify(mine))) {
      return async () => {
        const held = await readLock(fs);
        if (held?.token === mine.token) await fs.removeTree(LOCK_PATH);
      };
    }
    const holder = await readLock(fs);
    if (holder && (holder.host !== mine.host || processAlive(holder.pid))) {
      throw new GcBusyError(
        `another garbage collection holds ${fs.absolute(LOCK_PATH)} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`,
      );
    }
    // Dead holder (or an unreadable lock): move it aside, and only drop it if it is
    // still the one we judged stale; a lock taken meanwhile is put back.
    const aside = `${LOCK_PATH}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await fs.rename(LOCK_PATH, aside);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') continue;
      throw error;
    }
    const moved = await readLockAt(fs, aside);
    if (holder && moved && moved.token !== holder.token) {
      await fs.rename(aside, LOCK_PATH).catch(() => undefined);
      continue;
    }
    await fs.removeTree(aside);
  }
  throw new GcBusyError(`could not take the lock ${fs.absolute(LOCK_PATH)}`);
}

async function readLock(fs: FsRoot): Promise<LockContent | undefined> {
  return readLockAt(fs, LOCK_PATH);
}

async function readLockAt(fs: FsRoot, relativePath: string): Promise<LockContent | undefined> {
  const raw = await fs.readFile(relativePath).catch(() => undefined);
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as Partial<LockContent>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.token !== 'string') return undefined;
    return { pid: parsed.pid, host: parsed.host, token: parsed.token, startedAt: String(parsed.startedAt ?? '') };
  } catch {
    return undefined;
  }
}

interface Revision {
  readonly digest: Digest;
  readonly linkMtimeMs: number;
}

export async function collectGarbage(fs: FsRoot, options: GcOptions = {}): Promise<GcReport> {
  if (!(await fs.stat(V2_ROOT))?.isDirectory()) {
    throw new NotARegistryError(`${fs.root} is not a registry data directory (no ${V2_ROOT})`);
  }
  const dryRun = options.dryRun ?? false;
  const release = dryRun ? undefined : await acquireLock(fs);
  try {
    return await new Collector(fs, options).run();
  } finally {
    await release?.();
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
  private readonly trashRun: string;
  private cutoff = 0;
  private readonly report: GcReport;

  constructor(
    private readonly fs: FsRoot,
    private readonly options: GcOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.dryRun = options.dryRun ?? false;
    this.deleteUntagged = options.deleteUntagged ?? false;
    this.graceMs = options.graceMs ?? DEFAULT_GC_GRACE_MS;
    this.trashRun = `${TRASH_ROOT}/${Date.now()}-${randomBytes(4).toString('hex')}`;
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
    if (!this.dryRun) await this.recoverTrash();
    const started = this.now();
    (this.report as { startedAt: string }).startedAt = new Date(started).toISOString();
    this.cutoff = started - this.graceMs;

    const repositories = await new RepositoryCatalog(this.fs, 0).list();
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
    if (!this.dryRun) {
      await this.fs.removeTree(this.trashRun);
      await recordGcRun(this.fs, this.report.bytesFreed);
    }
    this.report.durationMs = this.now() - started;
    return this.report;
  }

  // ---- marking -------------------------------------------------------------------

  private async listRevisions(repository: string): Promise<Revision[]> {
    const found: Revision[] = [];
    for (const algorithm of SUPPORTED_ALGORITHMS) {
      for (const entry of await this.fs.readdir(`${revisionsDirectory(repository)}/${algorithm}`)) {
        if (!entry.isDirectory()) continue;
        const digest = parseDigest(`${algorithm}:${entry.name}`);
        if (!digest) continue;
        const linkPath = `${revisionLinkDirectory(repository, digest)}/link`;
        const [linked, stats] = await Promise.all([readLink(this.fs, linkPath), this.fs.stat(linkPath)]);
        if (!linked || !stats) continue;
        found.push({ digest: linked, linkMtimeMs: stats.mtimeMs });
      }
    }
    return found;
  }

  private async markRepository(repository: string, revisions: readonly Revision[]): Promise<void> {
    if (!this.deleteUntagged) {
      for (const revision of revisions) await this.markManifest(repository, revision.digest);
      return;
    }
    for (const entry of await this.fs.readdir(tagsDirectory(repository))) {
      if (!entry.isDirectory()) continue;
      const digest = await readLink(this.fs, tagCurrentLinkPath(repository, entry.name));
      if (digest) await this.markManifest(repository, digest);
    }
    for (const revision of revisions) {
      if (revision.linkMtimeMs >= this.cutoff) await this.markManifest(repository, revision.digest);
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
    const bytes = await this.fs.readFile(blobDataPath(digest));
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
    for (const revision of revisions) {
      if (this.isKept(repository, revision.digest)) continue;
      if (await this.touchedSinceCutoff(revision.digest)) {
        await this.markManifest(repository, revision.digest);
        continue;
      }
      if (this.dryRun) {
        this.report.untaggedRemoved.push({ repository, digest: revision.digest.value });
        continue;
      }
      const original = revisionLinkDirectory(repository, revision.digest);
      const trashed = await this.moveToTrash(original);
      if (!trashed) continue;
      // A push that named this manifest (a new index, or the same manifest again)
      // touched its blob: then it stays, with everything it references.
      if (await this.touchedSinceCutoff(revision.digest)) {
        await this.restore(trashed, original);
        await this.markManifest(repository, revision.digest);
        this.report.restored += 1;
        continue;
      }
      await this.fs.removeTree(trashed);
      this.report.untaggedRemoved.push({ repository, digest: revision.digest.value });
    }
  }

  private async touchedSinceCutoff(digest: Digest): Promise<boolean> {
    const stats = await this.fs.stat(blobDataPath(digest));
    return stats !== undefined && stats.mtimeMs >= this.cutoff;
  }

  // ---- blobs ---------------------------------------------------------------------

  private async sweepBlobs(): Promise<void> {
    for (const algorithm of SUPPORTED_ALGORITHMS) {
      for (const prefix of await this.fs.readdir(`${BLOBS_ROOT}/${algorithm}`)) {
        if (!prefix.isDirectory()) continue;
        for (const entry of await this.fs.readdir(`${BLOBS_ROOT}/${algorithm}/${prefix.name}`)) {
          const digest = entry.isDirectory() ? parseDigest(`${algorithm}:${entry.name}`) : undefined;
          if (!digest || digest.hex.slice(0, 2) !== prefix.name) continue;
          this.report.blobs += 1;
          if (!this.marked.has(digest.value)) await this.sweepBlob(digest);
        }
      }
    }
  }

  private async sweepBlob(digest: Digest): Promise<void> {
    const seen = await this.fs.stat(blobDataPath(digest));
    if (!seen?.isFile()) return;
    if (seen.mtimeMs >= this.cutoff) {
      this.report.keptRecent += 1;
      return;
    }
    if (this.dryRun) {
      this.report.deleted.push({ digest: digest.value, size: seen.size });
      this.report.bytesFreed += seen.size;
      return;
    }
    await this.options.hooks?.beforeTrash?.(digest.value);
    const original = blobDirectory(digest);
    const trashed = await this.moveToTrash(original);
    if (!trashed) return;
    await this.options.hooks?.afterTrash?.(digest.value);
    const now = await this.fs.stat(`${trashed}/data`);
    if (!now || now.mtimeMs !== seen.mtimeMs || now.mtimeMs >= this.cutoff) {
      // Touched between our stat and the rename: a push is using it.
      await this.restore(trashed, original);
      this.report.restored += 1;
      return;
    }
    await this.fs.removeTree(trashed);
    this.report.deleted.push({ digest: digest.value, size: seen.size });
    this.report.bytesFreed += seen.size;
  }

  // ---- layer links ---------------------------------------------------------------

  private async removeDanglingLayerLinks(repository: string): Promise<void> {
    const deleted = this.dryRun ? new Set(this.report.deleted.map((d) => d.digest)) : undefined;
    for (const algorithm of SUPPORTED_ALGORITHMS) {
      for (const entry of await this.fs.readdir(`${repositoryPath(repository)}/_layers/${algorithm}`)) {
        const digest = entry.isDirectory() ? parseDigest(`${algorithm}:${entry.name}`) : undefined;
        if (!digest) continue;
        const present = (await this.fs.stat(blobDataPath(digest))) !== undefined && !deleted?.has(digest.value);
        if (present) continue;
        const original = layerLinkDirectory(repository, digest);
        const link = await this.fs.stat(`${original}/link`);
        if (link && link.mtimeMs >= this.cutoff) continue;
        if (this.dryRun) {
          this.report.layerLinksRemoved += 1;
          continue;
        }
        const trashed = await this.moveToTrash(original);
        if (!trashed) continue;
        // An upload lands its blob before its link: a blob that exists now means the
        // link we moved may be a fresh one.
        if (await this.fs.stat(blobDataPath(digest))) {
          await this.restore(trashed, original);
          continue;
        }
        await this.fs.removeTree(trashed);
        this.report.layerLinksRemoved += 1;
      }
    }
  }

  // ---- trash ---------------------------------------------------------------------

  private trashPathOf(original: string): string {
    return `${this.trashRun}/${original.slice(V2_ROOT.length + 1)}`;
  }

  /** Moves a directory into this run's trash; undefined when it was already gone. */
  private async moveToTrash(original: string): Promise<string | undefined> {
    const trashed = this.trashPathOf(original);
    try {
      await this.fs.rename(original, trashed);
      return trashed;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Puts a trashed directory back; if its path was recreated meanwhile, that copy wins. */
  private async restore(trashed: string, original: string): Promise<void> {
    try {
      await this.fs.rename(trashed, original);
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      await this.fs.removeTree(trashed);
    }
  }

  /** Puts back whatever an interrupted collection left in the trash (kept, not lost). */
  private async recoverTrash(): Promise<void> {
    let recovered = 0;
    for (const run of await this.fs.readdir(TRASH_ROOT)) {
      if (!run.isDirectory()) continue;
      const runDir = `${TRASH_ROOT}/${run.name}`;
      for (const unit of await this.trashUnits(runDir)) {
        await this.restore(unit, `${V2_ROOT}/${unit.slice(runDir.length + 1)}`);
        recovered += 1;
      }
      await this.fs.removeTree(runDir);
    }
    if (recovered > 0) this.report.warnings.push(`put back ${recovered} item(s) an interrupted collection left in ${TRASH_ROOT}`);
  }

  /** Directories holding a `data` or `link` file: the units GC moves. */
  private async trashUnits(dir: string, depth = 0): Promise<string[]> {
    const entries = await this.fs.readdir(dir);
    if (entries.some((e) => e.isFile() && (e.name === 'data' || e.name === 'link'))) return [dir];
    if (depth > 64) return [];
    const units: string[] = [];
    for (const entry of entries) if (entry.isDirectory()) units.push(...(await this.trashUnits(`${dir}/${entry.name}`, depth + 1)));
    return units;
  }
}
