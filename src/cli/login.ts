// `berth login` and `berth logout`: credentials in containers' auth.json (see
// credentials.ts for where it lives). login checks them against the registry before
// anything is written, so a wrong password leaves the file as it was.
import type { Command } from 'commander';
import { lookupCredentials, readAuthFile, recordedTransport, registryOfKey, removeCredentials, setCredentials, setRecordedTransport, withoutRecordedTransports, writeAuthFile } from '../client/auth-file.js';
import { UnauthorizedError } from '../client/errors.js';
import { CliError } from './cli-error.js';
import { addConnectionOptions, openConnection, transportToRecord, type ConnectionFlags } from './clients.js';
import { authFilePath, dockerConfigPath } from './credentials.js';
import { action } from './image/errors.js';
import { examples } from './image/flags.js';
import { ask, haveTerminal, readStdin } from './prompt.js';

interface LoginFlags extends ConnectionFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  getLogin?: boolean;
}

interface LogoutFlags {
  authfile?: string;
  all?: boolean;
}

async function credentialsFor(registry: string, flags: LoginFlags, file: string): Promise<{ username: string; password: string }> {
  if (flags.password !== undefined && flags.passwordStdin) throw new CliError('--password and --password-stdin exclude each other');
  if (flags.passwordStdin && flags.username === undefined) throw new CliError('--password-stdin needs --username', 'pass -u USER');
  let username = flags.username;
  if (username === undefined) {
    if (!haveTerminal()) throw new CliError('no username given and stdin is not a terminal', 'pass -u USER');
    const known = lookupCredentials(await readAuthFile(file), registry)?.username;
    username = (await ask(known ? `Username (${known}): ` : 'Username: ')).trim() || known || '';
  }
  if (username === '') throw new CliError('the username is empty');
  let password = flags.password;
  if (password !== undefined) process.stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  else if (flags.passwordStdin) password = await readStdin();
  else if (haveTerminal()) password = await ask('Password: ', { hidden: true });
  else throw new CliError('no password given and stdin is not a terminal', 'pipe it with --password-stdin');
  if (password === '') throw new CliError('the password is empty');
  return { username, password };
}

async function login(registryArgument: string, flags: LoginFlags): Promise<void> {
  const registry = registryOfKey(registryArgument);
  const file = authFilePath(flags.authfile);
  if (flags.getLogin) {
    const found = lookupCredentials(await readAuthFile(file), registry);
    if (!found?.username) throw new CliError(`not logged in to ${registry}`, `run berth login ${registry}`);
    process.stdout.write(`${found.username}\n`);
    return;
  }
  // Read the file first: a corrupt one fails before the password is even asked for.
  const current = await readAuthFile(file);
  const credentials = await credentialsFor(registry, flags, file);
  // A URL argument (http://host:5000) keeps its scheme for the check.
  const { client, plan } = await openConnection(registryArgument, flags, { credentials });
  try {
    await client.checkLogin();
  } catch (error) {
    if (error instanceof UnauthorizedError) {
      throw new CliError(`login to ${registry} failed: the registry rejected the user name or password`, 'check them; nothing was saved');
    }
    throw error;
  } finally {
    client.close();
  }
  // What worked (plain http, or TLS without verification) is kept for later commands.
  const updated = setRecordedTransport(setCredentials(current, registry, credentials), registry, transportToRecord(client, plan));
  await writeAuthFile(file, updated);
  process.stdout.write('Login Succeeded!\n');
}

async function logout(registryArgument: string | undefined, flags: LogoutFlags): Promise<void> {
  const file = authFilePath(flags.authfile);
  const current = await readAuthFile(file);
  if (flags.all) {
    if (registryArgument !== undefined) throw new CliError('give either a registry or --all');
    await writeAuthFile(file, withoutRecordedTransports({ ...current, auths: {} }));
    process.stdout.write(`Removed login credentials for all registries in ${file}\n`);
    return;
  }
  if (registryArgument === undefined) throw new CliError('which registry?', 'berth logout REGISTRY, or --all');
  const registry = registryOfKey(registryArgument);
  const { file: withoutCredentials, removed } = removeCredentials(current, registry);
  const recorded = recordedTransport(current, registry) !== undefined;
  const updated = setRecordedTransport(withoutCredentials, registry, undefined);
  if (!removed && !recorded) {
    const docker = dockerConfigPath();
    const inDocker = lookupCredentials(await readAuthFile(docker).catch(() => ({ auths: {} })), registry);
    throw new CliError(
      `not logged in to ${registry}`,
      inDocker ? `its credentials come from ${docker}; remove them with docker logout ${registry}` : `nothing to remove in ${file}`,
    );
  }
  await writeAuthFile(file, updated);
  // Credentials removed by another tool may leave the transport `berth login` recorded.
  process.stdout.write(removed ? `Removed login credentials for ${registry}\n` : `Removed the recorded transport for ${registry} (no credentials were saved)\n`);
}

export function registerLoginCommands(program: Command): void {
  addConnectionOptions(
    program
      .command('login')
      .description('log in to a registry: check the credentials, then save them (auth.json, mode 0600)')
      .argument('<registry>', 'registry host[:port] (or http(s)://host[:port])')
      .option('-u, --username <user>', 'user name (asked for on a terminal when missing)')
      .option('-p, --password <password>', 'password (visible to other users in the process list; prefer --password-stdin)')
      .option('--password-stdin', 'read the password from stdin')
      .option('--get-login', 'print the user name logged in to the registry, and exit'),
  )
    .addHelpText(
      'after',
      examples([
        'berth login -u admin sealos.hub:5000',
        'echo "$PASSWORD" | berth login -u admin --password-stdin 127.0.0.1:5000',
        'berth login --authfile ./auth.json --ca-file ca.pem -u ci registry.example.com',
      ]),
    )
    .action(action((registry: string, flags: LoginFlags) => login(registry, flags)));

  program
    .command('logout')
    .description('remove the saved credentials of a registry')
    .argument('[registry]', 'registry host[:port]')
    .option('--authfile <file>', 'credentials file (default $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)')
    .option('-a, --all', 'remove the credentials of every registry')
    .addHelpText('after', examples(['berth logout sealos.hub:5000', 'berth logout --all']))
    .action(action((registry: string | undefined, flags: LogoutFlags) => logout(registry, flags)));
}
