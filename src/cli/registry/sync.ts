// `berth registry sync SRC DST` (every repository and tag) and `berth registry copy
// IMAGE... DST` (named images, to DST/<path minus registry>). Incremental: an image whose
// tag already points at the same digest is skipped without a manifest PUT, and blobs the
// destination has are not sent again. Images run in parallel; a failed one is reported
// and the rest go on; the run ends with a summary line.
import type { Command } from 'commander';
import { RegistryRepository } from '../../client/registry-repository.js';
import type { RegistryClient } from '../../client/registry-client.js';
import { formatReference, parseReference, type ImageReference } from '../../oci/reference.js';
import { mapSettled } from '../../util/pool.js';
import { CliError } from '../cli-error.js';
import { resolvePlatform } from './platform-flag.js';
import { openClient, parseCount, probeRegistry, type RemoteFlags } from './remote.js';
import { addConnectionOptions } from '../clients.js';
import { asCliError } from '../explain-error.js';
import { registryWithDefaultPort } from './targets.js';
import { describeFailures, describeSummary, runTransfers, type TransferSpec, type TransferSummary } from './transfer.js';

interface TransferFlags extends RemoteFlags {
  readonly allPlatforms?: boolean;
  readonly platform?: string;
  readonly maxProcs: string;
}

function spec(
  source: RegistryClient,
  target: RegistryClient,
  sourceRepository: string,
  targetRepository: string,
  reference: { tag?: string; digest?: string },
  flags: TransferFlags,
): TransferSpec {
  const pinned = reference.digest !== undefined;
  const targetReference = reference.tag ?? reference.digest!;
  const suffix = reference.tag !== undefined ? `:${reference.tag}` : `@${reference.digest}`;
  return {
    label: `${source.endpoint.name}/${sourceRepository}${suffix} -> ${target.endpoint.name}/${targetRepository}${suffix}`,
    source: new RegistryRepository(source, sourceRepository),
    target: new RegistryRepository(target, targetRepository),
    sourceReference: reference.digest ?? reference.tag!,
    targetReferences: [targetReference],
    // A digest pin keeps its meaning only if the whole index goes.
    allPlatforms: pinned || (flags.allPlatforms ?? false),
    platform: resolvePlatform(flags.platform),
    current: async () => (await target.headManifest(targetRepository, targetReference))?.digest,
  };
}

function addTransferOptions(command: Command): Command {
  command
    .option('-a, --all-platforms', 'copy whole multi-platform indexes (default: one platform)')
    .option('--platform <os/arch[/variant]>', 'platform to copy from an index (default: this machine)')
    .option('--max-procs <n>', 'images copied at the same time', '5');
  return addConnectionOptions(command);
}

function finish(summary: TransferSummary, done: string, what: string): void {
  process.stdout.write(`${summary.failed > 0 ? `${what} finished with failures` : done}: ${describeSummary(summary)}\n`);
  if (summary.failed > 0) throw new CliError(`${summary.failed} of ${summary.outcomes.length} image(s) failed: ${describeFailures(summary)}`);
}

