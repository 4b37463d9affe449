// All filesystem access under the data directory goes through FsRoot. It joins only
// relative paths built by layout.ts, refuses to follow symlinks inside the tree (so a
// planted link cannot lead reads or writes out of the data dir), and makes every
// visible write atomic: temp file, fsync, rename, fsync of the directory.
import { closeSync, constants, createReadStream, lstatSync, openSync, readdirSync, readSync, type Dirent, type ReadStream, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory, writeFileAtomic } from '../../util/atomic-file.js';

/** Raised when a path inside the data dir runs through a symlink. */
export class SymlinkRefusedError extends Error {
  readonly code = 'ESYMLINK';
  constructor(readonly relativePath: string) {
    super(`refusing to follow symlink inside the data directory: ${relativePath}`);
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** How long a directory's "no symlink on the way here" check is trusted. */
const VERIFIED_DIRECTORY_TTL_MS = 10_000;
const MAX_VERIFIED_DIRECTORIES = 50_000;

export class FsRoot {
  private readonly verifiedDirectories = new Map<string, number>();

  /** `root` must already be a real path (no symlinks in it). */
  constructor(readonly root: string) {}

  absolute(relativePath: string): string {
    return path.join(this.root, relativePath);
  }

  /**
   * Verifies that no component of the directory `relativeDir` is a symlink. Missing
   * components are fine (they will be created as real directories). Results are cached
   * briefly so hot paths pay for it once.
   */
  async assertNoSymlinks(relativeDir: string): Promise<void> {
    const now = Date.now();
    const cached = this.verifiedDirectories.get(relativeDir);
    if (cached !== undefined && cached > now) return;
    const parts = relativeDir.split('/').filter((p) => p !== '');
    let current = '';
    for (const part of parts) {
      current = current === '' ? part : `${current}/${part}`;
      const until = this.verifiedDirectories.get(current);
      if (until !== undefined && until > now) continue;
      let stats: Stats;
      try {
        stats = await lstat(this.absolute(current));
      } catch (error) {
        if (isNotFound(error)) return; // the rest does not exist yet
        throw error;
      }
      if (stats.isSymbolicLink()) throw new SymlinkRefusedError(current);
      this.rememberVerified(current, now);
    }
  }

  /**
   * assertNoSymlinks with synchronous lstat calls, for the request hot path: once the
   * directories are in the verified cache (the common case) it makes no call at all.
   */
  assertNoSymlinksSync(relativeDir: string): void {
    const now = Date.now();
    const cached = this.verifiedDirectories.get(relativeDir);
    if (cached !== undefined && cached > now) return;
    const parts = relativeDir.split('/').filter((p) => p !== '');
    let current = '';
    for (const part of parts) {
      current = current === '' ? part : `${current}/${part}`;
      const until = this.verifiedDirectories.get(current);
      if (until !== undefined && until > now) continue;
      let stats: Stats;
      try {
        stats = lstatSync(this.absolute(current));
      } catch (error) {
        if (isNotFound(error)) return;
        throw error;
      }
      if (stats.isSymbolicLink()) throw new SymlinkRefusedError(current);
      this.rememberVerified(current, now);
    }
  }

  private rememberVerified(relativeDir: string, now: number): void {
    if (this.verifiedDirectories.size >= MAX_VERIFIED_DIRECTORIES) this.verifiedDirectories.clear();
    this.verifiedDirectories.set(relativeDir, now + VERIFIED_DIRECTORY_TTL_MS);
  }

  /** Opens a file for reading without following a symlink anywhere on its path. */
  async openForRead(relativePath: string): Promise<FileHandle | undefined> {
    await this.assertNoSymlinks(path.posix.dirname(relativePath));
    try {
      return await open(this.absolute(relativePath), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new SymlinkRefusedError(relativePath);
      throw error;
    }
  }

  /** Reads a whole (small) file; undefined when it does not exist. */
  async readFile(relativePath: string): Promise<Buffer | undefined> {
    const handle = await this.openForRead(relativePath);
    if (!handle) return undefined;
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /**
   * Reads a tiny file (a link file: `sha256:<hex>`) with synchronous calls: open, one
   * read, close. On a local disk these take microseconds, far less than the four
   * thread-pool round trips (and event-loop wake-ups) of an async readFile, and they
   * sit on every manifest and blob request. At most `maxBytes` are read; a longer file
   * is not a link and comes back truncated, which no digest parser accepts.
   */
  readSmallFileSync(relativePath: string, maxBytes = 512): Buffer | undefined {
    this.assertNoSymlinksSync(path.posix.dirname(relativePath));
    let fd: number;
    try {
      fd = openSync(this.absolute(relativePath), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new SymlinkRefusedError(relativePath);
      throw error;
    }
    try {
      const buffer = Buffer.allocUnsafe(maxBytes);
      const length = readSync(fd, buffer, 0, maxBytes, 0);
      return buffer.subarray(0, length);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * stat() with one synchronous lstat call (hot path: blob sizes, tag directories). A
   * directory found here joins the verified cache: it was just seen not to be a link.
   */
  statSync(relativePath: string): Stats | undefined {
    this.assertNoSymlinksSync(path.posix.dirname(relativePath));
    try {
      const stats = lstatSync(this.absolute(relativePath));
      if (stats.isSymbolicLink()) throw new SymlinkRefusedError(relativePath);
      if (stats.isDirectory()) this.rememberVerified(relativePath, Date.now());
      return stats;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** lstat; undefined when missing. A symlink is reported as an error, never followed. */
  async stat(relativePath: string): Promise<Stats | undefined> {
    await this.assertNoSymlinks(path.posix.dirname(relativePath));
    try {
      const stats = await lstat(this.absolute(relativePath));
      if (stats.isSymbolicLink()) throw new SymlinkRefusedError(relativePath);
      return stats;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Directory entries, or [] when the directory does not exist. Symlinks are left out. */
  async readdir(relativeDir: string): Promise<Dirent[]> {
    await this.assertNoSymlinks(relativeDir);
    try {
      const entries = await readdir(this.absolute(relativeDir), { withFileTypes: true });
      return entries.filter((entry) => !entry.isSymbolicLink());
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  /** readdir() with one synchronous call, for walkers that slice their work (see RepositoryCatalog). */
  readdirSync(relativeDir: string): Dirent[] {
    this.assertNoSymlinksSync(relativeDir);
    try {
      return readdirSync(this.absolute(relativeDir), { withFileTypes: true }).filter((entry) => !entry.isSymbolicLink());
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  async mkdirp(relativeDir: string): Promise<void> {
    await this.assertNoSymlinks(relativeDir);
    await mkdir(this.absolute(relativeDir), { recursive: true });
  }

  /** Writes a file so that readers see either nothing or all of it. */
  async writeFileAtomic(relativePath: string, data: string | Uint8Array): Promise<void> {
    await this.mkdirp(path.posix.dirname(relativePath));
    await writeFileAtomic(this.absolute(relativePath), data);
  }

  /**
   * Creates a file that must not exist yet (O_EXCL), written and synced: a lock file.
   * false when it already exists.
   */
  async createExclusive(relativePath: string, data: string, mode = 0o644): Promise<boolean> {
    const dir = path.posix.dirname(relativePath);
    await this.mkdirp(dir);
    let handle: FileHandle;
    try {
      handle = await open(this.absolute(relativePath), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      // open() applies the umask; a secret file needs exactly its mode.
      if (mode !== 0o644) await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.syncDirectory(dir);
    return true;
  }

  /** Atomic rename inside the data dir, then fsync of the target's directory. */
  async rename(fromRelative: string, toRelative: string): Promise<void> {
    const targetDir = path.posix.dirname(toRelative);
    await this.assertNoSymlinks(path.posix.dirname(fromRelative));
    await this.mkdirp(targetDir);
    await rename(this.absolute(fromRelative), this.absolute(toRelative));
    await this.syncDirectory(targetDir);
  }

  /** fsync of a directory makes a rename or create in it durable. */
  syncDirectory(relativeDir: string): Promise<void> {
    return syncDirectory(this.absolute(relativeDir));
  }

  async removeTree(relativePath: string): Promise<void> {
    await this.assertNoSymlinks(path.posix.dirname(relativePath));
    await rm(this.absolute(relativePath), { recursive: true, force: true });
  }

  /** Sets mtime to now; false when the file is gone. GC reads mtime as "recently used". */
  async touch(relativePath: string): Promise<boolean> {
    await this.assertNoSymlinks(path.posix.dirname(relativePath));
    const now = new Date();
    try {
      await utimes(this.absolute(relativePath), now, now);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** A read stream over [start, end] (inclusive), opened without following symlinks. */
  async createReadStream(relativePath: string, range?: { start: number; end: number }): Promise<ReadStream | undefined> {
    const handle = await this.openForRead(relativePath);
    if (!handle) return undefined;
    // 1 MiB reads: fewer syscalls and event-loop turns per byte served.
    return createReadStream('', { fd: handle, highWaterMark: 1024 * 1024, ...(range ?? {}) });
  }

  /** Opens (creating) a file for writing at explicit positions. */
  async openForWrite(relativePath: string, create: boolean): Promise<FileHandle> {
    await this.assertNoSymlinks(path.posix.dirname(relativePath));
    const flags = constants.O_WRONLY | constants.O_NOFOLLOW | (create ? constants.O_CREAT : 0);
    return open(this.absolute(relativePath), flags, 0o644);
  }
}

export { isNotFound };
