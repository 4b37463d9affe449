// RegistryStorage over distribution's layout (storage/layout.ts), on any driver: what
// distribution's linkedblobstore, manifest and tag stores do. The write order is what
// keeps a crash harmless on every backend: blob data before the links that name it, the
// revision link before any tag, tags removed before the revision they point at. So a
// reader, registry:2 included, never sees a link to missing content.
//
// Online GC (storage/gc.ts) runs beside pushes: every push path that relies on an
// object that already exists goes through driver.touch(), which marks it in use and
// answers whether it is there (and not being collected) in one step.
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Readable } from 'node:stream';
import { digestOf, looksLikeDigest, parseDigest, SUPPORTED_ALGORITHMS, type Digest } from '../oci/digest.js';
import { manifestReferences, parseManifest, type Descriptor, type Manifest } from '../oci/manifest.js';
import { isNonDistributableLayer } from '../oci/media-types.js';
import { isValidTag } from '../oci/names.js';
import { mapLimit } from '../util/pool.js';
import { contentStream } from './content-stream.js';
import type { StorageDriver } from './driver/driver.js';
import { readGcStatus } from './gc-status.js';
import {
  blobDataPath,
  layerLinkDirectory,
  repositoryPath,
  revisionLinkDirectory,
  revisionsDirectory,
  tagCurrentLinkPath,
  tagDirectory,
  tagIndexLinkDirectory,
  tagsDirectory,
  uploadDirectory,
} from './layout.js';
import { ListingCache } from './listing-cache.js';
import { purgeStaleUploads, type PurgeReport } from './maintenance.js';
import { ReferrersIndex } from './referrers-index.js';
import { RepositoryCatalog } from './repository-catalog.js';
import type {
  AppendResult,
  BlobInfo,
  BlobRead,
  ChunkOptions,
  FinishResult,
  GcStatus,
  PutManifestRequest,
  PutManifestResult,
  RegistryStorage,
  StoredManifest,
  TagInfo,
  UploadStatus,
} from './types.js';
import { UploadArea } from './uploads.js';

export interface LayoutStorageOptions {
  /**
   * Accept manifests that name blobs or child manifests the repository lacks (a
   * partial mirror of a multi-platform image keeps its index digest this way).
   */
  readonly allowSparseManifests?: boolean;
  /** Bytes of manifests kept in memory (content-addressed, so never stale). */
  readonly manifestCacheBytes?: number;
  /**
   * How stale listings (catalog, tags, referrers) may get for writes made by other
   * processes or replicas; this process sees its own writes at once. On the filesystem
   * tag and referrer listings follow directory mtimes instead and are never stale.
   */
  readonly listingMaxAgeMs?: number;
  /**
   * Told of every change this process makes that other processes' caches must see (a
   * new repository, a listing that changed): worker processes relay it to their
   * siblings, which apply it with applyChange(), so a client sees its own pushes whichever
   * worker answers next.
   */
  readonly onChange?: (change: StorageChange) => void;
}

/** A change to what the caches of other processes serving the same storage hold. */
export type StorageChange = { readonly kind: 'repository'; readonly repository: string } | { readonly kind: 'listing'; readonly path: string };

/** Parses a link file (`sha256:<hex>`); undefined when it is not a digest. */
function parseLink(content: Buffer | undefined): Digest | undefined {
  return content ? parseDigest(content.toString('utf8').trim()) : undefined;
}

export class LayoutStorage implements RegistryStorage {
  readonly location: string;
  readonly uploads: UploadArea;
  readonly catalog: RepositoryCatalog;
  private readonly listings: ListingCache;
  private readonly referrersIndex: ReferrersIndex;
  private readonly manifestCache: LRUCache<string, StoredManifest>;

