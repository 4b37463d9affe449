// `berth push`: local store → registry, printing what docker push prints:
//   The push refers to repository [127.0.0.1:5000/library/nginx]
//   5f70bf18a086: Pushed            (or "Layer already exists")
//   1.25: digest: sha256:... size: 1570
import type { Command } from 'commander';
import { copyImage } from '../../client/copy-image.js';
import { RegistryRepository } from '../../client/registry-repository.js';
import { manifestReferenceOf } from '../../oci/reference.js';
import { resolveImage } from '../../store/image-info.js';
import { entryName } from '../../store/index-file.js';
import { normaliseImageName, parseImageName } from '../../store/names.js';
import { StoreSource } from '../../store/store-content.js';
import { CliError } from '../cli-error.js';
import { addConnectionOptions, createClient, type ConnectionFlags } from '../clients.js';
import { action } from './errors.js';
import { addStoreOption, examples, openStore, type StoreFlags } from './flags.js';
import { createReporter, reportingReader } from './progress.js';

interface PushFlags extends StoreFlags, ConnectionFlags {
  quiet?: boolean;
}

async function push(image: string, destinationText: string | undefined, flags: PushFlags): Promise<void> {
  const store = await openStore(flags);
  const resolved = await resolveImage(store, image);
  const entry = resolved.entries[0]!;
  const sourceName = entryName(entry);
  const destinationName = destinationText !== undefined ? normaliseImageName(destinationText) : sourceName;
  if (destinationName === undefined) throw new CliError(`image ${image} has no name to push to`, 'give a destination: berth push IMAGE REGISTRY/REPO:TAG');
  const destination = parseImageName(destinationName);
  const out = process.stdout;
  const quiet = flags.quiet === true;
  if (!quiet) out.write(`The push refers to repository [${destination.registry}/${destination.repository}]\n`);
  const source = sourceName !== undefined ? parseImageName(sourceName) : undefined;
  // Blobs already in another repository of the same registry are mounted, not re-sent.
  const mountFrom = source && source.registry === destination.registry && source.repository !== destination.repository ? source.repository : undefined;
  const client = await createClient(destination.registry, flags, { repository: destination.repository });
  const reporter = createReporter('push', out, { quiet, ...(mountFrom ? { mountedFrom: mountFrom } : {}) });
  try {
    const target = new RegistryRepository(client, destination.repository, mountFrom ? { mountFrom } : {});
    const reference = manifestReferenceOf(destination);
    const result = await copyImage(reportingReader(new StoreSource(store), reporter), target, entry.digest, [reference], {
      // What the store holds is pushed as is: a whole index when it has one.
      allPlatforms: true,
      concurrency: 4,
      onEvent: (event) => reporter.onEvent(event),
    });
    reporter.close();
    const size = (await store.blobs.size(result.digest)) ?? entry.size;
    if (!quiet) out.write(`${destination.tag ?? destination.digest ?? reference}: digest: ${result.digest} size: ${size}\n`);
    else out.write(`${destination.registry}/${destination.repository}@${result.digest}\n`);
  } finally {
    reporter.close();
    client.close();
  }
}

export function registerPush(program: Command): void {
  const command = program
    .command('push')
    .description('copy an image from the local store to a registry')
    .argument('<image>', 'a local image (name or ID)')
    .argument('[destination]', 'where to push it (default: the image name)')
    .option('-q, --quiet', 'print only the pushed reference with its digest');
  addConnectionOptions(command);
  addStoreOption(command)
    .addHelpText(
      'after',
      examples([
        'berth tag nginx:1.25 sealos.hub:5000/library/nginx:1.25 && berth push sealos.hub:5000/library/nginx:1.25',
        'berth push nginx:1.25 127.0.0.1:5000/library/nginx:1.25',
      ]),
    )
    .action(action((image: string, destination: string | undefined, flags: PushFlags) => push(image, destination, flags)));
}
