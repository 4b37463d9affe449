// The content store the registry's HTTP layer talks to. Every outcome a client can
// cause is a value in a discriminated union, so "not found" or "wrong digest" is never
// an exception; exceptions mean the store itself failed (disk, permissions).
import type { Digest } from '../oci/digest.js';
import type { Descriptor, Manifest } from '../oci/manifest.js';
import type { ManifestMediaType } from '../oci/media-types.js';
import type { Readable } from 'node:stream';
import type { ContentSource } from './driver/driver.js';

export interface BlobInfo {
  readonly digest: string;
  readonly size: number;
}

export interface StoredManifest {
  readonly digest: string;
  readonly mediaType: ManifestMediaType;
  readonly bytes: Buffer;
  readonly manifest: Manifest;
  /** The source registry (docker.io) when a pull-through mirror keeps this manifest. */
  readonly mirroredFrom?: string;
}

export interface UploadStatus {
  readonly id: string;
  /** Bytes received so far; the next chunk must start here. */
  readonly offset: number;
}

export type UploadFailure =
  | { readonly ok: false; readonly reason: 'upload-unknown' }
  | { readonly ok: false; readonly reason: 'range-mismatch'; readonly offset: number }
  | { readonly ok: false; readonly reason: 'size-mismatch'; readonly expected: number; readonly received: number }
  | { readonly ok: false; readonly reason: 'incomplete-body'; readonly offset: number };

export type AppendResult = { readonly ok: true; readonly status: UploadStatus } | UploadFailure;

export type FinishResult =
  | { readonly ok: true; readonly blob: BlobInfo }
  | UploadFailure
  | { readonly ok: false; readonly reason: 'digest-mismatch'; readonly actual: string };

export interface ChunkOptions {
  /** First byte offset the client says this chunk starts at (from Content-Range). */
  readonly start?: number;
  /** Exact number of bytes the body must carry (from Content-Length), if known. */
  readonly length?: number;
  /** The offset the session's signed state (the upload's Location) says it has reached. */
  readonly expectedOffset?: number;
}

export type PutManifestResult =
  | { readonly ok: true; readonly digest: string; readonly manifest: Manifest; readonly tags: readonly string[] }
  | { readonly ok: false; readonly reason: 'invalid'; readonly message: string }
  | { readonly ok: false; readonly reason: 'digest-mismatch'; readonly actual: string }
  | { readonly ok: false; readonly reason: 'missing-references'; readonly missing: readonly string[] }
  /** `moveTags` was false and the tag points at another manifest; nothing was written. */
  | { readonly ok: false; readonly reason: 'tag-exists'; readonly tag: string; readonly current: string };

export interface PutManifestRequest {
  readonly repository: string;
  /** A tag, or the digest the client claims the bytes have. */
  readonly reference: string;
  readonly bytes: Buffer;
  readonly contentType: string | undefined;
  /** Extra tags to point at the manifest (OCI `?tag=` parameters). */
  readonly extraTags?: readonly string[];
  /** false: refuse to move a tag that points at another manifest (the caller may not overwrite). Default true. */
  readonly moveTags?: boolean;
  /** Accept it although blobs or child manifests it names are absent (a mirror fetches them on demand). */
  readonly sparse?: boolean;
}

export interface RepositoryPage {
  readonly items: readonly string[];
  /** True when more items follow the returned page. */
  readonly more: boolean;
}

/** A blob's bytes for a GET: a file or a stream of the range, or a URL to send the client to. */
export type BlobRead = ContentSource | { readonly kind: 'redirect'; readonly url: string };

export interface GcStatus {
  readonly runs: number;
  readonly bytesFreed: number;
  readonly lastRunEnd: string | undefined;
  /** What the last (not dry-run) collection freed; undefined in records older runs wrote. */
  readonly lastRun: { readonly bytesFreed: number; readonly blobsDeleted: number } | undefined;
}

/** Where a tag points, and when it was last written (a push, or a move to another digest). */
export interface TagInfo {
  readonly digest: string;
  readonly updatedMs: number;
}

