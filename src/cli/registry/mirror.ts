// `berth registry mirror`: managing a Berth pull-through mirror.
//   prefetch IMAGE...  pulls images through the mirror (nothing is kept here), so it
//                      has them before the first node asks, or before the uplink goes
//   evict              applies the mirrors' retention once (the server does it on its own
//                      every half retention period)
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { BlobWriteOutcome, ContentWriter } from '../../client/content.js';
import { copyImage } from '../../client/copy-image.js';
import { RegistryRepository } from '../../client/registry-repository.js';
import { applyRetention } from '../../mirror/retention.js';
import { formatReference, parseReference, type ImageReference } from '../../oci/reference.js';
import { GcBusyError } from '../../storage/gc.js';
import { openStorage } from '../../storage/open.js';
import { mapSettled } from '../../util/pool.js';
import { CliError } from '../cli-error.js';
import { addConnectionOptions } from '../clients.js';
import { explainLine } from '../explain-error.js';
import { renderJson } from '../output.js';
import { resolvePlatform } from './platform-flag.js';
import { formatBytes, openClient, type RemoteFlags } from './remote.js';
import { parseImageList } from './save.js';
import { adminStorageLocation, readConfigFile } from './storage-config.js';
import { pickRegistry } from './targets.js';

/** Reads every blob to its end (the client verifies the digest) and keeps nothing. */
class Drain implements ContentWriter {
  readonly label = 'the mirror';

  async hasManifest(): Promise<boolean> {
    return false;
  }

  async writeBlob(_descriptor: unknown, open: () => Promise<Readable>): Promise<BlobWriteOutcome> {
    for await (const _chunk of await open()) {
      // Reading is the point: the mirror fetches and stores what is read through it.
    }
    return 'uploaded';
  }

  async writeManifest(): Promise<void> {}
}

interface PrefetchFlags extends RemoteFlags {
  readonly name?: string;
  readonly imagesFile?: string;
  readonly platform?: string;
  readonly allPlatforms?: boolean;
  readonly json?: boolean;
}

interface PrefetchResult {
  readonly image: string;
  readonly through: string;
  readonly ok: boolean;
  readonly digest?: string;
  readonly blobs?: number;
  readonly bytes?: number;
  readonly error?: string;
}

/** Where the mirror keeps `image`: as named when it names the mirror, else under `<mirror>/<source registry>/`. */
export function throughMirror(image: ImageReference, mirror: string): ImageReference {
  return image.registry === mirror ? image : { ...image, registry: mirror, repository: `${image.registry}/${image.repository}` };
}

async function prefetchOne(image: ImageReference, mirror: string, flags: PrefetchFlags): Promise<PrefetchResult> {
  const target = throughMirror(image, mirror);
  const result = { image: formatReference(image), through: formatReference(target) };
  const client = await openClient(mirror, flags, { repository: target.repository });
  try {
    const copied = await copyImage(new RegistryRepository(client, target.repository), new Drain(), target.digest ?? target.tag ?? 'latest', [], {
      ...(flags.allPlatforms ? { allPlatforms: true } : { platform: resolvePlatform(flags.platform) }),
    });
    return { ...result, ok: true, digest: copied.digest, blobs: copied.blobs.uploaded, bytes: copied.blobs.bytes };
  } catch (error) {
    return { ...result, ok: false, error: explainLine(error) };
  } finally {
    client.close();
  }
}

