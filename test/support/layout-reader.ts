// An OCI image layout directory (as LayoutWriter writes it) as a ContentReader, so
// tests can feed copyImage without a registry.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ContentDescriptor, ContentReader, ManifestContent } from '../../src/client/content.js';

interface LayoutIndex {
  manifests: Array<{ mediaType: string; digest: string; annotations?: Record<string, string> }>;
}

function blobFile(dir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return path.join(dir, 'blobs', algorithm!, hex!);
}

export function layoutReader(dir: string): ContentReader {
  return {
    label: `oci:${dir}`,
    async readManifest(reference: string): Promise<ManifestContent | undefined> {
      let digest = reference.startsWith('sha256:') ? reference : undefined;
      if (!digest) {
        const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as LayoutIndex;
        digest = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === reference)?.digest;
      }
      if (!digest) return undefined;
      const bytes = await readFile(blobFile(dir, digest)).catch(() => undefined);
      if (!bytes) return undefined;
      const mediaType = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
      return { digest, mediaType, bytes };
    },
    openBlob(descriptor: ContentDescriptor): Promise<Readable> {
      return Promise.resolve(createReadStream(blobFile(dir, descriptor.digest)));
    },
  };
}
