// The store's index.json (an OCI image index). Each named image is one entry whose
// `org.opencontainers.image.ref.name` annotation holds the full, normalised name
// (`docker.io/library/nginx:latest`), which `skopeo oci:<root>:<name>` also accepts;
// `io.containerd.image.name` carries the same name for containerd's tools. Entries
// without a name are images kept by ID (`<none>`). Unknown fields are preserved.
// The file is replaced atomically: temp file, fsync, rename, fsync of the directory.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { MEDIA_TYPE } from '../oci/media-types.js';
import { INDEX_FILE } from './layout.js';
import { StoreError } from './errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

const entrySchema = z
  .object({
    mediaType: z.string(),
    digest: z.string(),
    size: z.number().int().nonnegative(),
    annotations: z.record(z.string(), z.string()).optional(),
    platform: z.object({ architecture: z.string(), os: z.string(), variant: z.string().optional() }).loose().optional(),
  })
  .loose();

const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(entrySchema) }).loose();

export type IndexEntry = z.infer<typeof entrySchema>;

export function entryName(entry: IndexEntry): string | undefined {
  return entry.annotations?.[REF_NAME_ANNOTATION];
}

/** An entry for `descriptor` under `name` (or unnamed), without the old name annotations. */
export function namedEntry(descriptor: IndexEntry, name: string | undefined): IndexEntry {
  const { annotations: old, ...base } = descriptor;
  const { [REF_NAME_ANNOTATION]: _ref, [CONTAINERD_NAME_ANNOTATION]: _ctr, ...rest } = old ?? {};
  const annotations = name !== undefined ? { ...rest, [REF_NAME_ANNOTATION]: name, [CONTAINERD_NAME_ANNOTATION]: name } : rest;
  return Object.keys(annotations).length > 0 ? { ...base, annotations } : base;
}

export async function readIndex(root: string): Promise<IndexEntry[]> {
  const file = path.join(root, INDEX_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StoreError(`${file} is not valid JSON`, 'restore it from a backup, or move the store aside and pull again');
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) throw new StoreError(`${file} is not an OCI image index: ${parsed.error.issues[0]?.message ?? 'schema mismatch'}`);
  return parsed.data.manifests;
}

export async function writeIndex(root: string, entries: readonly IndexEntry[]): Promise<void> {
  const body = `${JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: entries.map((e) => JSON.parse(JSON.stringify(e)) as IndexEntry) }, null, 2)}\n`;
  await writeFileAtomic(path.join(root, INDEX_FILE), body);
}
