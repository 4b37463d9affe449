// A repository of a remote registry as a ContentReader and ContentWriter.
import type { Readable } from 'node:stream';
import type { BlobWriteOutcome, ContentDescriptor, ContentReader, ContentWriter, ManifestContent } from './content.js';
import type { RegistryClient } from './registry-client.js';

export class RegistryRepository implements ContentReader, ContentWriter {
  readonly label: string;

  constructor(
    readonly client: RegistryClient,
    readonly repository: string,
    private readonly options: { mountFrom?: string; chunkSize?: number } = {},
  ) {
    this.label = `${client.endpoint.name}/${repository}`;
  }

  readManifest(reference: string): Promise<ManifestContent | undefined> {
    return this.client.getManifest(this.repository, reference);
  }

  async openBlob(descriptor: ContentDescriptor): Promise<Readable> {
    return (await this.client.getBlob(this.repository, descriptor.digest)).stream;
  }

  async hasManifest(digest: string): Promise<boolean> {
    return (await this.client.headManifest(this.repository, digest)) !== undefined;
  }

  writeBlob(descriptor: ContentDescriptor, open: () => Promise<Readable>): Promise<BlobWriteOutcome> {
    return this.client.pushBlob(this.repository, descriptor.digest, descriptor.size, open, this.options);
  }

  async writeManifest(reference: string, manifest: ManifestContent): Promise<void> {
    await this.client.putManifest(this.repository, reference, manifest.bytes, manifest.mediaType);
  }
}
