// A pull-through mirror as the HTTP layer sees it: a RegistryStorage that is the local
// storage (LayoutStorage, on any driver) composed with upstream registries. Repositories
// outside every mirror's prefix are the local storage, untouched. Under a prefix:
//
// - Manifests by digest, and blobs, are content: once cached they are served without
//   ever asking an upstream. A miss fetches them (once, however many clients ask at the
//   same time), verifies them and stores them; a blob streams to its clients while it
//   arrives (blob-fetch.ts).
// - A tag is a pointer that moves upstream: a cached tag is re-checked with a HEAD once
//   its `tagTtl` is over (never when it matches `immutableTags`, or when the mirror is
//   `offline`). When the upstream cannot confirm it (down, slow past its timeout, 5xx,
//   429, refused, or without the tag), the cached manifest is served anyway ("stale"),
//   logged and counted, as registry:2's proxy does.
// - Pushes are refused unless the mirror allows them.
// - Manifests served are marked as used (their revision link is touched, at most once
//   per interval): retention evicts what nobody pulled for `retention`.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import { looksLikeDigest, parseDigest, type Digest } from '../oci/digest.js';
import type { Descriptor } from '../oci/manifest.js';
import { RegistryError } from '../registry/errors.js';
import type { MirrorSettings } from '../registry/mirror-config.js';
import type { MirrorUpstream } from '../registry/ui/api-types.js';
import { contentStream } from '../storage/content-stream.js';
import type { LayoutStorage } from '../storage/layout-storage.js';
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
} from '../storage/types.js';
import { SingleFlight } from '../util/single-flight.js';
import { BlobFetch, type OpenResult, type SpoolCommit } from './blob-fetch.js';
import type { MirrorMetrics } from './metrics.js';
import { MirrorTable, type MirrorRoute } from './table.js';
import type { Upstream } from './upstream.js';
import type { UpstreamPool } from './upstream-pool.js';

/** One configured mirror with its upstreams. */
export interface Mirror {
  readonly settings: MirrorSettings;
  readonly pool: UpstreamPool;
}

export interface SpoolSettings {
  /** A local directory for blobs being fetched (see blob-fetch.ts). */
  readonly dir: string;
  /**
   * The same directory as a path of the local storage's driver, when the driver can move
   * a file from there into its blob store (the filesystem driver, spool inside its root).
   */
  readonly driverDir?: string;
}

export interface MirrorStorageOptions {
  readonly local: LayoutStorage;
  readonly mirrors: readonly Mirror[];
  readonly spool: SpoolSettings;
  readonly metrics: MirrorMetrics;
  readonly log: Logger;
  readonly now?: () => number;
}

interface PendingBlob {
  readonly fetch: BlobFetch;
  /** Repositories that asked for it while it was coming: all are linked once it is stored. */
  readonly repositories: Set<string>;
}

type Route = MirrorRoute<Mirror>;

/** Manifests served are touched at most this often (and at least four times per retention period). */
const TOUCH_INTERVAL_MS = 60_000;

export class MirrorStorage implements RegistryStorage {
  readonly location: string;
  private readonly local: LayoutStorage;
  private readonly table: MirrorTable<Mirror>;
  private readonly fetches = new Map<string, PendingBlob>();
  private readonly manifestFlights = new SingleFlight<StoredManifest | undefined>();
  /** When each cached tag was last confirmed upstream. */
  private readonly checked = new LRUCache<string, number>({ max: 100_000 });
  /** When each served manifest revision was last touched. */
  private readonly touched = new LRUCache<string, number>({ max: 100_000 });
  private readonly immutable = new Map<Mirror, RegExp>();
  private readonly now: () => number;

  constructor(private readonly options: MirrorStorageOptions) {
    this.local = options.local;
    this.location = options.local.location;
    this.table = new MirrorTable(options.mirrors);
    this.now = options.now ?? Date.now;
    for (const mirror of options.mirrors) {
      if (mirror.settings.immutableTags !== undefined) this.immutable.set(mirror, new RegExp(`^(?:${mirror.settings.immutableTags})$`));
    }
  }

