// The filesystem driver: a data directory on a local disk, distribution's `filesystem`
// driver. Every access goes through FsRoot, which refuses symlinks inside the tree
// (O_NOFOLLOW), so a planted link cannot lead reads or writes out of the data directory.
//
// Its guarantees beyond the driver contract:
// - a write is staged, fsynced and renamed into place, and the rename is made durable
//   with an fsync of its directory;
// - new directories appear together with their content: a put or move whose target
//   directory does not exist yet builds the missing part in a staging directory and
//   renames it into place whole, so a crash never leaves an empty link directory (which
//   registry:2 and fsck would take for a broken link);
// - online GC is rename-based: reclaim() moves a directory into a trash area (one
//   atomic rename) and re-checks it there, so a push's touch either lands before the
//   move (and the object is put back) or fails (and the push re-uploads).
import { createHash, randomUUID } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { access } from 'node:fs/promises';
import { removeIfUnchanged } from '../../util/stale-lock.js';
import type {
  ByteRange,
  ContentSource,
  DirectoryEntry,
  FileInfo,
  FileWriter,
  MarkedDirectory,
  ReclaimHooks,
  ReclaimResult,
  StorageDriver,
  WalkEntry,
} from './driver.js';
import { DirectoryFinder } from './fs-directory-finder.js';
import { FsRoot, isNotFound } from './fs-root.js';
import { FsWriter } from './fs-writer.js';

/** A directory's mtime this recent is not trusted as a listing version (same-tick changes). */
const RACY_WINDOW_MS = 2000;
/** Small objects up to this size are read with synchronous calls (see FsRoot.readSmallFileSync). */
const SYNC_READ_BYTES = 64 * 1024;

