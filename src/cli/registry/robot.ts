// `berth registry robot create|list|delete`: robot accounts (Harbor's convention: they
// sign in as `robot$NAME`) with their own repository globs and actions, which bound them
// whatever the policy grants. They are kept in the registry's storage
// (docker/registry/v2/_berth/robots/), so every replica of a shared bucket and a running
// registry see a change within a second. The secret is printed once; only its bcrypt
// hash is kept (in the storage, or with --htpasswd in that htpasswd file).
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { ACTIONS, isAction } from '../../registry/access/actions.js';
import { compileGlob } from '../../registry/access/glob.js';
import { ROBOT_PREFIX } from '../../registry/access/identity.js';
import { RobotAccounts, isValidRobotName } from '../../storage/robot-accounts.js';
import { openDriver } from '../../storage/open.js';
import type { RobotRecord } from '../../storage/types.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { parseDuration } from '../../util/duration.js';
import { CliError } from '../cli-error.js';
import { renderJson, renderTable } from '../output.js';
import { hashPassword, setHtpasswdEntry } from './passwd.js';
import { adminStorageLocation } from './storage-config.js';

interface StorageFlags {
  readonly dataDir?: string;
  readonly config?: string;
}

interface CreateFlags extends StorageFlags {
  readonly htpasswd?: string;
  readonly repos: string;
  readonly actions: string;
  readonly expires?: string;
  readonly json?: boolean;
}

interface DeleteFlags extends StorageFlags {
  readonly htpasswd?: string;
}

/** `NAME` or `robot$NAME`, checked. */
export function robotName(argument: string): string {
  const name = argument.startsWith(ROBOT_PREFIX) ? argument.slice(ROBOT_PREFIX.length) : argument;
  if (!isValidRobotName(name)) throw new CliError(`invalid robot name ${JSON.stringify(argument)}`, 'use lower-case letters, digits, ".", "_" and "-" (up to 64)');
  return name;
}

export function parseRepositoryGlobs(text: string): string[] {
  const globs = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (globs.length === 0) throw new CliError('--repos names no repositories', 'e.g. --repos "library/**" or --repos "**"');
  for (const glob of globs) {
    const compiled = compileGlob(glob);
    if (!compiled.ok) throw new CliError(`--repos: ${compiled.reason}`);
  }
  return globs;
}

export function parseActions(text: string): string[] {
  const actions = [...new Set(text.split(',').map((part) => part.trim()).filter((part) => part !== ''))];
  if (actions.length === 0) throw new CliError('--actions names no actions', `use some of ${ACTIONS.join(',')}`);
  const unknown = actions.find((action) => !isAction(action));
  if (unknown !== undefined) throw new CliError(`unknown action ${JSON.stringify(unknown)}`, `use some of ${ACTIONS.join(',')}`);
  return ACTIONS.filter((action) => actions.includes(action));
}

/** `90d`, `12h`, `30m` (and any Go duration): when the robot stops working. */
export function parseExpiry(text: string, now = Date.now()): string {
  const days = /^(\d+)d$/.exec(text.trim());
  const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(text);
  if (ms === undefined || ms <= 0) throw new CliError(`invalid --expires ${JSON.stringify(text)}`, 'use e.g. 90d, 12h or 30m');
  return new Date(now + ms).toISOString();
}

async function openRobots(flags: StorageFlags): Promise<RobotAccounts> {
  return new RobotAccounts(openDriver(await adminStorageLocation(flags, undefined)));
}

/** Removes `user`'s line from an htpasswd file, keeping every other line; false when absent. */
async function removeHtpasswdEntry(file: string, user: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const lines = text.split('\n');
  const kept = lines.filter((line) => !line.replace(/\r$/, '').startsWith(`${user}:`));
  if (kept.length === lines.length) return false;
  await writeFileAtomic(file, kept.join('\n'), (await stat(file)).mode & 0o777);
  return true;
}

async function setHtpasswdLine(file: string, user: string, hash: string): Promise<void> {
  let text = '';
  let mode = 0o600;
  try {
    [text, mode] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mode & 0o777)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  await writeFileAtomic(file, setHtpasswdEntry(text, user, hash).text, mode);
}

function describeExpiry(record: RobotRecord, now = Date.now()): string {
  if (record.expiresAt === null) return 'never';
  return Date.parse(record.expiresAt) > now ? record.expiresAt : `${record.expiresAt} (expired)`;
}

