// The local store as both ends of copyImage: StoreTarget receives pulls and loads,
// StoreSource feeds pushes. References are full image names
// (`docker.io/library/nginx:latest`) or digests (child manifests).
import { Readable } from 'node:stream';
import type { BlobWriteOutcome, ContentDescriptor, ContentReader, ContentWriter, ManifestContent } from '../client/content.js';
import { parseDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { isManifestMediaType } from '../oci/media-types.js';
import { BlobNotFoundError } from './blob-store.js';
import { collectTree } from './image-tree.js';
import { entryName, namedEntry, type IndexEntry } from './index-file.js';
import type { ImageStore, Lease } from './image-store.js';

/** Sets `name` to point at `descriptor`, replacing what it pointed at. */
export async function setImageName(store: ImageStore, name: string, descriptor: IndexEntry): Promise<void> {
  await store.updateIndex((entries) => ({
    entries: [...entries.filter((e) => entryName(e) !== name), namedEntry(descriptor, name)],
    result: undefined,
  }));
}

export class StoreTarget implements ContentWriter {
  readonly label: string;

  constructor(
    private readonly store: ImageStore,
    private readonly lease: Lease,
  ) {
    this.label = `store:${store.root}`;
  }

  /** True only when the manifest and everything it references are present. */
  async hasManifest(digest: string): Promise<boolean> {
    await this.lease.add([digest]);
    const size = await this.store.blobs.size(digest);
    if (size === undefined) return false;
    const bytes = await this.store.blobs.read(digest).catch(() => undefined);
    const parsed = bytes && parseManifest(bytes);
    if (!parsed?.ok) return false;
    try {
      const items = await collectTree(this.store.blobs, { mediaType: parsed.manifest.mediaType, digest, size }, { missing: 'fail' });
      await this.lease.add(items.map((item) => item.descriptor.digest));
      // The lease was taken after the check; a collection in between would show now.
      await collectTree(this.store.blobs, { mediaType: parsed.manifest.mediaType, digest, size }, { missing: 'fail' });
      return true;
    } catch {
      return false;
    }
  }

  async writeBlob(descriptor: ContentDescriptor, open: () => Promise<Readable>): Promise<BlobWriteOutcome> {
    await this.lease.add([descriptor.digest]);
    if ((await this.store.blobs.size(descriptor.digest)) === descriptor.size) return 'exists';
    await this.store.blobs.write(descriptor, await open());
    return 'uploaded';
  }

  async writeManifest(reference: string, manifest: ManifestContent): Promise<void> {
    await this.lease.add([manifest.digest]);
    if ((await this.store.blobs.size(manifest.digest)) !== manifest.bytes.length) {
      await this.store.blobs.write({ digest: manifest.digest, size: manifest.bytes.length }, Readable.from([manifest.bytes]));
    }
    if (parseDigest(reference)) return;
    await setImageName(this.store, reference, { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length });
  }
}

export class StoreSource implements ContentReader {
  readonly label: string;

  constructor(private readonly store: ImageStore) {
    this.label = `store:${store.root}`;
  }

  /** By full name (index.json) or by digest (any stored manifest blob). */
  async readManifest(reference: string): Promise<ManifestContent | undefined> {
    let digest = parseDigest(reference)?.value;
    let mediaType: string | undefined;
    if (!digest) {
      const entry = (await this.store.entries()).find((e) => entryName(e) === reference);
      if (!entry) return undefined;
      digest = entry.digest;
      mediaType = entry.mediaType;
    }
    let bytes: Buffer;
    try {
      bytes = await this.store.blobs.read(digest);
    } catch (error) {
      if (error instanceof BlobNotFoundError) return undefined;
      throw error;
    }
    if (!mediaType || !isManifestMediaType(mediaType)) {
      const parsed = parseManifest(bytes);
      mediaType = parsed.ok ? parsed.manifest.mediaType : (mediaType ?? 'application/octet-stream');
    }
    return { digest, mediaType, bytes };
  }

  openBlob(descriptor: ContentDescriptor): Promise<Readable> {
    return this.store.blobs.open(descriptor.digest);
  }
}
