// docker's archive manifest (`manifest.json` of `docker save`): one entry per image,
// with archive paths of its config and layers, and its names. docker 20.10 loads
// archives whose paths point into an OCI layout's blobs/ (what `ctr images export`
// writes), so one archive serves docker, containerd, podman and skopeo.
import { z } from 'zod';

export const dockerArchiveEntrySchema = z
  .object({
    Config: z.string().min(1),
    RepoTags: z.array(z.string()).nullable().optional(),
    Layers: z.array(z.string()),
  })
  .loose();

export const dockerArchiveManifestSchema = z.array(dockerArchiveEntrySchema);

export type DockerArchiveEntry = z.infer<typeof dockerArchiveEntrySchema>;

/** The archive path of a blob in the OCI layout part. */
export function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return `blobs/${algorithm}/${hex}`;
}

/**
 * The legacy `repositories` file: repository → tag → ID. Loaders that find a
 * manifest.json ignore it; it is written for old readers that look for it first.
 */
export function repositoriesFile(tags: ReadonlyArray<{ repository: string; tag: string; id: string }>): string {
  const result: Record<string, Record<string, string>> = {};
  for (const { repository, tag, id } of tags) (result[repository] ??= {})[tag] = id;
  return `${JSON.stringify(result)}\n`;
}