  /** The repository `repository?ns=<ns>` names here (containerd using this registry as a mirror). */
  namespace(ns: string, repository: string): string | undefined {
    return this.table.namespace(ns, repository);
  }

  /** Each upstream's health, with its mirror's hits and misses (the UI's storage page). */
  async upstreamStatus(): Promise<{ upstreams: MirrorUpstream[] }> {
    const upstreams: MirrorUpstream[] = [];
    for (const { settings, pool } of this.options.mirrors) {
      const { hits, misses } = await this.options.metrics.counts(settings.source);
      for (const upstream of pool.upstreams) {
        upstreams.push({ name: settings.source, url: upstream.url, healthy: upstream.healthy, hits, misses, lastError: pool.lastFailure(upstream) ?? null });
      }
    }
    return { upstreams };
  }

  close(): void {
    for (const mirror of this.options.mirrors) mirror.pool.close();
  }

  // ---- manifests -----------------------------------------------------------------

  async getManifest(repository: string, reference: string): Promise<StoredManifest | undefined> {
    const route = this.table.route(repository);
    if (!route) return this.local.getManifest(repository, reference);
    if (looksLikeDigest(reference)) {
      const digest = parseDigest(reference);
      return digest ? this.manifestByDigest(repository, digest) : undefined;
    }
    const settings = route.mirror.settings;
    const cachedDigest = await this.local.resolveTag(repository, reference);
    const cached = cachedDigest ? await this.local.manifestByDigest(repository, cachedDigest) : undefined;
    if (cached) {
      if (settings.offline || this.immutable.get(route.mirror)?.test(reference) || this.isFresh(repository, reference, settings)) return this.served(route, repository, cached);
      return this.manifestFlights.run(`${repository}\u0000${reference}`, () => this.revalidate(route, repository, reference, cached));
    }
    if (settings.offline) throw this.unavailable('MIRROR_MANIFEST_UNAVAILABLE', `${repository}:${reference} is not cached, and the mirror of ${settings.source} is offline`, repository, reference);
    return this.manifestFlights.run(`${repository}\u0000${reference}`, () => this.fetchTagged(route, repository, reference));
  }

  async manifestByDigest(repository: string, digest: Digest): Promise<StoredManifest | undefined> {
    const route = this.table.route(repository);
    const stored = await this.local.manifestByDigest(repository, digest);
    if (!route) return stored;
    if (stored) return this.served(route, repository, stored);
    if (route.mirror.settings.offline) {
      throw this.unavailable('MIRROR_MANIFEST_UNAVAILABLE', `${repository}@${digest.value} is not cached, and the mirror of ${route.mirror.settings.source} is offline`, repository, digest.value);
    }
    return this.manifestFlights.run(`${repository}\u0000${digest.value}`, () => this.fetchManifest(route, repository, digest.value, undefined));
  }

  private isFresh(repository: string, tag: string, settings: MirrorSettings): boolean {
    const at = this.checked.get(`${repository}\u0000${tag}`);
    return at !== undefined && this.now() - at < settings.tagTtlMs;
  }

  /** A cached tag whose time is up: one HEAD upstream decides whether it still holds. */
  private async revalidate(route: Route, repository: string, tag: string, cached: StoredManifest): Promise<StoredManifest | undefined> {
    const { pool, settings } = route.mirror;
    const head = await pool.first(undefined, (upstream) => upstream.headManifest(route.upstreamRepository, tag));
    if (head.kind === 'found' && head.value === cached.digest) {
      this.checked.set(`${repository}\u0000${tag}`, this.now());
      return this.served(route, repository, cached);
    }
    if (head.kind === 'found') {
      try {
        const moved = await this.fetchManifest(route, repository, head.value, tag, head.upstream);
        if (moved) return moved;
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error;
        return this.stale(route, repository, tag, cached, 'fetch-failed', error.message);
      }
      return this.stale(route, repository, tag, cached, 'not-found', `${head.value} vanished upstream`);
    }
    if (head.kind === 'absent') return this.stale(route, repository, tag, cached, 'not-found', `no upstream of ${settings.source} has the tag any more`);
    return this.stale(route, repository, tag, cached, head.reason, head.message);
  }

