// `berth rmi`: removes names from the store, then collects the blobs nothing refers
// to any more. Every argument is resolved before anything changes, so one unknown
// image leaves the store as it was.
import type { Command } from 'commander';
import { resolveImage } from '../../store/image-info.js';
import { entryName, type IndexEntry } from '../../store/index-file.js';
import { familiarName } from '../../store/names.js';
import { CliError } from '../cli-error.js';
import { action } from './errors.js';
import { addStoreOption, examples, openStore, type StoreFlags } from './flags.js';
import { humanSize } from './human.js';

interface RmiFlags extends StoreFlags {
  force?: boolean;
}

async function removeImages(images: string[], flags: RmiFlags): Promise<void> {
  const store = await openStore(flags);
  const doomed: IndexEntry[] = [];
  for (const image of images) {
    const resolved = await resolveImage(store, image);
    const names = resolved.entries.map(entryName).filter((n): n is string => n !== undefined);
    if (resolved.by === 'id' && names.length > 1 && !flags.force) {
      throw new CliError(`image ${image} has several names (${names.map(familiarName).join(', ')})`, 'remove them by name, or use -f to remove them all');
    }
    doomed.push(...resolved.entries);
  }
  const removed = await store.updateIndex((entries) => {
    const gone = entries.filter((e) => doomed.some((d) => d.digest === e.digest && entryName(d) === entryName(e)));
    return { entries: entries.filter((e) => !gone.includes(e)), result: { gone, left: entries.filter((e) => !gone.includes(e)) } };
  });
  const out: string[] = [];
  for (const entry of removed.gone) {
    const name = entryName(entry);
    if (name !== undefined) out.push(`Untagged: ${familiarName(name)}`);
  }
  for (const digest of new Set(removed.gone.map((e) => e.digest))) {
    if (!removed.left.some((e) => e.digest === digest)) out.push(`Deleted: ${digest}`);
  }
  const collected = await store.collectGarbage();
  if (collected.blobs > 0) out.push(`Total reclaimed space: ${humanSize(collected.bytes)}`);
  if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
}

export function registerRmi(program: Command): void {
  addStoreOption(
    program
      .command('rmi')
      .description('remove images from the local store (blobs no image uses are deleted)')
      .argument('<image...>', 'names or IDs')
      .option('-f, --force', 'an ID removes every name of that image'),
  )
    .addHelpText('after', examples(['berth rmi nginx:1.25', 'berth rmi -f 3f8a4339aadd', 'berth rmi $(berth images -q)']))
    .action(action((images: string[], flags: RmiFlags) => removeImages(images, flags)));
}
