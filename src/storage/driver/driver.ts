// The storage driver: the few operations distribution's layout needs from a place that
// keeps bytes under paths, modelled on distribution's registry/storage/driver
// (storagedriver.go). Paths are relative, `/`-separated, built by storage/layout.ts from
// validated names and digests; a driver never sees anything else. Two drivers implement
// it: a directory on a local disk (filesystem.ts) and an S3 bucket (s3.ts). Every driver
// passes the one suite in test/unit/storage-driver-suite.test.ts.
//
// What a driver guarantees, on any backend:
// - putContent, a committed writer and move are atomic: a reader (or a crash) sees the
//   old object or the whole new one, never a part;
// - nothing is written outside the driver's root (directory, or bucket prefix);
// - "not found" is a value (undefined, false, []), never an exception; exceptions mean
//   the backend failed, and StorageUnavailableError means it could not be reached.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

export interface FileInfo {
  readonly size: number;
  /** When the object was last written, or touched (see touch). */
  readonly modifiedMs: number;
}

export interface DirectoryEntry {
  readonly name: string;
  readonly isDirectory: boolean;
}

/** A file found by walk(), with its path relative to the driver's root. */
export interface WalkEntry extends FileInfo {
  readonly path: string;
}

export interface MarkedDirectory {
  /** Relative to the path searched. */
  readonly path: string;
  /** The `_` children's names, when the backend tells them apart. */
  readonly markers?: readonly string[];
}

/** An object's bytes, as the backend can best hand them out. */
export type ContentSource =
  /**
   * A local file, to read with positional reads from `start` (registry/send-file.ts):
   * `size` bytes, the requested range. Close the handle.
   */
  | { readonly kind: 'file'; readonly handle: FileHandle; readonly start: number; readonly size: number }
  /** A byte stream of exactly the requested range (`size` bytes), with backpressure. */
  | { readonly kind: 'stream'; readonly stream: Readable; readonly size: number };

export interface ByteRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, inclusive. */
  readonly end: number;
}

/** What a writer's append() stored. */
export interface AppendOutcome {
  /** Total bytes stored after this append. */
  readonly size: number;
  /** The body stream failed (the client went away); every byte that arrived is kept. */
  readonly bodyFailed: boolean;
}

/**
 * Appends to one object across requests (an upload session), as distribution's
 * FileWriter. The bytes are readable at the path once committed (before that, a driver
 * may show them or not: nothing reads an upload before its commit).
 */
export interface FileWriter {
  /** Bytes stored so far. */
  readonly size: number;
  /**
   * Stores the body after the current end. `stored` sees every byte, in order, once it
   * belongs to the object (a hash over them matches what commit makes readable).
   */
  append(body: AsyncIterable<Uint8Array>, stored: (chunk: Uint8Array) => void): Promise<AppendOutcome>;
  /** Makes the bytes durable and readable at the path; the writer is done. */
  commit(): Promise<void>;
  /** Throws the bytes away; the writer is done. */
  cancel(): Promise<void>;
}

export interface WriterOptions {
  /**
   * The size the caller expects the object to have (an upload's offset, from its signed
   * state): a driver that caches sessions may trust its cache when the sizes agree.
   */
  readonly expectedSize?: number;
}

/** The answer of reclaim(): what happened to an object GC wanted to delete. */
export type ReclaimResult = 'deleted' | 'in-use' | 'gone';

export interface ReclaimHooks {
  /** After the object is claimed for deletion, before it is re-checked (tests interleave pushes here). */
  afterClaim?(): Promise<void>;
}

export interface StorageDriver {
  /** `filesystem` or `s3`, for messages and metrics. */
  readonly name: string;
  /** Where the data lives, for logs and errors (never a secret). */
  readonly location: string;
  /**
   * True when a walk answers many objects per round trip and each single read is a
   * round trip (S3: a thousand keys per listing); false when reads are local calls and a
   * walk costs one call per directory (the filesystem). Lets the layout pick the cheaper
   * of "read each" and "walk all" for the same answer.
   */
  readonly listsInBulk: boolean;

