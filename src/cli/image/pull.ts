// `berth pull`: registry → local store, with docker's output.
import type { Command } from 'commander';
import { copyImage } from '../../client/copy-image.js';
import { RegistryRepository } from '../../client/registry-repository.js';
import { formatPlatform } from '../../oci/platform.js';
import { manifestReferenceOf } from '../../oci/reference.js';
import { entryName } from '../../store/index-file.js';
import type { ImageStore } from '../../store/image-store.js';
import { familiarName, normaliseImageName, parseImageName } from '../../store/names.js';
import { StoreTarget } from '../../store/store-content.js';
import { addConnectionOptions, createClient, type ConnectionFlags } from '../clients.js';
import { action } from './errors.js';
import { addPlatformOptions, addStoreOption, examples, openStore, platformChoice, type PlatformFlags, type StoreFlags } from './flags.js';
import { createReporter, reportingReader } from './progress.js';

interface PullFlags extends StoreFlags, PlatformFlags, ConnectionFlags {
  quiet?: boolean;
}

export async function pullImage(store: ImageStore, text: string, flags: PullFlags): Promise<{ name: string; digest: string }> {
  const reference = parseImageName(text);
  const name = normaliseImageName(text);
  const manifestReference = manifestReferenceOf(reference);
  const out = process.stdout;
  const quiet = flags.quiet === true;
  const { allPlatforms, platform } = platformChoice(flags);
  const before = (await store.entries()).find((e) => entryName(e) === name)?.digest;
  const client = await createClient(reference.registry, flags, { repository: reference.repository });
  const reporter = createReporter('pull', out, { quiet });
  const lease = await store.lease();
  let rootDigest: string | undefined;
  try {
    const remote = new RegistryRepository(client, reference.repository);
    // What the tag resolves to upstream (an index, for multi-platform images) is what
    // docker prints as "Digest:"; the store keeps the platform's manifest.
    const source = reportingReader(
      {
        label: remote.label,
        readManifest: async (ref) => {
          const manifest = await remote.readManifest(ref);
          if (ref === manifestReference && manifest && rootDigest === undefined) {
            rootDigest = manifest.digest;
            // Printed once the image is known to exist, as docker does.
            if (!quiet) out.write(`${manifestReference}: Pulling from ${reference.repository}\n`);
          }
          return manifest;
        },
        openBlob: (descriptor) => remote.openBlob(descriptor),
      },
      reporter,
    );
    const result = await copyImage(source, new StoreTarget(store, lease), manifestReference, [name], {
      allPlatforms,
      platform,
      concurrency: 4,
      onEvent: (event) => reporter.onEvent(event),
    });
    reporter.close();
    if (!quiet) {
      out.write(`Digest: ${rootDigest ?? result.digest}\n`);
      if (!allPlatforms && rootDigest !== undefined && rootDigest !== result.digest) out.write(`Platform: ${formatPlatform(platform)} (${result.digest})\n`);
      out.write(`Status: ${before === result.digest ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarName(name)}\n`);
    }
    out.write(`${name}\n`);
    return { name, digest: result.digest };
  } finally {
    reporter.close();
    await lease.release();
    client.close();
  }
}

export function registerPull(program: Command): void {
  const command = program
    .command('pull')
    .description('copy images from a registry into the local store')
    .argument('<image...>', 'image references (nginx, nginx:1.25, registry:5000/team/app@sha256:...)')
    .option('-q, --quiet', 'print only the image names');
  addPlatformOptions(command, 'pull');
  addConnectionOptions(command);
  addStoreOption(command)
    .addHelpText(
      'after',
      examples([
        'berth pull nginx:1.25                                # docker.io/library/nginx:1.25, this machine\'s platform',
        'berth pull --platform linux/arm64 registry.k8s.io/pause:3.9',
        'berth pull --all-platforms 127.0.0.1:5000/library/nginx:1.25',
      ]),
    )
    .action(
      action(async (images: string[], flags: PullFlags) => {
        const store = await openStore(flags);
        for (const image of images) await pullImage(store, image, flags);
      }),
    );
}