/**
 * The registry's content, as the HTTP layer sees it: distribution's model of
 * repositories that link blobs, manifests and tags, whatever driver keeps the bytes.
 */
export interface RegistryStorage {
  /** Where the data lives, for logs (never a secret). */
  readonly location: string;
  /**
   * `touch`: also mark the blob as in use now (a pusher's existence check; see gc.ts).
   * `read`: the caller reads the bytes next (a GET), so a mirror may start fetching a
   * blob it lacks now instead of only asking its upstream whether it exists.
   */
  statBlob(repository: string, digest: Digest, options?: { touch?: boolean; read?: boolean }): Promise<BlobInfo | undefined>;
  /** The blob's bytes for a client: a file, a stream of `range`, or a redirect. */
  readBlob(repository: string, digest: Digest, range?: { start: number; end: number }): Promise<BlobRead | undefined>;
  /** The blob as a plain stream (no redirect), for in-process readers. */
  openBlob(repository: string, digest: Digest): Promise<Readable | undefined>;
  unlinkBlob(repository: string, digest: Digest): Promise<boolean>;
  /** Links an existing blob into `repository`; from `fromRepository` when given, else from anywhere. */
  mountBlob(repository: string, digest: Digest, fromRepository?: string): Promise<BlobInfo | undefined>;

  startUpload(repository: string): Promise<UploadStatus>;
  uploadStatus(repository: string, id: string, expectedOffset?: number): Promise<UploadStatus | undefined>;
  appendUpload(repository: string, id: string, body: AsyncIterable<Uint8Array>, options: ChunkOptions): Promise<AppendResult>;
  finishUpload(repository: string, id: string, digest: Digest, body: AsyncIterable<Uint8Array> | undefined, options: ChunkOptions): Promise<FinishResult>;
  cancelUpload(repository: string, id: string): Promise<boolean>;

  getManifest(repository: string, reference: string): Promise<StoredManifest | undefined>;
  /** The manifest with this digest, when the repository holds a revision of it. */
  manifestByDigest(repository: string, digest: Digest): Promise<StoredManifest | undefined>;
  putManifest(request: PutManifestRequest): Promise<PutManifestResult>;
  /** Deletes a manifest revision and every tag that points at it. */
  deleteManifest(repository: string, digest: Digest): Promise<boolean>;
  deleteTag(repository: string, tag: string): Promise<boolean>;

  /** Sorted tags, or undefined when the repository does not exist. */
  listTags(repository: string): Promise<readonly string[] | undefined>;
  /** The tag's target and last write; undefined when there is no such tag. */
  tagInfo(repository: string, tag: string): Promise<TagInfo | undefined>;
  /** `allowStale`: from the last catalog walk at once (see RepositoryCatalog.list). */
  listRepositories(options?: { readonly allowStale?: boolean }): Promise<readonly string[]>;
  referrers(repository: string, subject: Digest): Promise<readonly Descriptor[]>;

  /** Throws when the storage cannot serve (StorageUnavailableError: cannot be reached). */
  checkHealth(): Promise<void>;
  /** What `registry gc` runs recorded (GC runs as its own process). */
  gcStatus(): Promise<GcStatus>;
}

/**
 * A robot account as stored (docker/registry/v2/_berth/robots/NAME.json): its bounds and
 * the bcrypt hash of its secret, never the secret itself.
 */
export interface RobotRecord {
  /** Without the `robot$` prefix. */
  readonly name: string;
  /** Repository globs it may reach. */
  readonly repositories: readonly string[];
  readonly actions: readonly string[];
  readonly createdAt: string;
  /** ISO time, or null: never. */
  readonly expiresAt: string | null;
  /** bcrypt hash of the secret; null when the hash is kept in an htpasswd file instead. */
  readonly secretHash: string | null;
}

/** The robot accounts the registry reads (created and deleted by `berth registry robot`). */
export interface RobotDirectory {
  /** The robot named NAME (without prefix); undefined when there is none. Fresh within a second. */
  lookup(name: string): Promise<RobotRecord | undefined>;
}
