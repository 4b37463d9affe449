// `berth registry fsck [--repair] --data-dir DIR`: verify a data directory.
import { realpath } from 'node:fs/promises';
import type { Command } from 'commander';
import { FsRoot } from '../../storage/fs-root.js';
import { fsck } from '../../storage/fsck.js';
import { CliError } from '../cli-error.js';
import { renderJson } from '../output.js';
import { defaultDataDir } from './serve.js';

export function registerFsck(registry: Command): void {
  registry
    .command('fsck')
    .description('verify every blob digest, link and tag in a data directory; --repair moves problems aside')
    .option('--data-dir <dir>', 'the directory that holds docker/registry/v2', defaultDataDir())
    .option('--repair', 'move corrupt blobs and broken links into docker/registry/v2/_berth/quarantine/')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  berth registry fsck --data-dir /var/lib/registry\n  berth registry fsck --data-dir /var/lib/registry --repair')
    .action(async (flags: { dataDir: string; repair?: boolean; json?: boolean }) => {
      let root: string;
      try {
        root = await realpath(flags.dataDir);
      } catch {
        throw new CliError(`data directory ${flags.dataDir} does not exist`);
      }
      const report = await fsck(new FsRoot(root), { repair: flags.repair ?? false });
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
