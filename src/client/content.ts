// The two sides of an image transfer. A registry repository, a local OCI layout and a
// distribution-layout directory all implement these, so one copy routine moves
// images between any of them (pull, push, save, sync, copy).
import type { Readable } from 'node:stream';

export interface ContentDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

export interface ManifestContent {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

export type BlobWriteOutcome = 'exists' | 'mounted' | 'uploaded';

export interface ContentReader {
  /** By tag or digest; undefined when absent. */
  readManifest(reference: string): Promise<ManifestContent | undefined>;
  /** The blob's bytes; the stream errors at its end if they do not match the digest. */
  openBlob(descriptor: ContentDescriptor): Promise<Readable>;
  /** A short name for messages (`registry/repo`, `oci:/path`). */
  readonly label: string;
}

export interface ContentWriter {
  hasManifest(digest: string): Promise<boolean>;
  writeBlob(descriptor: ContentDescriptor, open: () => Promise<Readable>): Promise<BlobWriteOutcome>;
  /** Stores the manifest under `reference` (a tag, or its digest for untagged children). */
  writeManifest(reference: string, manifest: ManifestContent): Promise<void>;
  readonly label: string;
}