  private stale(route: Route, repository: string, tag: string, cached: StoredManifest, reason: string, message: string): StoredManifest {
    const source = route.mirror.settings.source;
    this.options.metrics.staleServes.inc({ source, reason });
    this.options.log.warn({ source, repository, tag, digest: cached.digest, reason, err: message }, 'upstream did not confirm a cached tag: serving the cached manifest (stale)');
    return this.served(route, repository, cached);
  }

  private async fetchTagged(route: Route, repository: string, tag: string): Promise<StoredManifest | undefined> {
    const head = await route.mirror.pool.first(undefined, (upstream) => upstream.headManifest(route.upstreamRepository, tag));
    if (head.kind === 'absent') return undefined;
    if (head.kind === 'failed') throw this.unavailable('MIRROR_MANIFEST_UNAVAILABLE', `${repository}:${tag} is not cached, and no upstream of ${route.mirror.settings.source} could provide it: ${head.message}`, repository, tag);
    return this.fetchManifest(route, repository, head.value, tag, head.upstream);
  }

  /** Fetches a manifest by digest (verified by the client) and stores it, tagged when `tag` is given. */
  private async fetchManifest(route: Route, repository: string, digest: string, tag: string | undefined, preferred?: Upstream): Promise<StoredManifest | undefined> {
    const { pool, settings } = route.mirror;
    const got = await pool.first(digest, (upstream) => upstream.getManifest(route.upstreamRepository, digest), preferred);
    const reference = tag ?? digest;
    if (got.kind === 'absent') return undefined;
    if (got.kind === 'failed') throw this.unavailable('MIRROR_MANIFEST_UNAVAILABLE', `${named(repository, reference)} is not cached, and no upstream of ${settings.source} could provide it: ${got.message}`, repository, reference);
    const stored = await this.local.putManifest({ repository, reference, bytes: got.value.bytes, contentType: got.value.mediaType, sparse: true });
    if (!stored.ok) {
      const why = stored.reason === 'invalid' ? stored.message : stored.reason;
      throw this.unavailable('MIRROR_MANIFEST_UNAVAILABLE', `${got.upstream.url} sent a manifest for ${named(repository, reference)} that cannot be stored (${why})`, repository, reference);
    }
    if (tag !== undefined) this.checked.set(`${repository}\u0000${tag}`, this.now());
    this.options.metrics.misses.inc({ source: settings.source, kind: 'manifest' });
    this.options.log.info({ source: settings.source, upstream: got.upstream.url, repository, reference, digest }, 'mirror fetched a manifest');
    const parsed = parseDigest(digest);
    const fresh = parsed ? await this.local.manifestByDigest(repository, parsed) : undefined;
    return fresh && { ...fresh, mirroredFrom: settings.source };
  }

  /** A cached manifest going out: counted, marked as used for retention, labelled with its source. */
  private served(route: Route, repository: string, stored: StoredManifest): StoredManifest {
    const settings = route.mirror.settings;
    this.options.metrics.hits.inc({ source: settings.source, kind: 'manifest' });
    if (settings.retentionMs !== undefined) {
      const key = `${repository}@${stored.digest}`;
      const last = this.touched.get(key);
      const interval = Math.min(TOUCH_INTERVAL_MS, settings.retentionMs / 4);
      const digest = parseDigest(stored.digest);
      if (digest && (last === undefined || this.now() - last >= interval)) {
        this.touched.set(key, this.now());
        this.local.touchManifest(repository, digest).catch((error: unknown) => this.options.log.warn({ err: error, repository, digest: stored.digest }, 'could not mark a mirrored manifest as used'));
      }
    }
    return { ...stored, mirroredFrom: settings.source };
  }

