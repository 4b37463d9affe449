// RegistryStorage over distribution's on-disk layout. The write order is what keeps a
// crash harmless: blob data before the links that name it, the revision link before
// any tag, tags removed before the revision they point at. So a reader, registry:2
// included, can never see a link to missing content.
import { randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import type { Readable } from 'node:stream';
import { digestOf, looksLikeDigest, parseDigest, type Digest } from '../oci/digest.js';
import { manifestReferences, parseManifest, type Descriptor, type Manifest } from '../oci/manifest.js';
import { isNonDistributableLayer } from '../oci/media-types.js';
import { isValidTag } from '../oci/names.js';
import { BlobArea, readLink, readLinkSync } from './blobs.js';
import { FsRoot } from './fs-root.js';
import {
  blobDataPath,
  layerLinkDirectory,
  REPOSITORIES_ROOT,
  repositoryPath,
  revisionLinkDirectory,
  tagCurrentLinkPath,
  tagDirectory,
  tagIndexLinkDirectory,
  tagsDirectory,
  uploadDirectory,
} from './layout.js';
import { purgeStaleUploads, type PurgeReport } from './maintenance.js';
import { MtimeCache } from './mtime-cache.js';
import { ReferrersIndex } from './referrers-index.js';
import { RepositoryCatalog } from './repository-catalog.js';
import type {
  AppendResult,
  BlobInfo,
  ChunkOptions,
  FinishResult,
  PutManifestRequest,
  PutManifestResult,
  RegistryStorage,
  StoredManifest,
  UploadStatus,
} from './types.js';
import { UploadArea } from './uploads.js';

export interface FilesystemStorageOptions {
  /**
   * Accept manifests that name blobs or child manifests the repository lacks (a
   * partial mirror of a multi-platform image keeps its index digest this way).
   */
  readonly allowSparseManifests?: boolean;
  /** Bytes of manifests kept in memory (content-addressed, so never stale). */
  readonly manifestCacheBytes?: number;
  /** How stale the in-memory repository list may get for writes by other processes. */
  readonly catalogMaxAgeMs?: number;
}

export class FilesystemStorage implements RegistryStorage {
  readonly fs: FsRoot;
  readonly blobs: BlobArea;
  readonly uploads: UploadArea;
  readonly catalog: RepositoryCatalog;
  private readonly referrersIndex: ReferrersIndex;
  private readonly tagLists = new MtimeCache<string[]>(4096);
  private readonly manifestCache: LRUCache<string, StoredManifest>;

  constructor(
    root: string,
    private readonly options: FilesystemStorageOptions = {},
  ) {
    this.fs = new FsRoot(root);
    this.blobs = new BlobArea(this.fs);
    this.uploads = new UploadArea(this.fs);
    this.catalog = new RepositoryCatalog(this.fs, options.catalogMaxAgeMs);
    this.referrersIndex = new ReferrersIndex(this.fs, (repository, digest) => this.manifestByDigest(repository, digest));
    this.manifestCache = new LRUCache<string, StoredManifest>({
      maxSize: options.manifestCacheBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (value) => value.bytes.length + 512,
    });
  }

  // ---- blobs -------------------------------------------------------------------

  /**
   * The digest a repository's layer link names, when the link exists. Link files are
   * read with synchronous calls here and in the other per-request lookups below
   * (revisions, tags): see FsRoot.readSmallFileSync.
   */
  private async linkedLayer(repository: string, digest: Digest): Promise<Digest | undefined> {
    return readLinkSync(this.fs, `${layerLinkDirectory(repository, digest)}/link`);
  }

  /**
   * The blob as the repository links it. With `touch`, the blob is also marked as in use
   * now: a pusher that learns "this blob exists" (HEAD) and later PUTs a manifest naming
   * it relies on it surviving an online GC in between, which only the touch guarantees.
   */
  async statBlob(repository: string, digest: Digest, options: { touch?: boolean } = {}): Promise<BlobInfo | undefined> {
    const linked = await this.linkedLayer(repository, digest);
    if (!linked) return undefined;
    if (options.touch && !(await this.blobs.touch(linked))) return undefined;
    const stats = this.fs.statSync(blobDataPath(linked));
    return stats?.isFile() ? { digest: linked.value, size: stats.size } : undefined;
  }

  async openBlob(repository: string, digest: Digest, range?: { start: number; end: number }): Promise<Readable | undefined> {
    const linked = await this.linkedLayer(repository, digest);
    return linked ? this.blobs.open(linked, range) : undefined;
  }

  /** The blob's data file, opened for reading (callers check the repository's link first). */
  openBlobFile(digest: Digest): Promise<FileHandle | undefined> {
    return this.fs.openForRead(blobDataPath(digest));
  }

  async unlinkBlob(repository: string, digest: Digest): Promise<boolean> {
    const dir = layerLinkDirectory(repository, digest);
    if (!(await this.fs.stat(`${dir}/link`))) return false;
    await this.fs.removeTree(dir);
    return true;
  }

  async mountBlob(repository: string, digest: Digest, fromRepository?: string): Promise<BlobInfo | undefined> {
    if (fromRepository !== undefined && !(await this.linkedLayer(fromRepository, digest))) return undefined;
    // Touch first: the blob is in use from now on, whatever an online GC concluded.
    if (!(await this.blobs.touch(digest))) return undefined;
    const size = await this.blobs.size(digest);
    if (size === undefined) return undefined;
    await this.linkLayer(repository, digest);
    return { digest: digest.value, size };
  }

  /**
   * Creates `<linkDir>/link` naming `digest` so that the directory appears complete or
   * not at all: the link is built in the repository's _uploads and the directory is
   * renamed into place. A crash leaves at most a staging directory, which the upload
   * purger removes, never a link directory without its link.
   */
  private async writeLink(repository: string, linkDir: string, digest: Digest): Promise<void> {
    if ((await readLink(this.fs, `${linkDir}/link`))?.value === digest.value) return;
    const staging = uploadDirectory(repository, randomUUID());
    try {
      await this.fs.writeFileAtomic(`${staging}/link`, digest.value);
      try {
        await this.fs.rename(staging, linkDir);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      }
      // The directory exists with something in it (a concurrent writer, or a leftover
      // temp file): replace the link file itself, which is atomic too.
      await this.fs.writeFileAtomic(`${linkDir}/link`, digest.value);
    } finally {
      await this.fs.removeTree(staging);
    }
  }

  private async linkLayer(repository: string, digest: Digest): Promise<void> {
    await this.writeLink(repository, layerLinkDirectory(repository, digest), digest);
    this.catalog.add(repository);
  }

  // ---- uploads -----------------------------------------------------------------

  startUpload(repository: string): Promise<UploadStatus> {
    return this.uploads.start(repository);
  }

  uploadStatus(repository: string, id: string): Promise<UploadStatus | undefined> {
    return this.uploads.status(repository, id);
  }

  appendUpload(repository: string, id: string, body: AsyncIterable<Uint8Array>, options: ChunkOptions): Promise<AppendResult> {
    return this.uploads.withSession(repository, id, () => this.uploads.append(repository, id, body, options));
  }

  finishUpload(
    repository: string,
    id: string,
    digest: Digest,
    body: AsyncIterable<Uint8Array> | undefined,
    options: ChunkOptions,
  ): Promise<FinishResult> {
    return this.uploads.withSession(repository, id, async (): Promise<FinishResult> => {
      if (body) {
        const appended = await this.uploads.append(repository, id, body, options);
        if (!appended.ok) return appended;
      } else if (!(await this.uploads.status(repository, id))) {
        return { ok: false, reason: 'upload-unknown' };
      }
      const verified = await this.uploads.verify(repository, id, digest);
      if (!verified.ok) return verified;
      await this.blobs.adopt(verified.dataPath, digest);
      await this.linkLayer(repository, digest);
      await this.uploads.discard(repository, id);
      return { ok: true, blob: { digest: digest.value, size: verified.size } };
    });
  }

  cancelUpload(repository: string, id: string): Promise<boolean> {
    return this.uploads.withSession(repository, id, async () => {
      if (!(await this.uploads.status(repository, id))) return false;
      return this.uploads.discard(repository, id);
    });
  }

  // ---- manifests ---------------------------------------------------------------

  private async revisionExists(repository: string, digest: Digest): Promise<boolean> {
    return readLinkSync(this.fs, `${revisionLinkDirectory(repository, digest)}/link`) !== undefined;
  }

  /** The manifest with this digest, when the repository holds a revision of it. */
  async manifestByDigest(repository: string, digest: Digest): Promise<StoredManifest | undefined> {
    if (!(await this.revisionExists(repository, digest))) return undefined;
    const cached = this.manifestCache.get(digest.value);
    if (cached) return cached;
    const bytes = await this.blobs.readAll(digest);
    if (!bytes) return undefined;
    const parsed = parseManifest(bytes);
    if (!parsed.ok) return undefined;
    const stored: StoredManifest = { digest: digest.value, mediaType: parsed.manifest.mediaType, bytes, manifest: parsed.manifest };
    this.manifestCache.set(digest.value, stored);
    return stored;
  }

  async resolveTag(repository: string, tag: string): Promise<Digest | undefined> {
    if (!isValidTag(tag)) return undefined;
    return readLinkSync(this.fs, tagCurrentLinkPath(repository, tag));
  }

  async getManifest(repository: string, reference: string): Promise<StoredManifest | undefined> {
    if (looksLikeDigest(reference)) {
      const digest = parseDigest(reference);
      return digest ? this.manifestByDigest(repository, digest) : undefined;
    }
    const digest = await this.resolveTag(repository, reference);
    return digest ? this.manifestByDigest(repository, digest) : undefined;
  }

  async putManifest(request: PutManifestRequest): Promise<PutManifestResult> {
    const { repository, reference, bytes } = request;
    const parsed = parseManifest(bytes, request.contentType);
    if (!parsed.ok) return { ok: false, reason: 'invalid', message: parsed.reason };
    const claimed = looksLikeDigest(reference) ? parseDigest(reference) : undefined;
    if (looksLikeDigest(reference) && !claimed) return { ok: false, reason: 'digest-mismatch', actual: reference };
    const digest = digestOf(bytes, claimed?.algorithm ?? 'sha256');
    if (claimed && claimed.value !== digest.value) return { ok: false, reason: 'digest-mismatch', actual: digest.value };

    const missing = await this.missingReferences(repository, parsed.manifest);
    if (missing.length > 0) return { ok: false, reason: 'missing-references', missing };

    await this.storeManifestBlob(repository, digest, bytes);
    await this.writeLink(repository, revisionLinkDirectory(repository, digest), digest);
    this.catalog.add(repository);
    const tags = [...(claimed ? [] : [reference]), ...(request.extraTags ?? [])];
    for (const tag of new Set(tags)) await this.setTag(repository, tag, digest);
    return { ok: true, digest: digest.value, manifest: parsed.manifest, tags: [...new Set(tags)] };
  }

  /**
   * References the repository cannot serve (none when sparse manifests are allowed).
   * Each one present is touched, so an online GC that started earlier keeps it. The
   * touch comes BEFORE the link check: GC moves a revision link away and then looks
   * at the manifest blob's mtime, so either it sees our touch and puts the link back,
   * or our check runs after the move and fails cleanly (see storage/gc.ts).
   */
  private async missingReferences(repository: string, manifest: Manifest): Promise<string[]> {
    const missing: string[] = [];
    for (const { role, descriptor } of manifestReferences(manifest)) {
      const digest = parseDigest(descriptor.digest)!;
      if (role === 'layer' && isNonDistributableLayer(descriptor.mediaType)) continue;
      const present = await this.blobs.touch(digest);
      const linked = role === 'manifest' ? await this.revisionExists(repository, digest) : (await this.linkedLayer(repository, digest)) !== undefined;
      if (!present || !linked) missing.push(digest.value);
    }
    return this.options.allowSparseManifests ? [] : missing;
  }

  private async storeManifestBlob(repository: string, digest: Digest, bytes: Buffer): Promise<void> {
    if (await this.blobs.touch(digest)) return;
    // Stage inside the repository's _uploads, where registry:2 expects partial data too.
    const staging = uploadDirectory(repository, randomUUID());
    try {
      await this.fs.writeFileAtomic(`${staging}/data`, bytes);
      await this.blobs.adopt(`${staging}/data`, digest);
    } finally {
      await this.fs.removeTree(staging);
    }
  }

  private async setTag(repository: string, tag: string, digest: Digest): Promise<void> {
    const current = tagCurrentLinkPath(repository, tag);
    if (!(await this.fs.stat(tagDirectory(repository, tag)))) {
      // A new tag appears whole: built in staging, then renamed into tags/.
      const staging = uploadDirectory(repository, randomUUID());
      try {
        await this.fs.writeFileAtomic(`${staging}/tag/current/link`, digest.value);
        await this.fs.writeFileAtomic(`${staging}/tag/index/${digest.algorithm}/${digest.hex}/link`, digest.value);
        await this.fs.rename(`${staging}/tag`, tagDirectory(repository, tag));
        this.tagLists.delete(repository);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        // Another push created the tag first; fall through and update it.
      } finally {
        await this.fs.removeTree(staging);
      }
    }
    await this.writeLink(repository, tagIndexLinkDirectory(repository, tag, digest), digest);
    await this.fs.writeFileAtomic(current, digest.value);
    this.tagLists.delete(repository);
  }

  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    if (!(await this.revisionExists(repository, digest))) return false;
    for (const tag of (await this.listTags(repository)) ?? []) {
      const target = await this.resolveTag(repository, tag);
      if (target?.value === digest.value) await this.deleteTag(repository, tag);
    }
    await this.fs.removeTree(revisionLinkDirectory(repository, digest));
    return true;
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    if (!isValidTag(tag) || !(await this.fs.stat(tagDirectory(repository, tag)))) return false;
    // Rename away first so the tag disappears in one step, then clean up.
    const trash = uploadDirectory(repository, randomUUID());
    try {
      await this.fs.rename(tagDirectory(repository, tag), trash);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    this.tagLists.delete(repository);
    await this.fs.removeTree(trash);
    return true;
  }

  // ---- maintenance -------------------------------------------------------------

  /** Removes upload sessions (and staging leftovers) idle for longer than `maxAgeMs`. */
  purgeUploads(maxAgeMs: number): Promise<PurgeReport> {
    const prefix = `${REPOSITORIES_ROOT}/`;
    return purgeStaleUploads(this.fs, maxAgeMs, (path) => {
      const marker = path.lastIndexOf('/_uploads/');
      return this.uploads.isBusy(path.slice(prefix.length, marker), path.slice(marker + '/_uploads/'.length));
    });
  }

  // ---- listings ----------------------------------------------------------------

  async repositoryExists(repository: string): Promise<boolean> {
    if (this.catalog.has(repository)) return true;
    const [manifests, layers] = await Promise.all([
      this.fs.stat(`${repositoryPath(repository)}/_manifests`),
      this.fs.stat(`${repositoryPath(repository)}/_layers`),
    ]);
    return manifests !== undefined || layers !== undefined;
  }

  async listTags(repository: string): Promise<readonly string[] | undefined> {
    const dir = tagsDirectory(repository);
    const stats = this.fs.statSync(dir);
    if (!stats) return (await this.repositoryExists(repository)) ? [] : undefined;
    const cached = this.tagLists.get(repository, stats);
    if (cached) return cached;
    const tags = (await this.fs.readdir(dir))
      .filter((entry) => entry.isDirectory() && isValidTag(entry.name))
      .map((entry) => entry.name)
      .sort();
    this.tagLists.set(repository, stats, tags);
    return tags;
  }

  listRepositories(): Promise<readonly string[]> {
    return this.catalog.list();
  }

  referrers(repository: string, subject: Digest): Promise<readonly Descriptor[]> {
    return this.referrersIndex.referrers(repository, subject);
  }
}