  constructor(
    readonly driver: StorageDriver,
    private readonly options: LayoutStorageOptions = {},
  ) {
    this.location = driver.location;
    const maxAgeMs = options.listingMaxAgeMs ?? 1000;
    this.uploads = new UploadArea(driver);
    this.catalog = new RepositoryCatalog(driver, maxAgeMs);
    this.listings = new ListingCache(driver, { versioned: driver.name === 'filesystem', maxAgeMs });
    this.referrersIndex = new ReferrersIndex(
      (repository) => this.revisions(repository),
      (repository, digest) => this.manifestByDigest(repository, digest),
    );
    this.manifestCache = new LRUCache<string, StoredManifest>({
      maxSize: options.manifestCacheBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (value) => value.bytes.length + 512,
    });
  }

  /** Applies a change this process made, and tells the other processes. */
  private changed(change: StorageChange): void {
    // A repository already known here was announced before (or found by a walk).
    if (change.kind === 'repository' && this.catalog.has(change.repository)) return;
    this.applyChange(change);
    this.options.onChange?.(change);
  }

  /** Applies a change another process made to what this one caches. */
  applyChange(change: StorageChange): void {
    if (change.kind === 'repository') this.catalog.add(change.repository);
    else this.listings.invalidate(change.path);
  }

  // ---- links -------------------------------------------------------------------

  private async readLink(path: string): Promise<Digest | undefined> {
    return parseLink(await this.driver.getContent(path));
  }

  /** The digest a repository's layer link names, when the link exists. */
  private linkedLayer(repository: string, digest: Digest): Promise<Digest | undefined> {
    return this.readLink(`${layerLinkDirectory(repository, digest)}/link`);
  }

  private async writeLink(linkDir: string, digest: Digest): Promise<void> {
    if ((await this.readLink(`${linkDir}/link`))?.value === digest.value) return;
    await this.driver.putContent(`${linkDir}/link`, digest.value);
  }

  private async linkLayer(repository: string, digest: Digest): Promise<void> {
    await this.writeLink(layerLinkDirectory(repository, digest), digest);
    this.changed({ kind: 'repository', repository });
  }

  // ---- blobs -------------------------------------------------------------------

  /**
   * The blob as the repository links it. With `touch`, the blob is also marked as in use
   * now: a pusher that learns "this blob exists" (HEAD) and later PUTs a manifest naming
   * it relies on it surviving an online GC in between, which only the touch guarantees.
   */
  async statBlob(repository: string, digest: Digest, options: { touch?: boolean } = {}): Promise<BlobInfo | undefined> {
    const linked = await this.linkedLayer(repository, digest);
    if (!linked) return undefined;
    const info = options.touch ? await this.driver.touch(blobDataPath(linked)) : await this.driver.stat(blobDataPath(linked));
    return info ? { digest: linked.value, size: info.size } : undefined;
  }

  async readBlob(repository: string, digest: Digest, range?: { start: number; end: number }): Promise<BlobRead | undefined> {
    const linked = await this.linkedLayer(repository, digest);
    if (!linked) return undefined;
    const url = await this.driver.redirectUrl(blobDataPath(linked));
    if (url !== undefined) return { kind: 'redirect', url };
    return this.driver.open(blobDataPath(linked), range);
  }

  async openBlob(repository: string, digest: Digest): Promise<Readable | undefined> {
    const linked = await this.linkedLayer(repository, digest);
    const source = linked ? await this.driver.open(blobDataPath(linked)) : undefined;
    return source && contentStream(source);
  }

  async unlinkBlob(repository: string, digest: Digest): Promise<boolean> {
    const dir = layerLinkDirectory(repository, digest);
    if (!(await this.driver.stat(`${dir}/link`))) return false;
    await this.driver.delete(dir);
    return true;
  }

  async mountBlob(repository: string, digest: Digest, fromRepository?: string): Promise<BlobInfo | undefined> {
    if (fromRepository !== undefined && !(await this.driver.touch(`${layerLinkDirectory(fromRepository, digest)}/link`))) return undefined;
    // Touch first: the blob is in use from now on, whatever an online GC concluded.
    const info = await this.driver.touch(blobDataPath(digest));
    if (!info) return undefined;
    await this.linkLayer(repository, digest);
    return { digest: digest.value, size: info.size };
  }

