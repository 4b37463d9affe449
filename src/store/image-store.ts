// The local image store: an OCI image layout that several `berth` processes may use
// at once. The rules that make that safe:
// - blobs are immutable and appear whole (BlobStore: ingest, verify, rename);
// - index.json changes only under the store lock, read-modify-write, replaced atomically;
// - a command that is about to reference blobs first records them in its lease file
//   (under the lock), and garbage collection (also under the lock) keeps every blob an
//   index entry or a live process's lease names. A writer that records its lease after
//   a collection finds the blob gone and writes it again; one that recorded it before
//   is seen by the collection. Leases and temp files of dead processes are removed.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { appendFile, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { BlobStore } from './blob-store.js';
import { StoreError } from './errors.js';
import { processAlive } from '../util/stale-lock.js';
import { acquireLock, withLock } from './file-lock.js';
import { collectTree } from './image-tree.js';
import { readIndex, writeIndex, type IndexEntry } from './index-file.js';
import { INGEST_DIR, LEASES_DIR, LOCK_FILE, OCI_LAYOUT_FILE } from './layout.js';

export interface GarbageReport {
  readonly blobs: number;
  readonly bytes: number;
}

export class ImageStore {
  readonly blobs: BlobStore;
  private readonly lockFile: string;

  private constructor(readonly root: string) {
    this.blobs = new BlobStore(root);
    this.lockFile = path.join(root, LOCK_FILE);
  }

  /** Opens the store at `root`, creating the layout on first use. */
  static async open(root: string): Promise<ImageStore> {
    const resolved = path.resolve(root);
    try {
      await mkdir(resolved, { recursive: true });
      const info = await stat(resolved);
      if (!info.isDirectory()) throw new StoreError(`image store root ${resolved} is not a directory`);
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(`cannot use ${resolved} as the image store: ${(error as Error).message}`, 'pass another directory with --root');
    }
    const store = new ImageStore(resolved);
    await store.ensureLayoutFile();
    return store;
  }

  private async ensureLayoutFile(): Promise<void> {
    const file = path.join(this.root, OCI_LAYOUT_FILE);
    try {
      // O_EXCL: concurrent first uses race harmlessly; the content is fixed.
      const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        await handle.writeFile(`${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }

  withLock<T>(work: () => Promise<T>): Promise<T> {
    return withLock(this.lockFile, work);
  }

  /** The entries of index.json as they are now (an atomic file needs no lock to read). */
  entries(): Promise<IndexEntry[]> {
    return readIndex(this.root);
  }

  /** Read-modify-write of index.json under the lock. */
  async updateIndex<T>(mutate: (entries: IndexEntry[]) => { entries: IndexEntry[]; result: T } | Promise<{ entries: IndexEntry[]; result: T }>): Promise<T> {
    return this.withLock(async () => {
      const { entries, result } = await mutate(await readIndex(this.root));
      await writeIndex(this.root, entries);
      return result;
    });
  }

  /** A lease for a command that writes blobs before naming them. Release it when done. */
  async lease(): Promise<Lease> {
    await mkdir(path.join(this.root, LEASES_DIR), { recursive: true });
    return new Lease(this, path.join(this.root, LEASES_DIR, `${process.pid}-${randomBytes(6).toString('hex')}`));
  }

  /** Removes every blob no index entry and no live lease refers to; also dead temp files. */
  async collectGarbage(): Promise<GarbageReport> {
    return this.withLock(async () => {
      const keep = new Set<string>();
      for (const entry of await readIndex(this.root)) {
        for (const item of await collectTree(this.blobs, entry, { missing: 'skip' })) keep.add(item.descriptor.digest);
      }
      for (const digest of await this.liveLeaseDigests()) keep.add(digest);
      await this.removeDeadIngest();
      let blobs = 0;
      let bytes = 0;
      for (const blob of await this.blobs.list()) {
        if (keep.has(blob.digest)) continue;
        await this.blobs.remove(blob.digest);
        blobs += 1;
        bytes += blob.size;
      }
      return { blobs, bytes };
    });
  }

  private async liveLeaseDigests(): Promise<string[]> {
    const dir = path.join(this.root, LEASES_DIR);
    const digests: string[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(name.split('-')[0]);
      if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) {
        await rm(path.join(dir, name), { force: true, recursive: true });
        continue;
      }
      const text = await readFile(path.join(dir, name), 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line !== '') digests.push(line);
    }
    return digests;
  }

  /** Temp files and staging dirs in ingest/ whose writer (named by PID) is gone. */
  private async removeDeadIngest(): Promise<void> {
    const dir = path.join(this.root, INGEST_DIR);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
      await rm(path.join(dir, name), { force: true, recursive: true });
    }
  }

  /** For tests and callers that must hold the lock across several steps. */
  acquireLock(): Promise<() => Promise<void>> {
    return acquireLock(this.lockFile);
  }
}

/** Digests a running command is about to reference; see the file comment. */
export class Lease {
  private readonly held = new Set<string>();

  constructor(
    private readonly store: ImageStore,
    readonly file: string,
  ) {}

  /** Records the digests (under the store lock) before the caller checks or writes them. */
  async add(digests: readonly string[]): Promise<void> {
    const fresh = digests.filter((d) => !this.held.has(d));
    if (fresh.length === 0) return;
    await this.store.withLock(() => appendFile(this.file, fresh.map((d) => `${d}\n`).join(''), { mode: 0o644 }));
    for (const digest of fresh) this.held.add(digest);
  }

  async release(): Promise<void> {
    this.held.clear();
    await rm(this.file, { force: true });
  }
}