function registerPrefetch(mirror: Command): void {
  const command = mirror
    .command('prefetch')
    .description('pull images through a Berth pull-through mirror, so it holds them before they are needed')
    .argument('[images...]', 'source images (nginx:1.25, registry.k8s.io/pause:3.9), or images named in the mirror')
    .option('-n, --name <registry>', 'the mirror (default: the one registry you are logged in to)')
    .option('-f, --images-file <file>', 'more images, one per line (# comments and blank lines skipped)')
    .option('--platform <os/arch[/variant]>', "from a multi-platform image, this platform's content (default: this machine's)")
    .option('--all-platforms', 'every platform of a multi-platform image')
    .option('--json', 'print JSON: [{image, through, ok, digest, blobs, bytes, error}]');
  addConnectionOptions(command).addHelpText(
    'after',
    `
A source image is asked for under the mirror's prefix for its registry, which is the
registry's name unless the mirror's config says otherwise: nginx:1.25 is fetched as
<mirror>/docker.io/library/nginx:1.25. Name the image in the mirror to use another
prefix. Nothing is stored on this machine. Exits 1 when any image failed.

Examples:
  berth registry mirror prefetch -n sealos.hub:5000 nginx:1.25 registry.k8s.io/pause:3.9
  berth registry mirror prefetch -n sealos.hub:5000 -f images.txt --all-platforms
  berth registry mirror prefetch sealos.hub:5000/hub/library/nginx:1.25`,
  );
  command.action(async (texts: string[], flags: PrefetchFlags) => {
    if (flags.allPlatforms && flags.platform) throw new CliError('--platform and --all-platforms exclude each other');
    const listed = [...texts];
    if (flags.imagesFile) {
      try {
        listed.push(...parseImageList(await readFile(flags.imagesFile, 'utf8')));
      } catch (error) {
        throw new CliError(`cannot read ${flags.imagesFile}: ${(error as Error).message}`);
      }
    }
    if (listed.length === 0) throw new CliError('no images given', 'name images as arguments, or a file with -f');
    // Every name is checked before anything is fetched.
    const images = listed.map((text) => {
      const parsed = parseReference(text);
      if (!parsed.ok) throw new CliError(`${JSON.stringify(text)}: ${parsed.reason}`);
      return parsed.reference;
    });
    const mirror = await pickRegistry(flags.name, flags.authfile);
    const results = await mapSettled(images, 2, (image) => prefetchOne(image, mirror, flags));
    const report = results.map((result, i) => (result.ok ? result.value : { image: formatReference(images[i]!), through: '', ok: false, error: explainLine(result.error) }));
    if (flags.json) process.stdout.write(`${renderJson(report)}\n`);
    else {
      for (const entry of report) {
        if (entry.ok) process.stdout.write(`Prefetched: ${entry.through} ${entry.digest} (${entry.blobs} blob(s), ${formatBytes(entry.bytes ?? 0)})\n`);
        else process.stdout.write(`Error: ${entry.image}: ${entry.error}\n`);
      }
    }
    const failed = report.filter((entry) => !entry.ok);
    if (failed.length === 1) throw new CliError(`${failed[0]!.image}: ${failed[0]!.error}`);
    if (failed.length > 1) throw new CliError(`${failed.length} of ${report.length} image(s) could not be prefetched (see the Error lines above)`);
  });
}

function registerEvict(mirror: Command): void {
  mirror
    .command('evict')
    .description("evict mirrored content unused for its mirror's retention, then free its blobs (pushed repositories are never touched)")
    .requiredOption('--config <file>', "the registry's config (its mirrors, their retention, and its storage)")
    .option('--dry-run', 'list what would be evicted and change nothing')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
A running registry does this on its own every half retention period (at most hourly).
It is safe while the registry serves: the collection is online (see registry gc).

Examples:
  berth registry mirror evict --config /etc/registry/config.yml --dry-run
  berth registry mirror evict --config /etc/registry/config.yml`,
    )
    .action(async (flags: { config: string; dryRun?: boolean; json?: boolean }) => {
      const { values } = await readConfigFile(flags.config);
      const mirrors = values.mirrors ?? [];
      if (mirrors.length === 0) throw new CliError(`config ${flags.config} configures no mirror`, 'mirrors: (Berth) or proxy: (registry:2) make a registry a pull-through mirror');
      const storage = openStorage(await adminStorageLocation({ config: flags.config }, undefined));
      let report;
      try {
        report = await applyRetention(storage, mirrors, { ...(flags.dryRun ? { dryRun: true } : {}) });
      } catch (error) {
        if (error instanceof GcBusyError) throw new CliError(error.message, 'another garbage collection is running; try again when it is done');
        throw error;
      }
      if (flags.json) {
        process.stdout.write(`${renderJson(report)}\n`);
        return;
      }
      const verb = flags.dryRun ? 'would evict' : 'evicted';
      for (const item of report.evicted) process.stdout.write(`${verb} ${item.repository}@${item.digest}\n`);
      process.stdout.write(`${verb} ${report.evicted.length} manifest(s) in ${report.repositories} mirrored repositor${report.repositories === 1 ? 'y' : 'ies'}\n`);
      if (report.gc) process.stdout.write(`deleted ${report.gc.deleted.length} blob(s), freed ${formatBytes(report.gc.bytesFreed)} (${report.gc.bytesFreed} bytes)\n`);
    });
}

export function registerMirror(registry: Command): void {
  const mirror = registry.command('mirror').description('manage a pull-through mirror: prefetch images, evict unused content');
  registerPrefetch(mirror);
  registerEvict(mirror);
}
