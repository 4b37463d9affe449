// `berth registry gc`: mark and sweep on a data directory, safe while a Berth registry
// serves it (see storage/gc.ts for the protocol). A directory that registry:2 serves must
// be collected offline: registry:2 does not touch the blobs its pushes rely on.
import type { Command } from 'commander';
import { openDriver } from '../../storage/open.js';
import { collectGarbage, DEFAULT_GC_GRACE_MS, GcBusyError, NotARegistryError, type GcReport } from '../../storage/gc.js';
import { formatDuration, parseDuration } from '../../util/duration.js';
import { CliError } from '../cli-error.js';
import { renderJson } from '../output.js';
import { formatBytes } from './remote.js';
import { adminStorageLocation } from './storage-config.js';

interface GcFlags {
  readonly dataDir?: string;
  readonly config?: string;
  readonly dryRun?: boolean;
  readonly deleteUntagged?: boolean;
  readonly grace: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

function summary(report: GcReport): string {
  const lines: string[] = [];
  lines.push(
    `marked ${report.marked} blob(s) from ${report.manifests} manifest(s) in ${report.repositories} repositor${report.repositories === 1 ? 'y' : 'ies'}; ${report.blobs} blob(s) on disk`,
  );
  const verb = report.dryRun ? 'would delete' : 'deleted';
  lines.push(`${verb} ${report.deleted.length} blob(s), ${report.dryRun ? 'would free' : 'freed'} ${formatBytes(report.bytesFreed)} (${report.bytesFreed} bytes)`);
  if (report.deleteUntagged) lines.push(`${report.dryRun ? 'would remove' : 'removed'} ${report.untaggedRemoved.length} untagged manifest(s)`);
  if (report.layerLinksRemoved > 0) lines.push(`${report.dryRun ? 'would remove' : 'removed'} ${report.layerLinksRemoved} dangling layer link(s)`);
  if (report.keptRecent > 0) lines.push(`kept ${report.keptRecent} unreferenced blob(s) younger than the grace period (${formatDuration(report.graceMs)})`);
  if (report.restored > 0) lines.push(`kept ${report.restored} item(s) that a push started using during the collection`);
  return `${lines.join('\n')}\n`;
}

export function registerGc(registry: Command): void {
  registry
    .command('gc')
    .description('delete blobs no manifest references (mark and sweep), safe while Berth serves the directory')
    .option('--data-dir <dir>', 'the directory that holds docker/registry/v2')
    .option('--config <file>', 'take the data directory from a registry:2 config.yml (or a Berth config)')
    .option('--dry-run', 'report what would be deleted and change nothing')
    .option('--delete-untagged', 'also delete manifests no tag reaches (index children and referrers of kept manifests stay)')
    .option('--grace <duration>', 'never delete what was written or used more recently than this', formatDuration(DEFAULT_GC_GRACE_MS))
    .option('--json', 'print the report as JSON (with every deleted digest and size)')
    .option('--verbose', 'list every deleted blob and untagged manifest')
    .addHelpText(
      'after',
      `
Online: a Berth registry may keep serving pushes on the directory while this runs. Every
push touches the blobs it relies on, and nothing used or written within --grace (default
10m, longer than any push between its blob uploads and its manifest) is removed. Two
collections never overlap (a lock in docker/registry/v2/_berth/).

A directory served by registry:2 (docker-registry) is the same layout, but registry:2 does
not touch blobs, so stop it first (offline), then: berth registry gc --config config.yml

Examples:
  berth registry gc --data-dir /var/lib/registry --dry-run
  berth registry gc --data-dir /var/lib/registry --delete-untagged
  berth registry gc --config /etc/registry/registry_config.yml --grace 0s   # registry:2, stopped`,
    )
    .action(async (flags: GcFlags) => {
      const graceMs = parseDuration(flags.grace);
      if (graceMs === undefined) throw new CliError(`invalid --grace ${JSON.stringify(flags.grace)}`, 'use a duration such as 30s, 10m or 1h');
      const driver = openDriver(await adminStorageLocation(flags, undefined));
      let report: GcReport;
      try {
        report = await collectGarbage(driver, {
          graceMs,
          ...(flags.dryRun ? { dryRun: true } : {}),
          ...(flags.deleteUntagged ? { deleteUntagged: true } : {}),
        });
      } catch (error) {
        if (error instanceof GcBusyError) throw new CliError(error.message, 'wait for it to finish; a lock whose process is gone is broken by the next collection');
        if (error instanceof NotARegistryError) throw new CliError(error.message, 'point --data-dir at the directory that contains docker/');
        throw error;
      }
      for (const warning of report.warnings) process.stderr.write(`warning: ${warning}\n`);
      if (flags.json) {
        process.stdout.write(`${renderJson(report)}\n`);
        return;
      }
      if (flags.verbose) for (const blob of report.deleted) process.stdout.write(`${report.dryRun ? 'would delete' : 'deleted'} ${blob.digest} (${blob.size} bytes)\n`);
      if (flags.verbose) for (const manifest of report.untaggedRemoved) process.stdout.write(`${report.dryRun ? 'would remove' : 'removed'} untagged ${manifest.repository}@${manifest.digest}\n`);
      process.stdout.write(summary(report));
    });
}
