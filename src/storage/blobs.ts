// The global blob area, `blobs/<alg>/<xx>/<hex>/data`, shared by all repositories.
import type { Readable } from 'node:stream';
import { parseDigest, type Digest } from '../oci/digest.js';
import type { FsRoot } from './fs-root.js';
import { blobDataPath, blobDirectory } from './layout.js';

export class BlobArea {
  constructor(private readonly fs: FsRoot) {}

  async size(digest: Digest): Promise<number | undefined> {
    const stats = await this.fs.stat(blobDataPath(digest));
    return stats?.isFile() ? stats.size : undefined;
  }

  open(digest: Digest, range?: { start: number; end: number }): Promise<Readable | undefined> {
    return this.fs.createReadStream(blobDataPath(digest), range);
  }

  readAll(digest: Digest): Promise<Buffer | undefined> {
    return this.fs.readFile(blobDataPath(digest));
  }

  /**
   * Marks the blob as in use now. Online GC never deletes a blob touched after it
   * started, so a push that relies on an existing blob touches it first.
   */
  touch(digest: Digest): Promise<boolean> {
    return this.fs.touch(blobDataPath(digest));
  }

  /**
   * Makes verified bytes at `sourcePath` (inside the data dir) the blob `digest`. An
   * existing blob is kept (and touched); otherwise the bytes move into place inside a
   * staged directory renamed as a whole, so readers (and a crash) see either the
   * complete `<hex>/data` or no `<hex>` directory at all. Returns true when the source
   * was consumed.
   */
  async adopt(sourcePath: string, digest: Digest): Promise<boolean> {
    if (await this.touch(digest)) return false;
    // The upload's bytes keep the mtime of their last write, which may be older than an
    // online GC's grace period (a client that paused before its final PUT). Touch them
    // first, so the blob appears already fresh and a running GC cannot take it.
    await this.fs.touch(sourcePath);
    const staged = `${sourcePath}.blob`;
    await this.fs.rename(sourcePath, `${staged}/data`);
    try {
      // Replaces a leftover empty directory too (rename may overwrite an empty one).
      await this.fs.rename(staged, blobDirectory(digest));
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
    // The directory exists with content: a concurrent upload of the same bytes won, or
    // a leftover without data sits there. Keep a complete blob; fill a hollow one.
    if (await this.touch(digest)) {
      await this.fs.removeTree(staged);
      return false;
    }
    await this.fs.rename(`${staged}/data`, blobDataPath(digest));
    await this.fs.removeTree(staged);
    return true;
  }

  async remove(digest: Digest): Promise<void> {
    await this.fs.removeTree(blobDirectory(digest));
  }
}

/** readLink with synchronous calls (see FsRoot.readSmallFileSync): for request hot paths only. */
export function readLinkSync(fs: FsRoot, linkPath: string): Digest | undefined {
  const content = fs.readSmallFileSync(linkPath);
  return content ? parseDigest(content.toString('utf8').trim()) : undefined;
}

/** Reads a link file (`sha256:<hex>`); undefined when it is missing or not a digest. */
export async function readLink(fs: FsRoot, linkPath: string): Promise<Digest | undefined> {
  const content = await fs.readFile(linkPath);
  if (!content) return undefined;
  return parseDigest(content.toString('utf8').trim());
}
