// `berth registry images` and `berth registry image`: what a registry holds, from its
// catalog and tag lists, one row per tag with the image ID (config digest, or the
// index digest for a multi-platform image), as sealctl printed it.
import type { Command } from 'commander';
import type { RegistryClient } from '../../client/registry-client.js';
import { parseManifest } from '../../oci/manifest.js';
import { formatPlatform } from '../../oci/platform.js';
import { mapSettled } from '../../util/pool.js';
import { CliError } from '../cli-error.js';
import { renderJson, renderTable } from '../output.js';
import { matches, parseFilters, type ImageFilter } from './filter.js';
import { openClient, type RemoteFlags } from './remote.js';
import { addConnectionOptions } from '../clients.js';
import { asCliError } from '../explain-error.js';
import { formatRegistryImage, parseRegistryImage, pickRegistry } from './targets.js';

export interface ImageRow {
  readonly RegistryName: string;
  readonly ImageName: string;
  readonly Tag: string;
  /** Hex of the config digest (single image) or of the index digest. */
  readonly ImageID: string;
  readonly ImageDigest: string;
  readonly MediaType: string;
  readonly Platforms?: string[];
}

const NONE = '<none>';

function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/** One row for `repository:reference`; undefined when the registry has no such manifest. */
async function describe(client: RegistryClient, registry: string, repository: string, reference: string, tag: string): Promise<ImageRow | undefined> {
  const manifest = await client.getManifest(repository, reference);
  if (!manifest) return undefined;
  const parsed = parseManifest(manifest.bytes, manifest.mediaType);
  if (!parsed.ok) throw new CliError(`${registry}/${repository}:${tag}: ${parsed.reason}`);
  const isIndex = parsed.manifest.kind === 'index';
  const imageId = parsed.manifest.kind === 'index' ? manifest.digest : parsed.manifest.config.digest;
  return {
    RegistryName: registry,
    ImageName: repository,
    Tag: tag,
    ImageID: hexOf(imageId),
    ImageDigest: manifest.digest,
    MediaType: manifest.mediaType || parsed.manifest.mediaType,
    ...(isIndex && parsed.manifest.kind === 'index'
      ? { Platforms: parsed.manifest.manifests.map((d) => (d.platform ? formatPlatform(d.platform) : 'unknown')) }
      : {}),
  };
}

function noneRow(registry: string, repository: string): ImageRow {
  return { RegistryName: registry, ImageName: repository, Tag: NONE, ImageID: NONE, ImageDigest: NONE, MediaType: '' };
}

export async function listImages(client: RegistryClient, registry: string, filter: ImageFilter, warn: (line: string) => void): Promise<ImageRow[]> {
  // An exact name needs no catalog (which a registry may refuse to list).
  const repositories = filter.name.kind === 'equals' ? [filter.name.text] : (await client.catalog()).filter((name) => matches(filter.name, name));
  const perRepository = await mapSettled(repositories, 4, async (repository): Promise<ImageRow[]> => {
    const tags = await client.listTags(repository);
    if (tags === undefined) return [];
    if (tags.length === 0) return filter.tag.kind === 'all' || filter.tag.kind === 'none' ? [noneRow(registry, repository)] : [];
    if (filter.tag.kind === 'none') return [];
    const wanted = tags.filter((tag) => matches(filter.tag, tag));
    const rows = await mapSettled(wanted, 8, (tag) => describe(client, registry, repository, tag, tag));
    const found: ImageRow[] = [];
    rows.forEach((row, i) => {
      if (row.ok && row.value) found.push(row.value);
      else if (row.ok) warn(`skipped ${registry}/${repository}:${wanted[i]}: the tag is listed but its manifest is missing`);
      else throw row.error;
    });
    return found;
  });
  const rows: ImageRow[] = [];
  for (const result of perRepository) {
    if (!result.ok) throw result.error;
    rows.push(...result.value);
  }
  return rows.sort((a, b) => (a.ImageName === b.ImageName ? (a.Tag < b.Tag ? -1 : 1) : a.ImageName < b.ImageName ? -1 : 1));
}

function printRows(rows: readonly ImageRow[], json: boolean, footer: boolean): void {
  if (json) {
    process.stdout.write(`${renderJson(rows)}\n`);
    return;
  }
  const table = renderTable(
    ['RegistryName', 'ImageName', 'Tag', 'ImageID'],
    rows.map((row) => [row.RegistryName, row.ImageName, row.Tag, row.ImageID === NONE ? NONE : row.ImageID.slice(0, 12)]),
  );
  process.stdout.write(`${table}\n`);
  if (footer) {
    const repositories = new Set(rows.map((row) => row.ImageName)).size;
    const images = rows.filter((row) => row.Tag !== NONE).length;
    process.stdout.write(`Repo count: ${repositories}\nImage count: ${images}\n`);
  }
}

interface ImagesFlags extends RemoteFlags {
  readonly name?: string;
  readonly filter: string[];
  readonly json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerImages(registry: Command): void {
  const images = registry
    .command('images')
    .description("list a registry's images: catalog, tags and image IDs")
    .option('-n, --name <registry>', 'registry to list (default: the one registry you are logged in to)')
    .option('--filter <key=pattern>', 'name=PATTERN and/or tag=PATTERN; patterns: *, x*, *x, *x*, exact; tag=<none> for untagged repositories', collect, [])
    .option('--json', 'print JSON: [{RegistryName, ImageName, Tag, ImageID, ImageDigest, MediaType}]');
  addConnectionOptions(images).addHelpText(
    'after',
    `
Examples:
  berth registry images
  berth registry images -n sealos.hub:5000 --filter name=library/*
  berth registry images --filter name=*nginx*,tag=1.*
  berth registry images --filter tag=<none> --json`,
  );
  images.action(async (flags: ImagesFlags) => {
    const filter = parseFilters(flags.filter);
    const name = await pickRegistry(flags.name, flags.authfile);
    const client = await openClient(name, flags);
    try {
      const rows = await listImages(client, client.endpoint.name, filter, (line) => process.stderr.write(`warning: ${line}\n`));
      printRows(rows, flags.json ?? false, true);
    } catch (error) {
      throw asCliError(error, `listing ${client.endpoint.name}`);
    } finally {
      client.close();
    }
  });

  const image = registry
    .command('image')
    .description('show one image of a registry')
    .argument('<image>', '[REGISTRY/]NAME[:TAG|@DIGEST]; the tag defaults to latest')
    .option('-n, --name <registry>', 'registry (default: the one in IMAGE, else the one you are logged in to)')
    .option('--json', 'print JSON (with MediaType, and Platforms for an index)');
  addConnectionOptions(image).addHelpText(
    'after',
    `
Examples:
  berth registry image library/nginx:1.25
  berth registry image sealos.hub:5000/pause:3.9 --json`,
  );
  image.action(async (text: string, flags: Omit<ImagesFlags, 'filter'>) => {
    const ref = await parseRegistryImage(text, () => pickRegistry(flags.name, flags.authfile));
    const client = await openClient(ref.registry, flags, { repository: ref.repository });
    try {
      const tag = ref.tag ?? (ref.digest ? NONE : 'latest');
      const row = await describe(client, client.endpoint.name, ref.repository, ref.digest ?? tag, tag);
      if (!row) {
        throw new CliError(`image ${formatRegistryImage({ ...ref, ...(ref.digest ? {} : { tag }) })} not found`, `list what is there with: berth registry images -n ${ref.registry}`);
      }
      printRows([row], flags.json ?? false, false);
    } catch (error) {
      throw asCliError(error, `reading ${ref.registry}`);
    } finally {
      client.close();
    }
  });
}
