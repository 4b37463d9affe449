// Plans the load of a legacy docker archive (`docker save` before docker 25, `skopeo
// copy ... docker-archive:`, `podman save`): manifest.json lists each image's config
// file and its layer tars (`<id>/layer.tar`, uncompressed, possibly symlinks to one
// another). The config is kept byte for byte, so the image ID (its digest) stays the
// same. Each layer must hash to its diff ID in the config; it is then gzipped (as
// `docker push` does) and the image gets a Docker schema2 manifest, so it can be
// pushed to any registry as is. Gzip output is deterministic: loading the same archive
// twice gives the same manifest digest.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGzip, createGunzip } from 'node:zlib';
import { z } from 'zod';
import { createDigester, digestFromHash, digestOf } from '../oci/digest.js';
import { MEDIA_TYPE } from '../oci/media-types.js';
import type { BlobStore } from '../store/blob-store.js';
import { normaliseImageName } from '../store/names.js';
import { dockerArchiveManifestSchema } from './docker-manifest.js';
import type { ImportPlan, PlannedBlob, PlannedImage } from './import-plan.js';
import { isGzip, type StagedFile, type Staging } from './staging.js';

const configSchema = z.object({ rootfs: z.object({ diff_ids: z.array(z.string()) }) }).loose();

interface Layer {
  readonly digest: string;
  readonly size: number;
  readonly file: string;
}

async function head(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(2);
    const { bytesRead } = await handle.read(buffer, 0, 2, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** sha256 of the decompressed bytes of a gzipped layer. */
async function diffIdOfGzip(file: string): Promise<string> {
  const hash = createDigester('sha256');
  const source = createReadStream(file);
  const gunzip = createGunzip();
  source.once('error', (error) => gunzip.destroy(error));
  for await (const chunk of source.pipe(gunzip)) hash.update(chunk as Buffer);
  return digestFromHash('sha256', hash).value;
}

class LayerConverter {
  private readonly done = new Map<string, Layer>();

  constructor(
    private readonly staging: Staging,
    private readonly blobs: BlobStore,
  ) {}

  /** The gzipped blob of one layer tar, checked against `diffId`. */
  async convert(archivePath: string, staged: StagedFile, diffId: string): Promise<Layer> {
    const cached = this.done.get(staged.file);
    if (cached) return cached;
    let layer: Layer;
    if (isGzip(await head(staged.file))) {
      const actual = await diffIdOfGzip(staged.file).catch((error: unknown) => {
        throw this.staging.corrupt(`layer ${archivePath} is not valid gzip (${(error as Error).message})`);
      });
      if (actual !== diffId) throw this.staging.corrupt(`layer ${archivePath} has diff ID ${actual}, the config says ${diffId}`);
      layer = { digest: staged.digest, size: staged.size, file: staged.file };
    } else {
      if (staged.digest !== diffId) throw this.staging.corrupt(`layer ${archivePath} has diff ID ${staged.digest}, the config says ${diffId}`);
      const out = this.staging.newFile();
      const source = createReadStream(staged.file);
      const gzip = createGzip();
      source.once('error', (error) => gzip.destroy(error));
      const { digest, size } = await this.blobs.ingest(out, source.pipe(gzip));
      layer = { digest: digest.value, size, file: out };
    }
    this.done.set(staged.file, layer);
    return layer;
  }
}

export async function planLegacyImport(staging: Staging, blobs: BlobStore): Promise<ImportPlan> {
  const parsed = dockerArchiveManifestSchema.safeParse(await staging.readJson('manifest.json'));
  if (!parsed.success) throw staging.corrupt(`manifest.json is not a docker archive manifest (${parsed.error.issues[0]?.message ?? 'schema mismatch'})`);
  if (parsed.data.length === 0) throw staging.corrupt('manifest.json lists no images');
  const planned = new Map<string, PlannedBlob>();
  const converter = new LayerConverter(staging, blobs);
  const byDigest = new Map<string, PlannedImage>();
  for (const entry of parsed.data) {
    const configFile = staging.lookup(entry.Config);
    if (!configFile) throw staging.corrupt(`config ${entry.Config} is missing`);
    const config = configSchema.safeParse(await staging.readJson(entry.Config));
    if (!config.success) throw staging.corrupt(`config ${entry.Config} has no rootfs.diff_ids`);
    const diffIds = config.data.rootfs.diff_ids;
    if (diffIds.length !== entry.Layers.length) throw staging.corrupt(`${entry.Config} names ${diffIds.length} layers, manifest.json ${entry.Layers.length}`);
    const layers: Layer[] = [];
    for (const [i, layerPath] of entry.Layers.entries()) {
      const staged = staging.lookup(layerPath);
      if (!staged) throw staging.corrupt(`layer ${layerPath} is missing`);
      layers.push(await converter.convert(layerPath, staged, diffIds[i]!));
    }
    const manifestBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.dockerManifest,
        config: { mediaType: MEDIA_TYPE.dockerConfig, size: configFile.size, digest: configFile.digest },
        layers: layers.map((layer) => ({ mediaType: MEDIA_TYPE.dockerLayerGzip, size: layer.size, digest: layer.digest })),
      }),
    );
    const manifestDigest = digestOf(manifestBytes).value;
    planned.set(configFile.digest, { file: configFile.file, size: configFile.size });
    for (const layer of layers) planned.set(layer.digest, { file: layer.file, size: layer.size });
    planned.set(manifestDigest, { bytes: manifestBytes, size: manifestBytes.length });
    const names = (entry.RepoTags ?? []).map((tag) => normaliseImageName(tag));
    const existing = byDigest.get(manifestDigest);
    if (existing) {
      for (const name of names) if (!existing.names.includes(name)) existing.names.push(name);
      continue;
    }
    byDigest.set(manifestDigest, { names, descriptor: { mediaType: MEDIA_TYPE.dockerManifest, digest: manifestDigest, size: manifestBytes.length }, id: configFile.digest });
  }
  return { images: [...byDigest.values()], blobs: planned };
}
