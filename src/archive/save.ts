// Writes stored images as one tar archive that every loader reads: an OCI image layout
// (`oci-layout`, `index.json` and `blobs/`, for ctr, podman and skopeo's oci-archive)
// plus docker's `manifest.json` and `repositories` pointing at the same blobs (for
// docker 20.10, podman and skopeo's docker-archive). index.json names images the way
// `ctr images export` does: `io.containerd.image.name` is the full name and
// `org.opencontainers.image.ref.name` the tag. The archive is written to a temp file
// next to the target, fsynced and renamed, so a failure (a full disk, a corrupt blob)
// leaves no file behind and an existing file untouched.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { MEDIA_TYPE } from '../oci/media-types.js';
import { selectPlatform, type PlatformSpec } from '../oci/platform.js';
import type { ImageStore } from '../store/image-store.js';
import { collectTree, readManifestBlob, type TreeItem } from '../store/image-tree.js';
import { CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION, type IndexEntry } from '../store/index-file.js';
import { familiarName, familiarRepository, splitImageName } from '../store/names.js';
import { handleSink } from '../store/handle-sink.js';
import { blobPath, repositoriesFile, type DockerArchiveEntry } from './docker-manifest.js';
import { ArchiveError } from './errors.js';

export interface SaveImage {
  /** The stored descriptor (image manifest or index). */
  readonly descriptor: IndexEntry;
  /** Full names to give it in the archive; empty for an image saved by ID. */
  readonly names: readonly string[];
}

export interface SaveOptions {
  readonly gzip?: boolean;
  /** The platform whose image docker's manifest.json lists for a multi-platform index. */
  readonly platform: PlatformSpec;
  /** Called with the total blob bytes before writing starts, then once per blob written. */
  readonly onStart?: (totalBytes: number) => void;
  readonly onBlob?: (item: TreeItem) => void;
}

export interface SaveResult {
  readonly blobs: number;
  readonly bytes: number;
  /** Images docker cannot load from this archive (an index with no image for the platform). */
  readonly withoutDockerEntry: string[];
}

const FIXED_MTIME = new Date(0);

/** docker's manifest.json entry for one image (a single-platform manifest). */
async function dockerEntry(store: ImageStore, image: SaveImage, platform: PlatformSpec): Promise<DockerArchiveEntry | undefined> {
  let manifest = await readManifestBlob(store.blobs, image.descriptor);
  if (manifest.kind === 'index') {
    const child = selectPlatform(manifest.manifests, platform);
    if (!child || (await store.blobs.size(child.digest)) === undefined) return undefined;
    manifest = await readManifestBlob(store.blobs, child);
    if (manifest.kind !== 'image') return undefined;
  }
  const tags = image.names.filter((name) => splitImageName(name).tag !== undefined).map(familiarName);
  return { Config: blobPath(manifest.config.digest), RepoTags: tags, Layers: manifest.layers.map((layer) => blobPath(layer.digest)) };
}

function indexEntries(image: SaveImage): IndexEntry[] {
  const { annotations: _dropped, ...descriptor } = image.descriptor;
  if (image.names.length === 0) return [descriptor];
  return image.names.map((name) => {
    const tag = splitImageName(name).tag;
    return { ...descriptor, annotations: { [CONTAINERD_NAME_ANNOTATION]: name, ...(tag !== undefined ? { [REF_NAME_ANNOTATION]: tag } : {}) } };
  });
}

type EntryHeader = Partial<tarStream.Header> & { name: string };

/**
 * Adds one entry to the tar, honouring backpressure; fails as soon as the output
 * fails (`failed` rejects) instead of waiting on a stream that will never drain.
 */
