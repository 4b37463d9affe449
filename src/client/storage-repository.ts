// A repository of a registry's storage (a distribution-layout directory) as a ContentReader and
// ContentWriter, going through the same storage code the server uses (atomic commits,
// digest checks), so `registry save` needs no server.
import type { Readable } from 'node:stream';
import { parseDigest } from '../oci/digest.js';
import type { RegistryStorage } from '../storage/types.js';
import type { BlobWriteOutcome, ContentDescriptor, ContentReader, ContentWriter, ManifestContent } from './content.js';
import { verifyDigestStream } from './verify-stream.js';

export class StorageRepository implements ContentReader, ContentWriter {
  readonly label: string;

  constructor(
    private readonly storage: RegistryStorage,
    readonly repository: string,
  ) {
    this.label = `${storage.location}:${repository}`;
  }

  async readManifest(reference: string): Promise<ManifestContent | undefined> {
    const stored = await this.storage.getManifest(this.repository, reference);
    return stored && { digest: stored.digest, mediaType: stored.mediaType, bytes: stored.bytes };
  }

  async openBlob(descriptor: ContentDescriptor): Promise<Readable> {
    const digest = parseDigest(descriptor.digest);
    const stream = digest ? await this.storage.openBlob(this.repository, digest) : undefined;
    if (!digest || !stream) throw new Error(`${this.label}: blob ${descriptor.digest} unknown`);
    return verifyDigestStream(stream, digest);
  }

  async hasManifest(digest: string): Promise<boolean> {
    const parsed = parseDigest(digest);
    return parsed !== undefined && (await this.storage.manifestByDigest(this.repository, parsed)) !== undefined;
  }

  async writeBlob(descriptor: ContentDescriptor, open: () => Promise<Readable>): Promise<BlobWriteOutcome> {
    const digest = parseDigest(descriptor.digest);
    if (!digest) throw new Error(`invalid digest ${descriptor.digest}`);
    if (await this.storage.statBlob(this.repository, digest, { touch: true })) return 'exists';
    if (await this.storage.mountBlob(this.repository, digest)) return 'mounted';
    const session = await this.storage.startUpload(this.repository);
    const result = await this.storage.finishUpload(this.repository, session.id, digest, await open(), { length: descriptor.size });
    if (!result.ok) {
      await this.storage.cancelUpload(this.repository, session.id);
      throw new Error(`${this.label}: storing ${descriptor.digest} failed: ${result.reason}`);
    }
    return 'uploaded';
  }

  async writeManifest(reference: string, manifest: ManifestContent): Promise<void> {
    const result = await this.storage.putManifest({ repository: this.repository, reference, bytes: manifest.bytes, contentType: manifest.mediaType });
    if (!result.ok) {
      const detail =
        result.reason === 'invalid'
          ? result.message
          : result.reason === 'missing-references'
            ? `missing ${result.missing.join(', ')}`
            : result.reason === 'tag-exists'
              ? `tag ${result.tag} points at ${result.current}`
              : `digest ${result.actual}`;
      throw new Error(`${this.label}: storing manifest ${reference} failed: ${detail}`);
    }
  }
}