  putManifest(request: PutManifestRequest): Promise<PutManifestResult> {
    this.refusePush(request.repository);
    return this.local.putManifest(request);
  }

  deleteManifest(repository: string, digest: Digest): Promise<boolean> {
    return this.local.deleteManifest(repository, digest);
  }

  deleteTag(repository: string, tag: string): Promise<boolean> {
    this.checked.delete(`${repository}\u0000${tag}`);
    return this.local.deleteTag(repository, tag);
  }

  // ---- blobs ---------------------------------------------------------------------

  async statBlob(repository: string, digest: Digest, options: { touch?: boolean; read?: boolean } = {}): Promise<BlobInfo | undefined> {
    const found = await this.local.statBlob(repository, digest, { touch: options.touch ?? false });
    const route = this.table.route(repository);
    if (!route) return found;
    const source = route.mirror.settings.source;
    if (found) {
      if (options.read) this.options.metrics.hits.inc({ source, kind: 'blob' });
      return found;
    }
    const pending = this.pending(digest);
    if (pending) {
      // Another request's fetch serves this one too: no upstream request of its own.
      if (options.read) this.options.metrics.hits.inc({ source, kind: 'blob' });
      return this.join(pending, repository, digest);
    }
    // Fetched earlier through another repository (or pushed there): link it, no upstream needed.
    const mounted = await this.local.mountBlob(repository, digest);
    if (mounted) {
      if (options.read) this.options.metrics.hits.inc({ source, kind: 'blob' });
      return mounted;
    }
    if (route.mirror.settings.offline) throw this.unavailable('MIRROR_BLOB_UNAVAILABLE', `${digest.value} is not cached, and the mirror of ${source} is offline`, repository, digest.value);
    // A HEAD learns the size upstream; under allowPush it is a pusher asking whether to
    // upload, which only what is here answers.
    if (!options.read) return route.mirror.settings.allowPush ? undefined : this.headUpstream(route, repository, digest);
    // Looked up again: another request may have started it while this one looked locally.
    return this.join(this.pending(digest) ?? this.startFetch(route, repository, digest), repository, digest);
  }

  /** A HEAD (a pusher's or a prober's check) learns the size upstream without fetching the blob. */
  private async headUpstream(route: Route, repository: string, digest: Digest): Promise<BlobInfo | undefined> {
    const answer = await route.mirror.pool.first(digest.value, (upstream) => upstream.headBlob(route.upstreamRepository, digest.value));
    if (answer.kind === 'found') return { digest: digest.value, size: answer.value };
    if (answer.kind === 'absent') return undefined;
    throw this.unavailable('MIRROR_BLOB_UNAVAILABLE', `${digest.value} is not cached, and no upstream of ${route.mirror.settings.source} could provide it: ${answer.message}`, repository, digest.value);
  }

  private async join(pending: PendingBlob, repository: string, digest: Digest): Promise<BlobInfo | undefined> {
    pending.repositories.add(repository);
    const start = await pending.fetch.started;
    if (start.ok) return { digest: digest.value, size: start.size };
    if (start.absent) return undefined;
    throw this.unavailable('MIRROR_BLOB_UNAVAILABLE', `${digest.value} is not cached, and no upstream could provide it: ${start.message}`, repository, digest.value);
  }

