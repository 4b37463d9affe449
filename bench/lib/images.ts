// Synthetic images written as OCI image layouts for skopeo's `oci:` transport: one
// image with a single big random layer (streamed, never held in memory), and batches
// of small distinct images sharing one layout. Layers are real tar+gzip streams with
// correct diff IDs, so skopeo copies them as they are instead of recompressing.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { constants as zlibConstants, createGzip, gzipSync } from 'node:zlib';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

export interface BuiltImage {
  readonly tag: string;
  readonly manifest: Descriptor;
  readonly layer: Descriptor;
}

/** A ustar header for one regular file. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number): void => void header.write(text, offset, length, 'ascii');
  const octal = (value: number, length: number): string => value.toString(8).padStart(length - 1, '0');
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8); // checksum field counts as spaces while summing
  put('0', 156, 1);
  put('ustar\u000000', 257, 8);
  let sum = 0;
  for (const byte of header) sum += byte;
  put(`${octal(sum, 7)}\u0000 `, 148, 8);
  return header;
}

function tarTrailer(size: number): Buffer {
  const padding = (512 - (size % 512)) % 512;
  return Buffer.alloc(padding + 1024);
}

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Writes a blob into the layout; returns its descriptor. */
async function putBlob(dir: string, mediaType: string, data: Buffer): Promise<Descriptor> {
  const digest = sha256(data);
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(dir, 'blobs', 'sha256', digest.slice(7)), data);
  return { mediaType, digest, size: data.length };
}

async function putConfigAndManifest(dir: string, layer: Descriptor, diffId: string, label: string): Promise<Descriptor> {
  const config = await putBlob(
    dir,
    OCI_CONFIG,
    Buffer.from(
      JSON.stringify({
        created: '1970-01-01T00:00:00Z',
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['/payload.bin'], Labels: { 'berth.bench': label } },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: 'berth bench' }],
      }),
    ),
  );
  return putBlob(dir, OCI_MANIFEST, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] })));
}

async function writeIndex(dir: string, images: readonly BuiltImage[]): Promise<void> {
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifests = images.map((image) => ({ ...image.manifest, annotations: { 'org.opencontainers.image.ref.name': image.tag } }));
  await writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
}

/**
 * One image whose only layer is a tar of `size` random bytes, gzip level 1 (as
 * `gzip -1` in the lab's make-test-image.sh). Random content: every call pushes
 * bytes no registry has seen. Random bytes come from AES-CTR (fast, incompressible).
 */
export async function writeBigImage(dir: string, size: number, tag: string): Promise<BuiltImage> {
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const temporary = path.join(dir, 'blobs', 'sha256', 'layer.tmp');
  const file = createWriteStream(temporary);
  const gzip = createGzip({ level: 1, chunkSize: 1024 * 1024, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  const diffHash = createHash('sha256');
  const layerHash = createHash('sha256');
  let layerSize = 0;
  gzip.on('data', (chunk: Buffer) => {
    layerHash.update(chunk);
    layerSize += chunk.length;
    if (!file.write(chunk)) gzip.pause();
  });
  file.on('drain', () => gzip.resume());
  const ended = once(gzip, 'end');
  const feed = async (data: Buffer): Promise<void> => {
    diffHash.update(data);
    if (!gzip.write(data)) await once(gzip, 'drain');
  };
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(1024 * 1024);
  await feed(tarHeader('payload.bin', size));
  for (let written = 0; written < size; ) {
    const length = Math.min(zeros.length, size - written);
    await feed(cipher.update(zeros.subarray(0, length)));
    written += length;
  }
  await feed(tarTrailer(size));
  gzip.end();
  await ended;
  file.end();
  await once(file, 'finish');
  const layer: Descriptor = { mediaType: OCI_LAYER, digest: `sha256:${layerHash.digest('hex')}`, size: layerSize };
  await rename(temporary, path.join(dir, 'blobs', 'sha256', layer.digest.slice(7)));
  const manifest = await putConfigAndManifest(dir, layer, `sha256:${diffHash.digest('hex')}`, `big-${tag}`);
  const image = { tag, manifest, layer };
  await writeIndex(dir, [image]);
  return image;
}

/**
 * Distinct images, one small random layer each, in one layout: for each set,
 * `count` images tagged `<prefix>1`..`<prefix><count>`.
 */
export async function writeSmallImages(dir: string, sets: ReadonlyArray<{ prefix: string; count: number }>, layerBytes = 4096): Promise<BuiltImage[]> {
  const images: BuiltImage[] = [];
  for (const { prefix, count } of sets) {
    for (let i = 1; i <= count; i++) {
      const content = randomBytes(layerBytes);
      const tar = Buffer.concat([tarHeader('payload.bin', content.length), content, tarTrailer(content.length)]);
      const layer = await putBlob(dir, OCI_LAYER, gzipSync(tar, { level: 1 }));
      const tag = `${prefix}${i}`;
      const manifest = await putConfigAndManifest(dir, layer, sha256(tar), `${prefix}-${i}-${randomBytes(4).toString('hex')}`);
      images.push({ tag, manifest, layer });
    }
  }
  await writeIndex(dir, images);
  return images;
}

/** The layer digest of the image tagged `tag` in a layout (for checks). */
export async function layerOf(dir: string, tag: string): Promise<string> {
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`no tag ${tag} in ${dir}`);
  const manifest = JSON.parse(await readFile(path.join(dir, 'blobs', 'sha256', entry.digest.slice(7)), 'utf8')) as { layers: Descriptor[] };
  return manifest.layers[0]!.digest;
}
