// Synthetic images written as OCI image layouts, reproducible from a seed: single- and
// multi-platform images (OCI or Docker media types) and artifacts with a subject.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
  artifactType?: string;
}

export type ImageFormat = 'oci' | 'docker';

const TYPES = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

/** Deterministic pseudo-random bytes: sha256(seed:counter) blocks. */
export function seededBytes(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  let offset = 0;
  for (let counter = 0; offset < size; counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    offset += block.copy(out, offset);
  }
  return out;
}

/** Deterministic pseudo-random bytes at cipher speed (AES-CTR keyed by the seed), for large layers. */
export function fastSeededBytes(seed: string, size: number): Buffer {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  return cipher.update(Buffer.alloc(size));
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    pack.entry({ name, size: content.length, mode: 0o755, mtime: new Date(0), uid: 0, gid: 0 }, content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An OCI image layout being written: blobs as they come, index.json on save(). */
export class LayoutWriter {
  private readonly entries: Descriptor[] = [];

  constructor(readonly dir: string) {}

  async blob(mediaType: string, data: Buffer, extra: Partial<Descriptor> = {}): Promise<Descriptor> {
    const digest = sha256(data);
    await mkdir(path.join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(path.join(this.dir, 'blobs', 'sha256', digest.slice(7)), data);
    return { mediaType, digest, size: data.length, ...extra };
  }

  tag(descriptor: Descriptor, name: string): void {
    this.entries.push({ ...descriptor, annotations: { ...descriptor.annotations, 'org.opencontainers.image.ref.name': name } });
  }

  async save(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(path.join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    let existing: Descriptor[];
    try {
      existing = (JSON.parse(await readFile(path.join(this.dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] }).manifests;
    } catch {
      existing = [];
    }
    const names = new Set(this.entries.map((e) => e.annotations?.['org.opencontainers.image.ref.name']));
    const kept = existing.filter((e) => !names.has(e.annotations?.['org.opencontainers.image.ref.name']));
    await writeFile(path.join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: TYPES.oci.index, manifests: [...kept, ...this.entries] }));
  }
}

export interface ImageOptions {
  readonly seed: string;
  readonly layers?: number;
  readonly layerSize?: number;
  readonly format?: ImageFormat;
  readonly platform?: { os: string; architecture: string; variant?: string };
  /** Extra files in the first layer (a runnable binary, say). */
  readonly files?: Record<string, Buffer>;
  readonly entrypoint?: string[];
  readonly cmd?: string[];
  /** How layer bytes are made from a seed (default seededBytes). */
  readonly fill?: (seed: string, size: number) => Buffer;
  /** Extra config labels (beside berth.test.seed). */
  readonly labels?: Record<string, string>;
  readonly env?: string[];
  /** Annotations of the manifest. */
  readonly annotations?: Record<string, string>;
}

export interface BuiltImage {
  readonly manifest: Descriptor;
  readonly manifestBytes: Buffer;
  readonly config: Descriptor;
  readonly layers: Descriptor[];
}

export async function writeImage(layout: LayoutWriter, options: ImageOptions): Promise<BuiltImage> {
  const format = options.format ?? 'oci';
  const types = TYPES[format];
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < (options.layers ?? 2); i++) {
    const files: Record<string, Buffer> = {
      [`layer${i}.bin`]: (options.fill ?? seededBytes)(`${options.seed}:${platform.architecture}:${i}`, options.layerSize ?? 4096),
      ...(i === 0 ? (options.files ?? {}) : {}),
    };
    const tar = await tarOf(files);
    diffIds.push(sha256(tar));
    layers.push(await layout.blob(types.layer, gzipSync(tar, { level: 1 })));
  }
  const configJson = {
    created: '1970-01-01T00:00:00Z',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(options.env ?? [])],
      ...(options.entrypoint ? { Entrypoint: options.entrypoint } : {}),
      Cmd: options.cmd ?? ['/layer0.bin'],
      Labels: { 'berth.test.seed': options.seed, ...options.labels },
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'berth test image' })),
  };
  const config = await layout.blob(types.config, Buffer.from(JSON.stringify(configJson)));
  const manifestBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: types.manifest, config, layers, ...(options.annotations ? { annotations: options.annotations } : {}) }),
  );
  const manifest = await layout.blob(types.manifest, manifestBytes, { platform });
  return { manifest, manifestBytes, config, layers };
}

export interface BuiltIndex {
  readonly index: Descriptor;
  readonly indexBytes: Buffer;
  readonly images: BuiltImage[];
}

export async function writeIndex(
  layout: LayoutWriter,
  options: { seed: string; format?: ImageFormat; platforms?: Array<{ os: string; architecture: string; variant?: string }>; layerSize?: number },
): Promise<BuiltIndex> {
  const format = options.format ?? 'oci';
  const platforms = options.platforms ?? [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
  ];
  const images: BuiltImage[] = [];
  for (const platform of platforms) {
    images.push(await writeImage(layout, { seed: options.seed, format, platform, layers: 1, ...(options.layerSize ? { layerSize: options.layerSize } : {}) }));
  }
  const indexBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: TYPES[format].index, manifests: images.map((image) => image.manifest) }),
  );
  const index = await layout.blob(TYPES[format].index, indexBytes);
  return { index, indexBytes, images };
}

/** An OCI artifact (empty config, one layer) whose subject is `subject`. */
export async function writeArtifact(layout: LayoutWriter, options: { subject: Descriptor; artifactType: string; content: string }): Promise<BuiltImage> {
  const config = await layout.blob('application/vnd.oci.empty.v1+json', Buffer.from('{}'));
  const layer = await layout.blob('text/plain', Buffer.from(options.content));
  const { platform: _platform, annotations: _annotations, ...subject } = options.subject;
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: TYPES.oci.manifest,
      artifactType: options.artifactType,
      config,
      layers: [layer],
      subject,
      annotations: { 'org.opencontainers.image.created': '1970-01-01T00:00:00Z' },
    }),
  );
  const manifest = await layout.blob(TYPES.oci.manifest, manifestBytes, { artifactType: options.artifactType });
  return { manifest, manifestBytes, config, layers: [layer] };
}

/**
 * An OCI image manifest over a config (with `configFields` in it) and uncompressed tar
 * layers, as bytes ready to push with a raw client: the load tests build many of these.
 */
export function rawImage(configFields: Record<string, unknown>, layers: readonly Buffer[]): { blobs: Array<{ digest: string; bytes: Buffer }>; manifest: Buffer } {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, ...configFields }));
  const blobs = [config, ...layers].map((bytes) => ({ digest: sha256(bytes), bytes }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: TYPES.oci.manifest,
      config: { mediaType: TYPES.oci.config, digest: blobs[0]!.digest, size: config.length },
      layers: blobs.slice(1).map((b) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: b.digest, size: b.bytes.length })),
    }),
  );
  return { blobs, manifest };
}
