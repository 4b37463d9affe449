// `berth registry fsck [--repair] (--data-dir DIR | --config FILE)`: verify a data
// directory or a bucket.
import type { Command } from 'commander';
import { fsck } from '../../storage/fsck.js';
import { openDriver } from '../../storage/open.js';
import { renderJson } from '../output.js';
import { defaultDataDir } from './serve.js';
import { adminStorageLocation } from './storage-config.js';

export function registerFsck(registry: Command): void {
  registry
    .command('fsck')
    .description('verify every blob digest, link and tag in a data directory; --repair moves problems aside')
    .option('--data-dir <dir>', `the directory that holds docker/registry/v2 (default ${defaultDataDir()})`)
    .option('--config <file>', 'check the storage a registry config names (a data directory or an S3 bucket)')
    .option('--repair', 'move corrupt blobs and broken links into docker/registry/v2/_berth/quarantine/')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  berth registry fsck --data-dir /var/lib/registry\n  berth registry fsck --data-dir /var/lib/registry --repair\n  berth registry fsck --config /etc/berth/registry.yml   # an S3 bucket',
    )
    .action(async (flags: { dataDir?: string; config?: string; repair?: boolean; json?: boolean }) => {
      const driver = openDriver(await adminStorageLocation(flags, defaultDataDir()));
      const report = await fsck(driver, { repair: flags.repair ?? false });
      const errors = report.problems.filter((p) => p.severity === 'error');
      if (flags.json) {
        process.stdout.write(`${renderJson(report)}\n`);
      } else {
        for (const problem of report.problems) {
          const state = problem.repaired ? ' (moved aside)' : '';
          process.stdout.write(`${problem.severity}: ${problem.kind}: ${problem.path}: ${problem.detail}${state}\n`);
        }
        process.stdout.write(
          `checked ${report.blobs} blobs (${report.bytes} bytes), ${report.repositories} repositories, ${report.manifests} manifests, ${report.tags} tags, ${report.layerLinks} layer links; ` +
            `${errors.length} errors, ${report.problems.length - errors.length} warnings, ${report.uploadSessions} upload sessions in progress` +
            (report.quarantine ? `; quarantine: ${report.quarantine}` : '') +
            '\n',
        );
      }
      if (errors.some((p) => !p.repaired)) process.exitCode = 1;
    });
}