  /** A small object's bytes (a link, a manifest); undefined when missing. */
  getContent(path: string): Promise<Buffer | undefined>;
  /** Writes a small object atomically, replacing any old one. */
  putContent(path: string, content: string | Uint8Array): Promise<void>;
  /** Writes a small object only if none exists; false when one does (locks, leases). */
  createExclusive(path: string, content: string | Uint8Array): Promise<boolean>;
  /** A small object with its version, for compare-and-swap. */
  getVersioned(path: string): Promise<{ readonly content: Buffer; readonly version: string } | undefined>;
  /** Replaces the object only while it still has `version`; false otherwise. */
  putIfVersion(path: string, content: string | Uint8Array, version: string): Promise<boolean>;
  /** Deletes the object only while it still has `version`; false otherwise. */
  deleteIfVersion(path: string, version: string): Promise<boolean>;

  /** The object's bytes (a range of them); undefined when missing. */
  open(path: string, range?: ByteRange): Promise<ContentSource | undefined>;
  /** A URL a client may fetch the object from directly, or undefined (no redirects here). */
  redirectUrl(path: string): Promise<string | undefined>;
  /** A new, empty object being written at `path`. */
  create(path: string): Promise<FileWriter>;
  /** Continues the writer at `path`; undefined when there is none. */
  resume(path: string, options?: WriterOptions): Promise<FileWriter | undefined>;

  /** Size and modification of a file (not a directory); undefined when missing. */
  stat(path: string): Promise<FileInfo | undefined>;
  /**
   * Direct children of a directory (a prefix on S3): files and subdirectories, in no
   * particular order; [] when there is none.
   */
  list(path: string): Promise<DirectoryEntry[]>;
  /** True when `path` is a file, or a directory with something in it. */
  exists(path: string): Promise<boolean>;
  /**
   * A number that changes whenever list(path) would answer differently, when the
   * backend can tell cheaply (a directory's mtime); undefined when it cannot, and a
   * cached listing must then expire by age.
   */
  listingVersion(path: string): Promise<number | undefined>;
  /** Every file under `path`, recursively, in no particular order. */
  walk(path: string): AsyncIterable<WalkEntry>;
  /**
   * The directories below `path` that hold `_`-prefixed children (distribution's
   * repositories hold `_manifests`, `_layers`, `_uploads`), not descending into those
   * children. The filesystem re-walks only what changed; S3 answers with one listing per
   * thousand directories (delimiter `/_`), without naming the markers.
   */
  findMarkedDirectories(path: string): Promise<MarkedDirectory[]>;

  /** Moves a file or a directory; the target appears whole. Replaces an existing file. */
  move(from: string, to: string): Promise<void>;
  /** Deletes a file or a directory with everything under it; missing is fine. */
  delete(path: string): Promise<void>;

  /**
   * Marks the object as in use now, for online GC, and answers what is there: undefined
   * when it does not exist or is being deleted by a collection. A collection never
   * deletes an object touched after its cutoff (see storage/gc.ts and reclaim).
   */
  touch(path: string): Promise<FileInfo | undefined>;
  /** When the object was last written or touched; undefined when missing. */
  lastUsed(path: string): Promise<number | undefined>;
  /**
   * Deletes the directory `dir` unless `keep` says it is still needed, safely against a
   * concurrent touch: the directory is first claimed (the filesystem moves it into a
   * trash area; S3 writes a tombstone that touch() honours), then `keep` runs with a
   * lastUsed() that sees the claimed objects, and the directory is either deleted or
   * given back. A touch either lands before the claim (and `keep` sees it) or fails.
   */
  reclaim(dir: string, keep: (lastUsed: (path: string) => Promise<number | undefined>) => Promise<boolean>, hooks?: ReclaimHooks): Promise<ReclaimResult>;
  /** Puts back what an interrupted reclaim left half done; the number of objects restored. */
  recoverReclaims(): Promise<number>;

  /** Removes abandoned partial writes (staging files, multipart uploads) older than `maxAgeMs`. */
  purgeAbandonedWrites(maxAgeMs: number): Promise<{ readonly removed: number }>;
  /** Throws StorageUnavailableError (or another error) when the backend cannot serve. */
  checkHealth(): Promise<void>;
}

/**
 * A writer's session went away under it (purged as abandoned, or finished by another
 * process): the client's upload is unknown now, not a storage failure.
 */
export class WriterGoneError extends Error {
  readonly code = 'EWRITERGONE';
  constructor(readonly path: string) {
    super(`the upload at ${path} no longer exists`);
  }
}

/** The backend cannot be reached or answers with server errors: a 503, not a 500. */
export class StorageUnavailableError extends Error {
  readonly code = 'EUNAVAILABLE';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