export interface FilesystemDriverOptions {
  /** Where the driver keeps its staging and trash areas, relative to the root. */
  readonly stateDir: string;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The target of a rename exists and is not an empty directory. */
export function isTargetExists(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

function contentVersion(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly location: string;
  readonly listsInBulk = false;
  readonly fs: FsRoot;
  private readonly staging: string;
  private readonly trash: string;
  private readonly finder: DirectoryFinder;

  /** `root` must be a real path (no symlinks in it). */
  constructor(root: string, options: FilesystemDriverOptions) {
    this.fs = new FsRoot(root);
    this.location = root;
    this.staging = `${options.stateDir}/staging`;
    this.trash = `${options.stateDir}/trash`;
    this.finder = new DirectoryFinder(this.fs);
  }

  // ---- small objects -------------------------------------------------------------

  async getContent(path: string): Promise<Buffer | undefined> {
    // Links and manifests sit on every request: a synchronous read of a small file costs
    // microseconds, far less than the thread-pool round trips of an async readFile.
    const small = this.fs.readSmallFileSync(path, SYNC_READ_BYTES + 1);
    if (small === undefined || small.length <= SYNC_READ_BYTES) return small;
    return this.fs.readFile(path);
  }

  async putContent(path: string, content: string | Uint8Array): Promise<void> {
    await this.place(path, (at) => this.fs.writeFileAtomic(at, content));
  }

  createExclusive(path: string, content: string | Uint8Array): Promise<boolean> {
    return this.fs.createExclusive(path, typeof content === 'string' ? content : Buffer.from(content).toString('utf8'));
  }

  async getVersioned(path: string): Promise<{ content: Buffer; version: string } | undefined> {
    const content = await this.fs.readFile(path);
    return content && { content, version: contentVersion(content) };
  }

  /**
   * Compare, then replace atomically (rename over). Not one atomic step: only a lease's
   * own holder replaces it, and others only ever break a stale one (deleteIfVersion).
   */
  async putIfVersion(path: string, content: string | Uint8Array, version: string): Promise<boolean> {
    if ((await this.getVersioned(path))?.version !== version) return false;
    await this.fs.writeFileAtomic(path, content);
    return true;
  }

  async deleteIfVersion(path: string, version: string): Promise<boolean> {
    await this.fs.assertNoSymlinks(path.slice(0, path.lastIndexOf('/')));
    return removeIfUnchanged(this.fs.absolute(path), (content) => contentVersion(content) === version);
  }

  // ---- content -------------------------------------------------------------------

  async open(path: string, range?: ByteRange): Promise<ContentSource | undefined> {
    const handle = await this.fs.openForRead(path);
    if (!handle) return undefined;
    const stats = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (!stats.isFile()) {
      await handle.close();
      return undefined;
    }
    const start = range?.start ?? 0;
    const size = range ? Math.max(0, Math.min(range.end, stats.size - 1) - start + 1) : stats.size;
    return { kind: 'file', handle, start, size };
  }

  async redirectUrl(): Promise<string | undefined> {
    return undefined;
  }

  async create(path: string): Promise<FileWriter> {
    await this.place(path, async (at) => {
      await this.fs.mkdirp(at.slice(0, at.lastIndexOf('/')));
      await (await this.fs.openForWrite(at, true)).close();
    });
    return this.writerAt(path, 0);
  }

  async resume(path: string): Promise<FileWriter | undefined> {
    const stats = this.fs.statSync(path);
    return stats?.isFile() ? this.writerAt(path, stats.size) : undefined;
  }

  private writerAt(path: string, offset: number): FileWriter {
    return new FsWriter({ open: () => this.fs.openForWrite(path, false), remove: () => this.fs.removeTree(path) }, offset);
  }

  // ---- metadata ------------------------------------------------------------------

  async stat(path: string): Promise<FileInfo | undefined> {
    const stats = this.fs.statSync(path);
    return stats?.isFile() ? { size: stats.size, modifiedMs: stats.mtimeMs } : undefined;
  }

  async list(path: string): Promise<DirectoryEntry[]> {
    return (await this.fs.readdir(path)).map((entry) => ({ name: entry.name, isDirectory: entry.isDirectory() }));
  }

  async exists(path: string): Promise<boolean> {
    return this.fs.statSync(path) !== undefined;
  }

  async listingVersion(path: string): Promise<number | undefined> {
    const stats = this.fs.statSync(path);
    if (!stats?.isDirectory() || Date.now() - stats.mtimeMs <= RACY_WINDOW_MS) return undefined;
    return stats.mtimeMs;
  }

  async *walk(path: string): AsyncIterable<WalkEntry> {
    const pending = [path];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      for (const entry of await this.fs.readdir(dir)) {
        const child = `${dir}/${entry.name}`;
        if (entry.isDirectory()) pending.push(child);
        else if (entry.isFile()) {
          const stats: Stats | undefined = await this.fs.stat(child);
          if (stats?.isFile()) yield { path: child, size: stats.size, modifiedMs: stats.mtimeMs };
        }
      }
    }
  }

  findMarkedDirectories(path: string): Promise<MarkedDirectory[]> {
    return this.finder.find(path);
  }

  // ---- moves and deletes -----------------------------------------------------------

  async move(from: string, to: string): Promise<void> {
    const source = await this.fs.stat(from);
    if (!source) throw Object.assign(new Error(`nothing to move at ${from}`), { code: 'ENOENT' });
    // A moved file counts as written now: an upload's bytes keep the mtime of their last
    // write, which may be older than an online GC's grace period (a client that paused
    // before its final PUT), and GC must not take a blob that is just arriving.
    if (source.isFile()) await this.fs.touch(from);
    await this.place(to, (at) => this.fs.rename(from, at));
  }

  delete(path: string): Promise<void> {
    return this.fs.removeTree(path);
  }

  /**
   * Makes `target` appear with any directories it needs in one step: when some of them
   * are missing, `produce` builds the target inside a staging directory, which is then
   * renamed into place whole. If another writer created the directory meanwhile, the
   * staged target is renamed into it instead.
   */
  private async place(target: string, produce: (at: string) => Promise<void>): Promise<void> {
    const missing = this.topmostMissingDirectory(target);
    if (missing === undefined) {
      await produce(target);
      return;
    }
    const stage = `${this.staging}/${randomUUID()}`;
    const stagedTop = `${stage}/d`;
    const stagedTarget = `${stagedTop}${target.slice(missing.length)}`;
    try {
      await produce(stagedTarget);
      try {
        await this.fs.rename(stagedTop, missing);
      } catch (error) {
        if (!isTargetExists(error)) throw error;
        await this.place(target, (at) => this.fs.rename(stagedTarget, at));
      }
    } finally {
      await this.fs.removeTree(stage);
    }
  }

  /** The outermost directory on the way to `target` that does not exist; undefined when all do. */
  private topmostMissingDirectory(target: string): string | undefined {
    const parts = target.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!this.fs.statSync(dir)) return dir;
    }
    return undefined;
  }

  // ---- online GC -------------------------------------------------------------------

  async touch(path: string): Promise<FileInfo | undefined> {
    if (!(await this.fs.touch(path))) return undefined;
    return this.stat(path);
  }

  async lastUsed(path: string): Promise<number | undefined> {
    return (await this.fs.stat(path))?.mtimeMs;
  }

  async reclaim(dir: string, keep: (lastUsed: (path: string) => Promise<number | undefined>) => Promise<boolean>, hooks?: ReclaimHooks): Promise<ReclaimResult> {
    // The trash entry records where its directory came from before the directory moves
    // in, so a collection interrupted at any point can be undone (recoverReclaims).
    const trashed = `${this.trash}/${randomUUID()}`;
    await this.fs.writeFileAtomic(`${trashed}/origin`, dir);
    try {
      await this.fs.rename(dir, `${trashed}/d`);
    } catch (error) {
      await this.fs.removeTree(trashed);
      if (errorCode(error) === 'ENOENT') return 'gone';
      throw error;
    }
    // Inside the trash, the moved objects are looked up where they now are.
    const lookup = (path: string): Promise<number | undefined> =>
      this.lastUsed(path === dir || path.startsWith(`${dir}/`) ? `${trashed}/d${path.slice(dir.length)}` : path);
    await hooks?.afterClaim?.();
    if (await keep(lookup)) {
      await this.restore(`${trashed}/d`, dir);
      await this.fs.removeTree(trashed);
      return 'in-use';
    }
    await this.fs.removeTree(trashed);
    return 'deleted';
  }

  /** Puts a trashed directory back; if its path was recreated meanwhile, that copy wins. */
  private async restore(trashed: string, original: string): Promise<void> {
    try {
      await this.place(original, (at) => this.fs.rename(trashed, at));
    } catch (error) {
      if (!isTargetExists(error)) throw error;
    }
  }

  async recoverReclaims(): Promise<number> {
    let recovered = 0;
    for (const entry of await this.fs.readdir(this.trash)) {
      const trashed = `${this.trash}/${entry.name}`;
      const original = (await this.fs.readFile(`${trashed}/origin`))?.toString('utf8');
      if (original !== undefined && (await this.fs.stat(`${trashed}/d`))) {
        await this.restore(`${trashed}/d`, original);
        recovered += 1;
      }
      await this.fs.removeTree(trashed);
    }
    return recovered;
  }

  async purgeAbandonedWrites(maxAgeMs: number): Promise<{ removed: number }> {
    let removed = 0;
    const now = Date.now();
    for (const entry of await this.fs.readdir(this.staging)) {
      const stats = await this.fs.stat(`${this.staging}/${entry.name}`);
      if (stats && now - stats.mtimeMs > maxAgeMs) {
        await this.fs.removeTree(`${this.staging}/${entry.name}`);
        removed += 1;
      }
    }
    return { removed };
  }

  async checkHealth(): Promise<void> {
    await access(this.fs.root, constants.R_OK | constants.W_OK);
  }
}

export { isNotFound };