  private startFetch(route: Route, repository: string, digest: Digest): PendingBlob {
    const { pool, settings } = route.mirror;
    const source = settings.source;
    this.options.metrics.misses.inc({ source, kind: 'blob' });
    let from: Upstream | undefined;
    const open = async (): Promise<OpenResult> => {
      const answer = await pool.first(digest.value, (upstream) => upstream.getBlob(route.upstreamRepository, digest.value));
      if (answer.kind !== 'found') return answer;
      from = answer.upstream;
      const bytes = this.options.metrics.upstreamBytes.labels({ source, upstream: answer.upstream.url });
      return { kind: 'found', blob: answer.value, onBytes: (count) => bytes.inc(count) };
    };
    const streamFailed = (error: unknown): string => {
      const failure = from!.recordStreamFailure(error);
      pool.recordFailure(from!, failure, digest.value);
      return failure.reason === 'invalid' ? `${failure.message}; nothing was stored` : failure.message;
    };
    const repositories = new Set([repository]);
    const { dir, driverDir } = this.options.spool;
    const commit: SpoolCommit =
      driverDir !== undefined
        ? { kind: 'file', store: (name, size) => this.adoptSpool(pending, digest, `${driverDir}/${name}`, size, source) }
        : { kind: 'stream', store: (body, size) => this.upload(pending, digest, body, size, source) };
    const fetch = new BlobFetch({ spoolDir: dir, open, streamFailed, commit });
    const pending: PendingBlob = { fetch, repositories };
    this.fetches.set(digest.value, pending);
    void fetch.finished.finally(() => this.forget(pending, digest));
    return pending;
  }

  /** The fetch of `digest` in progress; one that already failed is forgotten, so the next request tries again. */
  private pending(digest: Digest): PendingBlob | undefined {
    const pending = this.fetches.get(digest.value);
    if (!pending?.fetch.failed) return pending;
    this.forget(pending, digest);
    return undefined;
  }

  private forget(pending: PendingBlob, digest: Digest): void {
    if (this.fetches.get(digest.value) === pending) this.fetches.delete(digest.value);
  }

  /** Stores a fetched blob through an ordinary upload (which verifies it again), then links the others. */
  private async upload(pending: PendingBlob, digest: Digest, body: Readable, size: number, source: string): Promise<void> {
    const [first] = pending.repositories as Set<string>;
    const log = this.options.log;
    const session = await this.local.startUpload(first!);
    let result: FinishResult;
    try {
      result = await this.local.finishUpload(first!, session.id, digest, body, { length: size });
    } catch (error) {
      await this.local.cancelUpload(first!, session.id).catch(() => undefined);
      log.error({ err: error, source, digest: digest.value }, 'mirror could not store a fetched blob (clients still got it)');
      return;
    }
    if (!result.ok) {
      await this.local.cancelUpload(first!, session.id);
      // A fetch that failed midway ends the upload early; it was logged where it failed.
      if (result.reason !== 'incomplete-body') log.error({ source, digest: digest.value, reason: result.reason }, 'mirror could not store a fetched blob');
      return;
    }
    await this.stored(pending, digest, size, source, first!);
  }

  /** Moves the verified spool file into the blob store (filesystem), then links the others. */
  private async adoptSpool(pending: PendingBlob, digest: Digest, file: string, size: number, source: string): Promise<void> {
    const [first] = pending.repositories as Set<string>;
    try {
      await this.local.adoptVerifiedBlob(first!, digest, file);
    } catch (error) {
      this.options.log.error({ err: error, source, digest: digest.value }, 'mirror could not store a fetched blob (clients still got it)');
      return;
    }
    await this.stored(pending, digest, size, source, first!);
  }

  /** From here on the storage has it: new requests find it there; every repository that asked links it. */
  private async stored(pending: PendingBlob, digest: Digest, size: number, source: string, first: string): Promise<void> {
    this.forget(pending, digest);
    for (const repository of pending.repositories) if (repository !== first) await this.local.mountBlob(repository, digest);
    this.options.log.info({ source, digest: digest.value, size, repositories: [...pending.repositories] }, 'mirror stored a blob');
  }

  async readBlob(repository: string, digest: Digest, range?: { start: number; end: number }): Promise<BlobRead | undefined> {
    const route = this.table.route(repository);
    const pending = route ? this.pending(digest) : undefined;
    if (pending) return this.readPending(pending, repository, digest, range);
    const found = await this.local.readBlob(repository, digest, range);
    if (found || !route) return found;
    // Normally statBlob (read) started the fetch; a reader coming here first starts it too.
    if (!(await this.statBlob(repository, digest, { read: true }))) return undefined;
    const started = this.pending(digest);
    return started ? this.readPending(started, repository, digest, range) : this.local.readBlob(repository, digest, range);
  }