  /**
   * Makes verified bytes at `source` the blob `digest`. An existing blob is kept (and
   * touched), and the source is dropped; otherwise the bytes move into place, appearing
   * whole (or not at all) to readers and after a crash.
   */
  private async adopt(source: string, digest: Digest): Promise<void> {
    if ((await this.driver.touch(blobDataPath(digest))) !== undefined) {
      await this.driver.delete(source);
      return;
    }
    await this.driver.move(source, blobDataPath(digest));
  }

  /**
   * Makes the file at `source` (a driver path) the blob `digest` of `repository`, as a
   * finished upload does. The caller has verified that its bytes hash to `digest` and
   * made them durable (a mirror's spool file); nothing here reads them again.
   */
  async adoptVerifiedBlob(repository: string, digest: Digest, source: string): Promise<void> {
    await this.adopt(source, digest);
    await this.linkLayer(repository, digest);
  }

  // ---- uploads -----------------------------------------------------------------

  startUpload(repository: string): Promise<UploadStatus> {
    return this.uploads.start(repository);
  }

  uploadStatus(repository: string, id: string, expectedOffset?: number): Promise<UploadStatus | undefined> {
    return this.uploads.status(repository, id, expectedOffset);
  }

  appendUpload(repository: string, id: string, body: AsyncIterable<Uint8Array>, options: ChunkOptions): Promise<AppendResult> {
    return this.uploads.withSession(repository, id, () => this.uploads.append(repository, id, body, options));
  }

  finishUpload(repository: string, id: string, digest: Digest, body: AsyncIterable<Uint8Array> | undefined, options: ChunkOptions): Promise<FinishResult> {
    return this.uploads.withSession(repository, id, async (): Promise<FinishResult> => {
      const verified = await this.uploads.finish(repository, id, digest, body, options);
      if (!verified.ok) return verified;
      await this.adopt(verified.dataPath, digest);
      await this.linkLayer(repository, digest);
      this.uploads.forget(repository, id);
      await this.driver.delete(uploadDirectory(repository, id));
      return { ok: true, blob: { digest: digest.value, size: verified.size } };
    });
  }

  cancelUpload(repository: string, id: string): Promise<boolean> {
    return this.uploads.withSession(repository, id, () => this.uploads.discard(repository, id));
  }

  // ---- manifests ---------------------------------------------------------------

  private async revisionExists(repository: string, digest: Digest): Promise<boolean> {
    return (await this.readLink(`${revisionLinkDirectory(repository, digest)}/link`)) !== undefined;
  }

  async manifestByDigest(repository: string, digest: Digest): Promise<StoredManifest | undefined> {
    if (!(await this.revisionExists(repository, digest))) return undefined;
    const cached = this.manifestCache.get(digest.value);
    if (cached) return cached;
    const bytes = await this.driver.getContent(blobDataPath(digest));
    if (!bytes) return undefined;
    const parsed = parseManifest(bytes);
    if (!parsed.ok) return undefined;
    const stored: StoredManifest = { digest: digest.value, mediaType: parsed.manifest.mediaType, bytes, manifest: parsed.manifest };
    this.manifestCache.set(digest.value, stored);
    return stored;
  }

  /**
   * Marks a manifest revision as used now (its link's mtime): what a mirror's retention
   * reads to find content nobody pulled for a while. False when there is no such revision.
   */
  async touchManifest(repository: string, digest: Digest): Promise<boolean> {
    return (await this.driver.touch(`${revisionLinkDirectory(repository, digest)}/link`)) !== undefined;
  }

  /** Every manifest revision the repository links (through the listing cache). */
  async revisions(repository: string): Promise<Digest[]> {
    const digests: Digest[] = [];
    for (const algorithm of SUPPORTED_ALGORITHMS) {
      for (const entry of await this.listings.list(`${revisionsDirectory(repository)}/${algorithm}`)) {
        const digest = entry.isDirectory ? parseDigest(`${algorithm}:${entry.name}`) : undefined;
        if (digest) digests.push(digest);
      }
    }
    return digests;
  }