async function create(argument: string, flags: CreateFlags): Promise<void> {
  const name = robotName(argument);
  const repositories = parseRepositoryGlobs(flags.repos);
  const actions = parseActions(flags.actions);
  const expiresAt = flags.expires !== undefined ? parseExpiry(flags.expires) : null;
  const robots = await openRobots(flags);
  const secret = randomBytes(32).toString('base64url');
  const hash = await hashPassword(secret);
  const record: RobotRecord = {
    name,
    repositories,
    actions,
    createdAt: new Date().toISOString(),
    expiresAt,
    secretHash: flags.htpasswd !== undefined ? null : hash,
  };
  // The hash goes into the htpasswd file first: a record without its hash would be a
  // robot that cannot sign in, a hash without a record never signs in.
  if (flags.htpasswd !== undefined) await setHtpasswdLine(flags.htpasswd, `${ROBOT_PREFIX}${name}`, hash);
  if (!(await robots.create(record))) throw new CliError(`robot ${ROBOT_PREFIX}${name} exists`, `delete it first: berth registry robot delete ${name}`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ name: `${ROBOT_PREFIX}${name}`, secret })}\n`);
    return;
  }
  process.stdout.write(
    `name:         ${ROBOT_PREFIX}${name}\n` +
      `secret:       ${secret}\n` +
      `repositories: ${repositories.join(', ')}\n` +
      `actions:      ${actions.join(',')}\n` +
      `expires:      ${describeExpiry(record)}\n` +
      'The secret is shown only now: Berth keeps only its bcrypt hash.\n',
  );
}

async function list(flags: StorageFlags & { readonly json?: boolean }): Promise<void> {
  const records = await (await openRobots(flags)).list();
  if (flags.json) {
    process.stdout.write(
      `${renderJson(records.map((r) => ({ name: `${ROBOT_PREFIX}${r.name}`, repositories: r.repositories, actions: r.actions, createdAt: r.createdAt, expiresAt: r.expiresAt, expired: r.expiresAt !== null && !(Date.parse(r.expiresAt) > Date.now()) })))}\n`,
    );
    return;
  }
  if (records.length === 0) {
    process.stderr.write('no robot accounts; create one with: berth registry robot create NAME --repos GLOB --actions pull\n');
    return;
  }
  const rows = records.map((r) => [`${ROBOT_PREFIX}${r.name}`, r.repositories.join(', '), r.actions.join(','), describeExpiry(r), r.createdAt]);
  process.stdout.write(`${renderTable(['Name', 'Repositories', 'Actions', 'Expires', 'Created'], rows)}\n`);
}

async function remove(argument: string, flags: DeleteFlags): Promise<void> {
  const name = robotName(argument);
  const removed = await (await openRobots(flags)).remove(name);
  const fromFile = flags.htpasswd !== undefined && (await removeHtpasswdEntry(flags.htpasswd, `${ROBOT_PREFIX}${name}`));
  if (!removed && !fromFile) throw new CliError(`no robot ${ROBOT_PREFIX}${name}`, 'list them with: berth registry robot list');
  process.stdout.write(`Deleted robot ${ROBOT_PREFIX}${name}\n`);
}

function storageOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'the registry\'s data directory (holds docker/registry/v2)')
    .option('--config <file>', 'the registry\'s config (its storage: a data directory or an S3 bucket)');
}

export function registerRobot(registry: Command): void {
  const robot = registry.command('robot').description('robot accounts (robot$NAME) with their own repositories and actions, e.g. pull-only for nodes');
  storageOptions(
    robot
      .command('create')
      .description('create a robot account and print its secret (once)')
      .argument('<name>', 'NAME (signs in as robot$NAME)')
      .requiredOption('--repos <globs>', 'repository globs it may reach, comma-separated (*, ** and ?)')
      .requiredOption('--actions <actions>', `comma-separated: ${ACTIONS.join(', ')}`)
      .option('--expires <duration>', 'stop working after this long (90d, 12h, 30m)')
      .option('--htpasswd <file>', 'keep the secret\'s hash in this htpasswd file instead of the storage')
      .option('--json', 'print {"name": "robot$NAME", "secret": "..."}'),
  )
    .addHelpText(
      'after',
      `
The robot never goes beyond --repos and --actions, even where the accessControl policy
(if any) would let its name do more; a policy can narrow it further.

Examples:
  berth registry robot create nodes --data-dir /var/lib/registry --repos '**' --actions pull
  berth registry robot create ci --config /etc/registry/config.yml --repos 'library/**,apps/**' --actions pull,push --expires 90d --json`,
    )
    .action((name: string, flags: CreateFlags) => create(name, flags));
  storageOptions(robot.command('list').description('list robot accounts (never their secrets)').option('--json', 'print JSON')).action((flags: StorageFlags & { json?: boolean }) => list(flags));
  storageOptions(
    robot
      .command('delete')
      .description('delete a robot account; a running registry refuses it within a second')
      .argument('<name>', 'NAME or robot$NAME')
      .option('--htpasswd <file>', 'also remove its line from this htpasswd file'),
  ).action((name: string, flags: DeleteFlags) => remove(name, flags));
}