  private async readPending(pending: PendingBlob, repository: string, digest: Digest, range?: { start: number; end: number }): Promise<BlobRead | undefined> {
    if (!(await this.join(pending, repository, digest))) return undefined;
    // Failed since it started: answer that (the retry goes to the next upstream), not a cut body.
    const failure = pending.fetch.failure;
    if (failure) throw this.unavailable('MIRROR_BLOB_UNAVAILABLE', `${digest.value} could not be fetched: ${failure.message}`, repository, digest.value);
    const reader = pending.fetch.reader(range);
    // The fetch ended meanwhile, stored: the storage has it now.
    if (!reader) return this.local.readBlob(repository, digest, range);
    return { kind: 'stream', stream: reader.stream, size: reader.size };
  }

  async openBlob(repository: string, digest: Digest): Promise<Readable | undefined> {
    const read = await this.readBlob(repository, digest);
    if (!read) return undefined;
    if (read.kind === 'redirect') return this.local.openBlob(repository, digest);
    return contentStream(read);
  }

  unlinkBlob(repository: string, digest: Digest): Promise<boolean> {
    return this.local.unlinkBlob(repository, digest);
  }

  mountBlob(repository: string, digest: Digest, fromRepository?: string): Promise<BlobInfo | undefined> {
    this.refusePush(repository);
    return this.local.mountBlob(repository, digest, fromRepository);
  }

  // ---- uploads -------------------------------------------------------------------

  startUpload(repository: string): Promise<UploadStatus> {
    this.refusePush(repository);
    return this.local.startUpload(repository);
  }

  uploadStatus(repository: string, id: string, expectedOffset?: number): Promise<UploadStatus | undefined> {
    return this.local.uploadStatus(repository, id, expectedOffset);
  }

  appendUpload(repository: string, id: string, body: AsyncIterable<Uint8Array>, options: ChunkOptions): Promise<AppendResult> {
    return this.local.appendUpload(repository, id, body, options);
  }

  finishUpload(repository: string, id: string, digest: Digest, body: AsyncIterable<Uint8Array> | undefined, options: ChunkOptions): Promise<FinishResult> {
    this.refusePush(repository);
    return this.local.finishUpload(repository, id, digest, body, options);
  }

  cancelUpload(repository: string, id: string): Promise<boolean> {
    return this.local.cancelUpload(repository, id);
  }

  private refusePush(repository: string): void {
    const route = this.table.route(repository);
    if (!route || route.mirror.settings.allowPush) return;
    throw new RegistryError('MIRROR_PUSH_REFUSED', `${repository} is a pull-through mirror of ${route.mirror.settings.source}: pushes are refused (allowPush is off)`, { name: repository });
  }

  // ---- listings, health ----------------------------------------------------------

  listTags(repository: string): Promise<readonly string[] | undefined> {
    return this.local.listTags(repository);
  }

  listRepositories(options?: { readonly allowStale?: boolean }): Promise<readonly string[]> {
    return this.local.listRepositories(options);
  }

  /** What is cached here: a tag is only re-checked upstream when a manifest is asked for. */
  tagInfo(repository: string, tag: string): Promise<TagInfo | undefined> {
    return this.local.tagInfo(repository, tag);
  }

  referrers(repository: string, subject: Digest): Promise<readonly Descriptor[]> {
    return this.local.referrers(repository, subject);
  }

  checkHealth(): Promise<void> {
    return this.local.checkHealth();
  }

  gcStatus(): Promise<GcStatus> {
    return this.local.gcStatus();
  }

  private unavailable(kind: 'MIRROR_MANIFEST_UNAVAILABLE' | 'MIRROR_BLOB_UNAVAILABLE', message: string, repository: string, reference: string): RegistryError {
    return new RegistryError(kind, message, { name: repository, reference });
  }
}

/** `repo:tag` or `repo@digest`, for messages. */
function named(repository: string, reference: string): string {
  return `${repository}${looksLikeDigest(reference) ? '@' : ':'}${reference}`;
}
