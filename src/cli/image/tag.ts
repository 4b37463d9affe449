// `berth tag SOURCE TARGET`: another name for a stored image (no content is copied).
import type { Command } from 'commander';
import { resolveImage } from '../../store/image-info.js';
import { normaliseImageName, parseImageName } from '../../store/names.js';
import { setImageName } from '../../store/store-content.js';
import { CliError } from '../cli-error.js';
import { action } from './errors.js';
import { addStoreOption, examples, openStore, type StoreFlags } from './flags.js';

async function tag(sourceText: string, targetText: string, flags: StoreFlags): Promise<void> {
  if (parseImageName(targetText).digest !== undefined) throw new CliError(`cannot tag with a digest: ${targetText}`, 'give a tag, e.g. registry:5000/team/app:v1');
  const store = await openStore(flags);
  const target = normaliseImageName(targetText);
  const source = (await resolveImage(store, sourceText)).entries[0]!;
  await setImageName(store, target, source);
}

export function registerTag(program: Command): void {
  addStoreOption(
    program
      .command('tag')
      .description('give a local image another name')
      .argument('<source>', 'a local image (name or ID)')
      .argument('<target>', 'the new name'),
  )
    .addHelpText('after', examples(['berth tag nginx:1.25 sealos.hub:5000/library/nginx:1.25', 'berth tag 3f8a4339aadd team/app:stable']))
    .action(action((source: string, target: string, flags: StoreFlags) => tag(source, target, flags)));
}
