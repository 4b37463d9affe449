// `berth images`: the local store as docker lists it
// (REPOSITORY TAG IMAGE ID CREATED SIZE), or JSON, or IDs only.
import type { Command } from 'commander';
import { describeImage, type ImageDetails } from '../../store/image-info.js';
import { entryName } from '../../store/index-file.js';
import { familiarRepository, normaliseImageName, parseImageName, splitImageName } from '../../store/names.js';
import { renderColumns, renderJson } from '../output.js';
import { action } from './errors.js';
import { addStoreOption, examples, openStore, type StoreFlags } from './flags.js';
import { humanAge, humanSize, shortId } from './human.js';

interface ImagesFlags extends StoreFlags {
  json?: boolean;
  quiet?: boolean;
  /** false with --no-trunc (commander's negated option). */
  trunc?: boolean;
}

export interface ImageRow {
  readonly Name: string | null;
  readonly Repository: string;
  readonly Tag: string;
  readonly Id: string;
  readonly Digest: string;
  readonly MediaType: string;
  readonly Created: string | null;
  readonly Size: number;
  readonly Platforms: string[];
}

function rowOf(name: string | undefined, details: ImageDetails): ImageRow {
  const parts = name !== undefined ? splitImageName(name) : undefined;
  return {
    Name: name ?? null,
    Repository: parts ? familiarRepository(parts.registry, parts.repository) : '<none>',
    Tag: parts?.tag ?? '<none>',
    Id: details.id,
    Digest: details.entry.digest,
    MediaType: details.entry.mediaType,
    Created: details.created ?? null,
    Size: details.size,
    Platforms: details.images.map((image) => image.platform),
  };
}

/** `nginx` matches every tag of docker.io/library/nginx; `nginx:1.25` only that tag. */
function matcher(filter: string | undefined): (name: string | undefined) => boolean {
  if (filter === undefined) return () => true;
  const wanted = parseImageName(filter);
  const hasTag = /:[^/]+$/.test(filter) || filter.includes('@');
  const full = normaliseImageName(filter);
  return (name) => {
    if (name === undefined) return false;
    if (hasTag) return name === full;
    const parts = splitImageName(name);
    return parts.registry === wanted.registry && parts.repository === wanted.repository;
  };
}

async function listImages(filter: string | undefined, flags: ImagesFlags): Promise<void> {
  const store = await openStore(flags);
  const matches = matcher(filter);
  const details = new Map<string, ImageDetails>();
  const rows: ImageRow[] = [];
  for (const entry of await store.entries()) {
    const name = entryName(entry);
    if (!matches(name)) continue;
    let info = details.get(entry.digest);
    if (!info) {
      // A damaged image (a blob deleted by hand, say) is still listed, so it can be removed.
      info = await describeImage(store, entry).catch((): ImageDetails => ({ entry, kind: 'image', id: entry.digest, created: undefined, size: entry.size, images: [] }));
      details.set(entry.digest, info);
    }
    rows.push(rowOf(name, info));
  }
  // Newest first, as docker lists them; then by name for a stable order.
  rows.sort((a, b) => (b.Created ?? '').localeCompare(a.Created ?? '') || `${a.Repository}:${a.Tag}`.localeCompare(`${b.Repository}:${b.Tag}`));
  const id = (row: ImageRow): string => (flags.trunc === false ? row.Id : shortId(row.Id));
  if (flags.quiet) {
    const ids = [...new Set(rows.map(id))];
    if (ids.length > 0) process.stdout.write(`${ids.join('\n')}\n`);
    return;
  }
  if (flags.json) {
    process.stdout.write(`${renderJson(rows)}\n`);
    return;
  }
  const table = rows.map((row) => [row.Repository, row.Tag, id(row), humanAge(row.Created ?? undefined), humanSize(row.Size)]);
  process.stdout.write(`${renderColumns(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], table)}\n`);
}

export function registerImages(program: Command): void {
  addStoreOption(
    program
      .command('images')
      .alias('image-list')
      .description('list the images in the local store (SIZE counts the stored, compressed content)')
      .argument('[reference]', 'only this repository (or repository:tag)')
      .option('--json', 'print JSON')
      .option('-q, --quiet', 'print image IDs only')
      .option('--no-trunc', 'print full image IDs'),
  )
    .addHelpText('after', examples(['berth images', 'berth images nginx', 'berth images --json', 'berth rmi $(berth images -q)']))
    .action(action((reference: string | undefined, flags: ImagesFlags) => listImages(reference, flags)));
}