  /** When the revision was last pushed, fetched or touched; undefined when there is none. */
  manifestLastUsed(repository: string, digest: Digest): Promise<number | undefined> {
    return this.driver.lastUsed(`${revisionLinkDirectory(repository, digest)}/link`);
  }

  async resolveTag(repository: string, tag: string): Promise<Digest | undefined> {
    if (!isValidTag(tag)) return undefined;
    return this.readLink(tagCurrentLinkPath(repository, tag));
  }

  async tagInfo(repository: string, tag: string): Promise<TagInfo | undefined> {
    if (!isValidTag(tag)) return undefined;
    const path = tagCurrentLinkPath(repository, tag);
    // Every push of a tag rewrites its current link (setTag), so
    // the link's modification time is the tag's last push on every driver.
    const [digest, info] = await Promise.all([this.readLink(path), this.driver.stat(path)]);
    return digest && info ? { digest: digest.value, updatedMs: info.modifiedMs } : undefined;
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

    const tags = [...new Set([...(claimed ? [] : [reference]), ...(request.extraTags ?? [])])];
    if (request.moveTags === false) {
      for (const tag of tags) {
        const current = await this.resolveTag(repository, tag);
        if (current && current.value !== digest.value) return { ok: false, reason: 'tag-exists', tag, current: current.value };
      }
    }
    const missing = await this.missingReferences(repository, parsed.manifest, request.sparse ?? false);
    if (missing.length > 0) return { ok: false, reason: 'missing-references', missing };

    await this.storeManifestBlob(digest, bytes);
    await this.writeLink(revisionLinkDirectory(repository, digest), digest);
    this.changed({ kind: 'listing', path: `${revisionsDirectory(repository)}/${digest.algorithm}` });
    this.changed({ kind: 'repository', repository });
    for (const tag of tags) await this.setTag(repository, tag, digest);
    return { ok: true, digest: digest.value, manifest: parsed.manifest, tags };
  }

  /**
   * References the repository cannot serve (none when sparse manifests are allowed).
   * Each one is checked with touch(), which marks it in use BEFORE it answers whether it
   * exists: a collection that claimed it earlier makes the touch fail, one that claims
   * it later sees the touch and keeps it (see storage/gc.ts).
   */
  private async missingReferences(repository: string, manifest: Manifest, sparse: boolean): Promise<string[]> {
    const checks = manifestReferences(manifest)
      .filter(({ role, descriptor }) => !(role === 'layer' && isNonDistributableLayer(descriptor.mediaType)))
      .map(async ({ role, descriptor }) => {
        const digest = parseDigest(descriptor.digest)!;
        const link = role === 'manifest' ? `${revisionLinkDirectory(repository, digest)}/link` : `${layerLinkDirectory(repository, digest)}/link`;
        const [present, linked] = await Promise.all([this.driver.touch(blobDataPath(digest)), this.driver.touch(link)]);
        return present !== undefined && linked !== undefined ? undefined : digest.value;
      });
    const missing = (await Promise.all(checks)).filter((digest): digest is string => digest !== undefined);
    return this.options.allowSparseManifests || sparse ? [] : missing;
  }

  private async storeManifestBlob(digest: Digest, bytes: Buffer): Promise<void> {
    if ((await this.driver.touch(blobDataPath(digest))) !== undefined) return;
    await this.driver.putContent(blobDataPath(digest), bytes);
  }

  private async setTag(repository: string, tag: string, digest: Digest): Promise<void> {
    const current = tagCurrentLinkPath(repository, tag);
    const isNew = (await this.driver.getContent(current)) === undefined;
    // A new tag appears with its current link (a tag directory without one would be
    // listed but unreadable); an existing tag gains its index entry before it moves.
    if (isNew) await this.driver.putContent(current, digest.value);
    await this.writeLink(tagIndexLinkDirectory(repository, tag, digest), digest);
    if (!isNew) await this.driver.putContent(current, digest.value);
    this.changed({ kind: 'listing', path: tagsDirectory(repository) });
  }

