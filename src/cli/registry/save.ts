// `berth registry save`: pull images straight into a distribution-layout directory (the
// `registry/` dir of a cluster image), many at once, with no registry server in between.
// The destination repository is the source reference minus its registry.
import { mkdir, readFile, realpath } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { BlobWriteOutcome, ContentDescriptor, ContentWriter, ManifestContent } from '../../client/content.js';
import { RegistryRepository } from '../../client/registry-repository.js';
import type { RegistryClient } from '../../client/registry-client.js';
import { StorageRepository } from '../../client/storage-repository.js';
import { formatReference, parseReference, type ImageReference } from '../../oci/reference.js';
import type { LayoutStorage } from '../../storage/layout-storage.js';
import { openStorage } from '../../storage/open.js';
import { CliError } from '../cli-error.js';
import { resolvePlatform } from './platform-flag.js';
import { openClient, parseCount, probeRegistry, type RemoteFlags } from './remote.js';
import { addConnectionOptions } from '../clients.js';
import { describeFailures, describeSummary, runTransfers, type TransferSpec } from './transfer.js';

interface SaveFlags extends RemoteFlags {
  readonly images?: string;
  readonly imagesFile?: string;
  readonly maxPullProcs: string;
  readonly allPlatforms?: boolean;
  readonly platform?: string;
}

/** One reference per line; blank lines and # comments skipped, quotes trimmed (sealos' images/shim files). */
export function parseImageList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/^["']|["']$/g, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * The directory's storage, created on first use: when every image fails before any
 * byte is written (unknown image, registry down), DIR is not even created.
 */
class LazyDirectory {
  private storage: Promise<LayoutStorage> | undefined;

  constructor(private readonly dir: string) {}

  open(): Promise<LayoutStorage> {
    this.storage ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      return openStorage({ kind: 'filesystem', root: await realpath(this.dir) });
    })();
    return this.storage;
  }

  /** The directory's repository, if the directory exists already (for "up to date" checks). */
  async existing(repository: string): Promise<StorageRepository | undefined> {
    if (!this.storage) {
      const exists = await realpath(this.dir).catch(() => undefined);
      if (!exists) return undefined;
    }
    return new StorageRepository(await this.open(), repository);
  }
}

class LazyWriter implements ContentWriter {
  readonly label: string;

  constructor(
    private readonly directory: LazyDirectory,
    private readonly repository: string,
    dir: string,
  ) {
    this.label = `${dir}:${repository}`;
  }

  private async target(): Promise<StorageRepository> {
    return new StorageRepository(await this.directory.open(), this.repository);
  }

  async hasManifest(digest: string): Promise<boolean> {
    return (await this.target()).hasManifest(digest);
  }

  async writeBlob(descriptor: ContentDescriptor, open: () => Promise<Readable>): Promise<BlobWriteOutcome> {
    return (await this.target()).writeBlob(descriptor, open);
  }

  async writeManifest(reference: string, manifest: ManifestContent): Promise<void> {
    await (await this.target()).writeManifest(reference, manifest);
  }
}

async function imageList(flags: SaveFlags): Promise<ImageReference[]> {
  const texts: string[] = [];
  if (flags.images) texts.push(...flags.images.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  if (flags.imagesFile) {
    let text: string;
    try {
      text = await readFile(flags.imagesFile, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read ${flags.imagesFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    texts.push(...parseImageList(text));
  }
  if (texts.length === 0) throw new CliError('no images to save', 'pass --images a,b or --images-file FILE');
  const references: ImageReference[] = [];
  for (const text of new Set(texts)) {
    const parsed = parseReference(text);
    if (!parsed.ok) throw new CliError(parsed.reason);
    references.push(parsed.reference);
  }
  return references;
}

export function registerSave(registry: Command): void {
  const command = registry
    .command('save')
    .description('pull images into a distribution-layout directory (no registry server needed), in parallel')
    .argument('<dir>', 'target directory; it gets docker/registry/v2/... and can be served by berth or registry:2')
    .option('--images <list>', 'comma-separated image references')
    .option('--images-file <file>', 'file with one image reference per line (# comments allowed)')
    .option('--max-pull-procs <n>', 'images pulled at the same time', '5')
    .option('--all-platforms', 'keep whole multi-platform indexes (their digests stay valid)')
    .option('--platform <os/arch[/variant]>', 'which platform of an index to keep (default: this machine)');
  addConnectionOptions(command).addHelpText(
    'after',
    `
The destination repository is the reference minus its registry:
docker.io/library/nginx:1.25 is stored as library/nginx:1.25. An image pinned by digest
is saved whole (every platform), so the digest stays valid. Images already in DIR are
skipped; blobs present are not fetched again. Exits 1 if any image failed.

Examples:
  berth registry save --images nginx:1.25,registry.k8s.io/pause:3.9 ./registry
  berth registry save --images-file images.txt --max-pull-procs 8 --all-platforms /var/lib/registry
  berth registry save --images quay.io/coreos/etcd:v3.5.9 --platform linux/arm64 ./registry`,
  );
  command.action(async (dir: string, flags: SaveFlags) => {
    const concurrency = parseCount(flags.maxPullProcs, '--max-pull-procs');
    const platform = resolvePlatform(flags.platform);
    const references = await imageList(flags);
    const clients = new Map<string, RegistryClient>();
    for (const registry of new Set(references.map((r) => r.registry))) {
      await probeRegistry(registry, flags, 'registry');
      clients.set(registry, await openClient(registry, flags));
    }
    const directory = new LazyDirectory(dir);
    const specs: TransferSpec[] = references.map((ref) => {
      const pinned = ref.digest !== undefined;
      const targetReference = ref.tag ?? ref.digest!;
      return {
        label: `${formatReference(ref)} -> ${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : `@${ref.digest}`}`,
        source: new RegistryRepository(clients.get(ref.registry)!, ref.repository),
        target: new LazyWriter(directory, ref.repository, dir),
        sourceReference: ref.digest ?? ref.tag!,
        targetReferences: [targetReference],
        allPlatforms: pinned || (flags.allPlatforms ?? false),
        platform,
        current: async () => (await (await directory.existing(ref.repository))?.readManifest(targetReference))?.digest,
      };
    });
    try {
      const summary = await runTransfers(specs, { concurrency });
      process.stdout.write(`${summary.failed > 0 ? 'Save finished with failures' : 'Save completed'}: ${describeSummary(summary)}\n`);
      if (summary.failed > 0) throw new CliError(`${summary.failed} of ${specs.length} image(s) could not be saved to ${dir}: ${describeFailures(summary)}`);
    } finally {
      for (const client of clients.values()) client.close();
    }
  });
}
