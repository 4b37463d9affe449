// containers/image's `dir:` transport, which skopeo reads and writes: `manifest.json`,
// blobs named by their hex digest, `<hex>.manifest.json` for the instances of a list,
// and a `version` file. skopeo 1.9 only reads OCI media types out of an OCI layout, so
// Docker schema2 images and manifest lists built by images.ts are handed to it this way.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const DIR_VERSION = 'Directory Transport Version: 1.1\n';

interface ManifestJson {
  config?: { digest: string };
  layers?: Array<{ digest: string }>;
  manifests?: Array<{ digest: string }>;
}

function hexOf(digest: string): string {
  if (!digest.startsWith('sha256:')) throw new Error(`only sha256 digests are handled here: ${digest}`);
  return digest.slice('sha256:'.length);
}

/**
 * Writes the manifest `digest` of the OCI layout `layoutDir` (an image, or a list with
 * all its instances) as a `dir:` directory `out`, byte for byte.
 */
export async function layoutToDir(layoutDir: string, digest: string, out: string): Promise<void> {
  const blob = (d: string): string => path.join(layoutDir, 'blobs', 'sha256', hexOf(d));
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'version'), DIR_VERSION);
  const copyImage = async (manifestDigest: string, manifestFile: string): Promise<void> => {
    await copyFile(blob(manifestDigest), path.join(out, manifestFile));
    const manifest = JSON.parse(await readFile(blob(manifestDigest), 'utf8')) as ManifestJson;
    for (const descriptor of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) {
      await copyFile(blob(descriptor.digest), path.join(out, hexOf(descriptor.digest)));
    }
    for (const child of manifest.manifests ?? []) await copyImage(child.digest, `${hexOf(child.digest)}.manifest.json`);
  };
  await copyImage(digest, 'manifest.json');
}

export interface DirContents {
  /** sha256 of manifest.json. */
  readonly manifestDigest: string;
  /** Digests of every blob file and instance manifest, each checked against its content. */
  readonly digests: Set<string>;
}

/**
 * Reads a `dir:` directory skopeo wrote and checks that every file named by a digest
 * holds exactly the bytes of that digest; throws on the first mismatch.
 */
export async function readDirImage(dir: string): Promise<DirContents> {
  const sha = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const manifestDigest = sha(await readFile(path.join(dir, 'manifest.json')));
  const digests = new Set<string>();
  for (const name of await readdir(dir)) {
    const match = /^([0-9a-f]{64})(\.manifest\.json)?$/.exec(name);
    if (!match) continue;
    const actual = sha(await readFile(path.join(dir, name)));
    if (actual !== `sha256:${match[1]}`) throw new Error(`${dir}/${name} holds ${actual}`);
    digests.add(actual);
  }
  return { manifestDigest, digests };
}