  async deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    if (!(await this.revisionExists(repository, digest))) return false;
    for (const tag of await this.tagsPointingAt(repository, digest)) await this.deleteTag(repository, tag);
    await this.driver.delete(revisionLinkDirectory(repository, digest));
    this.changed({ kind: 'listing', path: `${revisionsDirectory(repository)}/${digest.algorithm}` });
    return true;
  }

  /**
   * The tags whose current link names `digest`. Where reads are local (the filesystem),
   * every tag's link is read, as distribution does. Where each read is a request (S3),
   * one walk of the tags finds the few candidates instead: a tag that ever pointed at a
   * manifest has an index entry for it (distribution writes one too), and only those
   * candidates' current links are read.
   */
  private async tagsPointingAt(repository: string, digest: Digest): Promise<string[]> {
    let candidates: string[];
    if (this.driver.listsInBulk) {
      const root = tagsDirectory(repository);
      const found = new Set<string>();
      for await (const file of this.driver.walk(root)) {
        const entry = /^([^/]+)\/index\/([a-z0-9]+)\/([0-9a-f]+)\/link$/.exec(file.path.slice(root.length + 1));
        if (entry && `${entry[2]}:${entry[3]}` === digest.value) found.add(entry[1]!);
      }
      candidates = [...found];
    } else {
      candidates = [...((await this.listTags(repository)) ?? [])];
    }
    const targets = await mapLimit(candidates, 32, (tag) => this.resolveTag(repository, tag));
    return candidates.filter((_, i) => targets[i]?.value === digest.value);
  }

  async deleteTag(repository: string, tag: string): Promise<boolean> {
    if (!isValidTag(tag) || (await this.driver.getContent(tagCurrentLinkPath(repository, tag))) === undefined) return false;
    // Moved away first so the tag disappears in one step (on the filesystem), then
    // removed; a leftover in _uploads is purged with stale upload sessions.
    const trash = uploadDirectory(repository, randomUUID());
    try {
      await this.driver.move(tagDirectory(repository, tag), trash);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    } finally {
      this.changed({ kind: 'listing', path: tagsDirectory(repository) });
    }
    await this.driver.delete(trash);
    return true;
  }

  // ---- listings ----------------------------------------------------------------

  async repositoryExists(repository: string): Promise<boolean> {
    if (this.catalog.has(repository)) return true;
    const base = repositoryPath(repository);
    const [manifests, layers] = await Promise.all([this.driver.exists(`${base}/_manifests`), this.driver.exists(`${base}/_layers`)]);
    return manifests || layers;
  }

  async listTags(repository: string): Promise<readonly string[] | undefined> {
    const entries = await this.listings.list(tagsDirectory(repository));
    if (entries.length === 0) return (await this.repositoryExists(repository)) ? [] : undefined;
    return entries
      .filter((entry) => entry.isDirectory && isValidTag(entry.name))
      .map((entry) => entry.name)
      .sort();
  }

  listRepositories(options: { readonly allowStale?: boolean } = {}): Promise<readonly string[]> {
    return this.catalog.list(options);
  }

  referrers(repository: string, subject: Digest): Promise<readonly Descriptor[]> {
    return this.referrersIndex.referrers(repository, subject);
  }

  // ---- maintenance -------------------------------------------------------------

  /** Removes upload sessions (and the driver's abandoned writes) idle for longer than `maxAgeMs`. */
  purgeUploads(maxAgeMs: number): Promise<PurgeReport> {
    return purgeStaleUploads(this.driver, maxAgeMs, (repository, id) => this.uploads.isBusy(repository, id));
  }

  // ---- health and status -------------------------------------------------------

  checkHealth(): Promise<void> {
    return this.driver.checkHealth();
  }

  gcStatus(): Promise<GcStatus> {
    return readGcStatus(this.driver);
  }
}