export function registerSync(registry: Command): void {
  const sync = registry
    .command('sync')
    .description('copy every repository and tag of one registry to another, incrementally')
    .argument('<src>', 'source registry: host[:port] (a bare host gets :5000) or a URL')
    .argument('<dst>', 'destination registry, same forms');
  addTransferOptions(sync).addHelpText(
    'after',
    `
Both ends are probed first. Tags that already point at the same digest are skipped, and
blobs the destination has are not sent again, so a second run transfers only what is new.
Exits 1 if any image failed (the others are still copied).

Examples:
  berth registry sync 10.0.0.5 sealos.hub:5000          # 10.0.0.5:5000 -> sealos.hub:5000
  berth registry sync http://127.0.0.1:5050 sealos.hub:5000 --all-platforms --max-procs 8`,
  );
  sync.action(async (srcText: string, dstText: string, flags: TransferFlags) => {
    const concurrency = parseCount(flags.maxProcs, '--max-procs');
    resolvePlatform(flags.platform);
    const srcAddress = registryWithDefaultPort(srcText);
    const dstAddress = registryWithDefaultPort(dstText);
    await probeRegistry(srcAddress, flags, 'source registry');
    await probeRegistry(dstAddress, flags, 'destination registry');
    const source = await openClient(srcAddress, flags);
    const target = await openClient(dstAddress, flags);
    try {
      let repositories: string[];
      try {
        repositories = await source.catalog();
      } catch (error) {
        throw asCliError(error, `listing the catalog of ${source.endpoint.name}`);
      }
      const listed = await mapSettled(repositories, 8, async (repository) => ({ repository, tags: (await source.listTags(repository)) ?? [] }));
      const specs: TransferSpec[] = [];
      let unlisted = 0;
      listed.forEach((result, i) => {
        if (!result.ok) {
          unlisted += 1;
          process.stdout.write(`FAILED ${source.endpoint.name}/${repositories[i]}: cannot list tags: ${asCliError(result.error, 'tags').message}\n`);
          return;
        }
        for (const tag of result.value.tags) specs.push(spec(source, target, result.value.repository, result.value.repository, { tag }, flags));
      });
      process.stdout.write(`syncing ${specs.length} image(s) from ${repositories.length} repositor${repositories.length === 1 ? 'y' : 'ies'}: ${source.endpoint.baseUrl.origin} -> ${target.endpoint.baseUrl.origin}\n`);
      const summary = await runTransfers(specs, { concurrency });
      if (unlisted > 0) throw new CliError(`could not list the tags of ${unlisted} repositor${unlisted === 1 ? 'y' : 'ies'}; ${describeSummary(summary)}`);
      finish(summary, 'Sync completed', 'Sync');
    } finally {
      source.close();
      target.close();
    }
  });

  const copy = registry
    .command('copy')
    .description('copy images to another registry, keeping their path: DST/<path minus registry>')
    .argument('<image-and-dst...>', 'one or more IMAGE references, then the destination registry');
  addTransferOptions(copy).addHelpText(
    'after',
    `
Examples:
  berth registry copy docker.io/library/nginx:1.25 sealos.hub:5000   # -> sealos.hub:5000/library/nginx:1.25
  berth registry copy 127.0.0.1:5000/app:v1 127.0.0.1:5000/app:v2 http://10.0.0.9:5000 --all-platforms`,
  );
  copy.action(async (args: string[], flags: TransferFlags) => {
    if (args.length < 2) throw new CliError('copy needs at least one IMAGE and a destination registry', 'berth registry copy IMAGE... DST');
    const concurrency = parseCount(flags.maxProcs, '--max-procs');
    resolvePlatform(flags.platform);
    const dstAddress = registryWithDefaultPort(args[args.length - 1]!);
    const references: ImageReference[] = [];
    for (const text of args.slice(0, -1)) {
      const parsed = parseReference(text);
      if (!parsed.ok) throw new CliError(parsed.reason);
      references.push(parsed.reference);
    }
    await probeRegistry(dstAddress, flags, 'destination registry');
    const sources = new Map<string, RegistryClient>();
    const target = await openClient(dstAddress, flags);
    try {
      for (const registryName of new Set(references.map((r) => r.registry))) {
        await probeRegistry(registryName, flags, 'source registry');
        sources.set(registryName, await openClient(registryName, flags));
      }
      const specs = references.map((ref) =>
        spec(sources.get(ref.registry)!, target, ref.repository, ref.repository, { ...(ref.tag !== undefined ? { tag: ref.tag } : {}), ...(ref.digest !== undefined ? { digest: ref.digest } : {}) }, flags),
      );
      process.stdout.write(`copying ${specs.length} image(s) to ${target.endpoint.baseUrl.origin}: ${references.map(formatReference).join(', ')}\n`);
      finish(await runTransfers(specs, { concurrency }), 'Copy image completed', 'Copy');
    } finally {
      target.close();
      for (const client of sources.values()) client.close();
    }
  });
}
