// `berth inspect`: what docker/podman image inspect show (Id, RepoTags, RepoDigests,
// Created, Architecture, Os, Config, RootFS, History, Size), plus the manifest itself
// and, for a multi-platform image, each platform's manifest and config digest.
import type { Command } from 'commander';
import { describeImage, resolveImage, type ImageDetails } from '../../store/image-info.js';
import type { ImageStore } from '../../store/image-store.js';
import { entryName } from '../../store/index-file.js';
import { familiarName, familiarRepository, splitImageName } from '../../store/names.js';
import { renderJson } from '../output.js';
import { action } from './errors.js';
import { addStoreOption, examples, openStore, type StoreFlags } from './flags.js';

async function inspectOne(store: ImageStore, details: ImageDetails): Promise<Record<string, unknown>> {
  const names = (await store.entries()).filter((e) => e.digest === details.entry.digest).map(entryName).filter((n): n is string => n !== undefined);
  const repoDigests = [...new Set(names.map((name) => {
    const parts = splitImageName(name);
    return `${familiarRepository(parts.registry, parts.repository)}@${details.entry.digest}`;
  }))];
  const manifest = JSON.parse((await store.blobs.read(details.entry.digest)).toString('utf8')) as unknown;
  const first = details.images[0];
  const config = first?.config;
  return {
    Id: details.id,
    Digest: details.entry.digest,
    RepoTags: names.filter((n) => splitImageName(n).tag !== undefined).map(familiarName),
    RepoDigests: repoDigests,
    Names: names,
    Created: details.created ?? null,
    ...(details.kind === 'image' && config
      ? {
          Author: config.author ?? '',
          Architecture: config.architecture ?? '',
          Os: config.os ?? '',
          ...(config.variant ? { Variant: config.variant } : {}),
          Config: config.config ?? {},
          RootFS: { Type: config.rootfs?.type ?? 'layers', Layers: config.rootfs?.diff_ids ?? [] },
          History: config.history ?? [],
        }
      : {
          Platforms: details.images.map((image) => ({ Platform: image.platform, Digest: image.manifestDigest, ConfigDigest: image.configDigest })),
        }),
    Size: details.size,
    MediaType: details.entry.mediaType,
    Manifest: manifest,
  };
}

async function inspect(images: string[], flags: StoreFlags): Promise<void> {
  const store = await openStore(flags);
  const found: ImageDetails[] = [];
  // Resolve everything first: an unknown name fails the command before any output.
  for (const image of images) found.push(await describeImage(store, (await resolveImage(store, image)).entries[0]!));
  const result: Array<Record<string, unknown>> = [];
  for (const details of found) result.push(await inspectOne(store, details));
  process.stdout.write(`${renderJson(result)}\n`);
}

export function registerInspect(program: Command): void {
  addStoreOption(
    program
      .command('inspect')
      .description('show the configuration and manifest of local images as JSON')
      .argument('<image...>', 'names or IDs'),
  )
    .addHelpText('after', examples(['berth inspect nginx:1.25', "berth inspect nginx:1.25 | jq -r '.[0].Id'"]))
    .action(action((images: string[], flags: StoreFlags) => inspect(images, flags)));
}
