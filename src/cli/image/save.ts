// `berth save -o FILE IMAGE...`: one archive for docker load, ctr images import,
// podman load and skopeo (see src/archive/save.ts for the format).
import type { Command } from 'commander';
import { saveArchive, type SaveImage, type SaveResult } from '../../archive/save.js';
import { resolveImage } from '../../store/image-info.js';
import { entryName } from '../../store/index-file.js';
import { formatPlatform } from '../../oci/platform.js';
import { CliError } from '../cli-error.js';
import { action } from './errors.js';
import { addStoreOption, examples, openStore, platformChoice, type StoreFlags } from './flags.js';
import { createByteProgress, type ByteProgress } from './progress.js';

interface SaveFlags extends StoreFlags {
  output?: string;
  gzip?: boolean;
  platform?: string;
}

async function save(images: string[], flags: SaveFlags): Promise<void> {
  if (!flags.output) throw new CliError('no output file', 'give one with -o FILE');
  const store = await openStore(flags);
  const { platform } = platformChoice({ ...(flags.platform !== undefined ? { platform: flags.platform } : {}) });
  const byDigest = new Map<string, SaveImage & { names: string[] }>();
  for (const image of images) {
    const resolved = await resolveImage(store, image);
    const entry = resolved.entries[0]!;
    const item = byDigest.get(entry.digest) ?? { descriptor: entry, names: [] };
    // By name: that name. By ID: no name, as docker saves an image given by ID.
    if (resolved.by === 'name') for (const name of resolved.entries.map(entryName)) if (name !== undefined && !item.names.includes(name)) item.names.push(name);
    byDigest.set(entry.digest, item);
  }
  const gzip = flags.gzip === true || /\.(t?gz)$/i.test(flags.output);
  let bar: ByteProgress | undefined;
  let result: SaveResult;
  try {
    result = await saveArchive(store, [...byDigest.values()], flags.output, {
      gzip,
      platform,
      onStart: (total) => {
        bar = createByteProgress(`Saving ${flags.output}`, total, process.stdout);
      },
      onBlob: (item) => bar?.add(item.descriptor.size),
    });
  } finally {
    bar?.close();
  }
  for (const name of result.withoutDockerEntry) {
    process.stderr.write(`warning: ${name} has no ${formatPlatform(platform)} image; docker load will not see it (ctr, podman and skopeo will)\n`);
  }
}

export function registerSave(program: Command): void {
  addStoreOption(
    program
      .command('save')
      .description('write local images to an archive that docker load, ctr images import, podman load and skopeo read')
      .argument('<image...>', 'names or IDs')
      .option('-o, --output <file>', 'the archive to write (replaced atomically)')
      .option('--gzip', 'gzip the archive (implied by a .gz or .tgz name; ctr images import needs it uncompressed)')
      .option('--platform <os/arch[/variant]>', "the platform docker's manifest.json lists for multi-platform images (default: this machine's)"),
  )
    .addHelpText(
      'after',
      examples([
        'berth save -o nginx.tar nginx:1.25',
        'berth save -o images.tgz nginx:1.25 registry.k8s.io/pause:3.9',
        'docker load -i nginx.tar; ctr images import nginx.tar; podman load -i nginx.tar',
      ]),
    )
    .action(action((images: string[], flags: SaveFlags) => save(images, flags)));
}
