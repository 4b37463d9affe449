// Many repositories at once, written straight into a data directory in distribution's
// layout (no HTTP): every repository links the same small image under one tag, so
// 10,000 of them take seconds and little space. Write them before the registry starts
// (or let its catalog notice them within its listing age).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDigest, type Digest } from '../../src/oci/digest.js';
import { blobDataPath, layerLinkDirectory, revisionLinkDirectory, tagCurrentLinkPath, tagIndexLinkDirectory } from '../../src/storage/layout.js';
import { mapSettled } from '../../src/util/pool.js';
import { sha256 } from './images.js';

async function put(root: string, relative: string, content: string | Buffer): Promise<void> {
  const file = path.join(root, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

function digestOf(content: Buffer): Digest {
  return parseDigest(sha256(content))!;
}

export interface BulkImage {
  readonly manifest: Digest;
  readonly manifestBytes: Buffer;
  readonly blobs: ReadonlyArray<{ readonly digest: Digest; readonly size: number }>;
}

/** `count` repositories named by `name(i)`, each with `tag` on one shared image; returns that image. */
export async function writeBulkRepositories(dataDir: string, count: number, name: (index: number) => string, tag = 'latest'): Promise<BulkImage> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from('bulk repository layer\n');
  const configDigest = digestOf(config);
  const layerDigest = digestOf(layer);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest.value, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest.value, size: layer.length }],
    }),
  );
  const manifest = digestOf(manifestBytes);
  for (const [digest, bytes] of [[configDigest, config], [layerDigest, layer], [manifest, manifestBytes]] as const) await put(dataDir, blobDataPath(digest), bytes);
  const indices = Array.from({ length: count }, (_, i) => i);
  const results = await mapSettled(indices, 32, async (index) => {
    const repository = name(index);
    await Promise.all([
      put(dataDir, `${layerLinkDirectory(repository, configDigest)}/link`, configDigest.value),
      put(dataDir, `${layerLinkDirectory(repository, layerDigest)}/link`, layerDigest.value),
      put(dataDir, `${revisionLinkDirectory(repository, manifest)}/link`, manifest.value),
      put(dataDir, `${tagIndexLinkDirectory(repository, tag, manifest)}/link`, manifest.value),
      put(dataDir, tagCurrentLinkPath(repository, tag), manifest.value),
    ]);
  });
  const failed = results.find((result) => !result.ok);
  if (failed && !failed.ok) throw failed.error;
  return {
    manifest,
    manifestBytes,
    blobs: [
      { digest: configDigest, size: config.length },
      { digest: layerDigest, size: layer.length },
    ],
  };
}
