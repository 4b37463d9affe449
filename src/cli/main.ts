#!/usr/bin/env node
// The `berth` command. Each command group registers itself; errors end as one line.
// The two daemons (`registry ...`, `shim`) load only their own group: a registry or a
// shim that runs for months should not carry the other commands' modules (gRPC for the
// shim, the image store and archives for the CLI): ~14 MiB less resident at idle.
// Anything else (the image commands, login, help, a typo) loads every group.
import { Command } from 'commander';
import { formatCliError } from './cli-error.js';
import { explainError } from './explain-error.js';
import { BERTH_VERSION } from './version.js';

type Registrar = (program: Command) => void;

async function registryGroup(): Promise<Registrar> {
  const [{ registerServe }, { registerRegistryAdmin }, { registerFsck }] = await Promise.all([
    import('./registry/serve.js'),
    import('./registry/admin.js'),
    import('./registry/fsck.js'),
  ]);
  return (program) => {
    const registry = program.command('registry').description('run and administer a registry');
    registerServe(registry);
    registerRegistryAdmin(registry);
    registerFsck(registry);
  };
}

async function shimGroup(): Promise<Registrar> {
  const { registerShim } = await import('./shim/command.js');
  return registerShim;
}

async function clientGroups(): Promise<Registrar> {
  const [{ registerLoginCommands }, { registerImageCommands }] = await Promise.all([import('./login.js'), import('./image/register.js')]);
  return (program) => {
    registerLoginCommands(program);
    registerImageCommands(program);
  };
}

async function groupsFor(first: string | undefined): Promise<Registrar[]> {
  if (first === 'registry') return [await registryGroup()];
  if (first === 'shim') return [await shimGroup()];
  // Help order: registry, shim, then the client commands.
  return Promise.all([registryGroup(), shimGroup(), clientGroups()]);
}

async function main(): Promise<void> {
  const program = new Command('berth')
    .description('Berth: private container registry, CRI image shim and image CLI for offline clusters')
    .version(BERTH_VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)');
  for (const register of await groupsFor(process.argv[2])) register(program);
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  const { line, exitCode } = formatCliError(error, explainError);
  process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
});
