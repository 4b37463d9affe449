#!/usr/bin/env node
// The `berth` command. Each command group registers itself; errors end as one line.
import { Command } from 'commander';
import { formatCliError } from './cli-error.js';
import { explainError } from './explain-error.js';
import { registerImageCommands } from './image/register.js';
import { registerLoginCommands } from './login.js';
import { registerFsck } from './registry/fsck.js';
import { registerRegistryAdmin } from './registry/admin.js';
import { registerServe } from './registry/serve.js';
import { registerShim } from './shim/command.js';
import { BERTH_VERSION } from './version.js';

const program = new Command('berth')
  .description('Berth: private container registry, CRI image shim and image CLI for offline clusters')
  .version(BERTH_VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for usage)');

const registry = program.command('registry').description('run and administer a registry');
registerServe(registry);
registerRegistryAdmin(registry);
registerFsck(registry);

registerShim(program);
registerLoginCommands(program);
registerImageCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const { line, exitCode } = formatCliError(error, explainError);
  process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
});