async function addEntry(pack: tarStream.Pack, failed: Promise<never>, header: EntryHeader, content: Buffer | (() => Promise<Readable>)): Promise<void> {
  if (Buffer.isBuffer(content)) {
    const written = new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ ...header, size: content.length }, content, (error) => (error ? reject(error) : resolve()));
      // A failing output destroys the entry too; its error reaches us through the callback.
      sink.on('error', () => undefined);
    });
    // If `failed` wins the race, this one rejects later with nobody waiting.
    written.catch(() => undefined);
    await Promise.race([written, failed]);
    return;
  }
  const source = await content();
  let finish!: (error?: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve());
  });
  done.catch(() => undefined);
  const sink = pack.entry(header, finish);
  // Errors come through `finish` (or `failed`); an unheard 'error' event would crash.
  sink.on('error', () => undefined);
  try {
    for await (const chunk of source) {
      if (!sink.write(chunk as Buffer)) await Promise.race([new Promise<void>((resolve) => sink.once('drain', () => resolve())), failed]);
    }
    sink.end(undefined);
    await Promise.race([done, failed]);
  } catch (error) {
    source.destroy();
    sink.destroy(error as Error);
    throw error;
  }
}

export async function saveArchive(store: ImageStore, images: readonly SaveImage[], outFile: string, options: SaveOptions): Promise<SaveResult> {
  // Everything is gathered (and checked complete) before the first byte is written.
  const items = new Map<string, TreeItem>();
  const dockerEntries: DockerArchiveEntry[] = [];
  const withoutDockerEntry: string[] = [];
  const repositories: Array<{ repository: string; tag: string; id: string }> = [];
  for (const image of images) {
    for (const item of await collectTree(store.blobs, image.descriptor, { missing: 'fail' })) items.set(item.descriptor.digest, item);
    const entry = await dockerEntry(store, image, options.platform);
    if (!entry) {
      withoutDockerEntry.push(image.names[0] !== undefined ? familiarName(image.names[0]) : image.descriptor.digest);
      continue;
    }
    dockerEntries.push(entry);
    for (const name of image.names) {
      const parts = splitImageName(name);
      if (parts.tag !== undefined) repositories.push({ repository: familiarRepository(parts.registry, parts.repository), tag: parts.tag, id: entry.Config.split('/').pop()! });
    }
  }
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: images.flatMap(indexEntries) };

  options.onStart?.([...items.values()].reduce((sum, item) => sum + item.descriptor.size, 0));
  const target = path.resolve(outFile);
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.berth-${process.pid}-${randomBytes(6).toString('hex')}`);
  let handle: FileHandle;
  try {
    handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw error;
    throw new ArchiveError(`cannot write ${target}: ${code === 'ENOENT' ? 'no such directory' : (error as Error).message.split(',')[0]}`);
  }
  let bytes = 0;
  try {
    const pack = tarStream.pack();
    const output = handleSink(handle);
    const written = options.gzip ? pipeline(pack, createGzip(), output) : pipeline(pack, output);
    // Rejects only when the output fails; entries race against it so a full disk
    // ends the save at once instead of leaving a writer waiting on a dead stream.
    const failed = written.then(() => new Promise<never>(() => undefined));
    failed.catch(() => undefined);
    const file = (name: string, mode = 0o644): EntryHeader => ({ name, mode, mtime: FIXED_MTIME, uid: 0, gid: 0, type: 'file' });
    await addEntry(pack, failed, file('oci-layout'), Buffer.from(`${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`));
    for (const item of items.values()) {
      const { digest, size } = item.descriptor;
      await addEntry(pack, failed, { ...file(blobPath(digest), 0o444), size }, () => store.blobs.open(digest));
      bytes += size;
      options.onBlob?.(item);
    }
    await addEntry(pack, failed, file('index.json'), Buffer.from(`${JSON.stringify(index)}\n`));
    await addEntry(pack, failed, file('manifest.json'), Buffer.from(`${JSON.stringify(dockerEntries)}\n`));
    await addEntry(pack, failed, file('repositories'), Buffer.from(repositoriesFile(repositories)));
    pack.finalize();
    await written;
    await handle.sync();
    await handle.close();
    await rename(temporary, target);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temporary, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
      throw new ArchiveError(`no space left on device for ${target}`, `free some space and retry; ${target} was not written`);
    }
    throw error;
  }
  return { blobs: items.size, bytes, withoutDockerEntry };
}
