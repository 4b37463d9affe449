// `berth registry passwd`: set a user's password in a bcrypt htpasswd file (cost 10,
// `$2y$` as `htpasswd -B` writes it), keeping every other line as it was. The file is
// replaced atomically, so a registry reading it (Berth re-reads it when it changes)
// sees the old file or the new one, never half of one.
import { readFile, stat } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { CliError } from '../cli-error.js';
import { ask, haveTerminal, readStdin } from '../prompt.js';

export const DEFAULT_PASSWD_USER = 'admin';
const BCRYPT_COST = 10;
/** bcrypt ignores everything after 72 bytes; refuse rather than silently truncate. */
const BCRYPT_MAX_BYTES = 72;

interface PasswdFlags {
  readonly user?: string;
  readonly passwordStdin?: boolean;
  readonly htpasswd?: string;
}

export function checkUser(user: string): void {
  if (user.length < 3) throw new CliError(`user name ${JSON.stringify(user)} is too short`, 'use at least 3 characters');
  if (/[:\s]/.test(user)) throw new CliError(`user name ${JSON.stringify(user)} may not contain ":" or spaces`);
}

export function checkPassword(password: string): void {
  if (password === '') throw new CliError('the password is empty');
  if (/[\r\n]/.test(password)) throw new CliError('the password contains a line break');
  if (Buffer.byteLength(password) > BCRYPT_MAX_BYTES) throw new CliError(`the password is longer than ${BCRYPT_MAX_BYTES} bytes`, 'bcrypt would ignore the rest; choose a shorter one');
}

export async function hashPassword(password: string): Promise<string> {
  const hash = await bcrypt.hash(password, BCRYPT_COST);
  return hash.replace(/^\$2[ab]\$/, '$2y$');
}

/** Replaces `user`'s line (or appends one); every other line stays byte for byte. */
export function setHtpasswdEntry(text: string, user: string, hash: string): { text: string; added: boolean } {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  let added = true;
  const out: string[] = [];
  for (const line of lines) {
    if (line.replace(/\r$/, '').startsWith(`${user}:`)) {
      if (added) out.push(`${user}:${hash}`);
      added = false;
      continue; // a duplicate line of the same user goes: it would shadow nothing but confuse
    }
    out.push(line);
  }
  if (added) out.push(`${user}:${hash}`);
  return { text: `${out.join('\n')}\n`, added };
}

async function readExisting(file: string): Promise<{ text: string; mode: number }> {
  try {
    const [text, stats] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    return { text, mode: stats.mode & 0o777 };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', mode: 0o600 };
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function askUser(): Promise<string> {
  const answer = (await ask(`Username [${DEFAULT_PASSWD_USER}]: `)).trim();
  return answer === '' ? DEFAULT_PASSWD_USER : answer;
}

async function askPassword(): Promise<string> {
  const first = await ask('Password: ', { hidden: true });
  checkPassword(first);
  const second = await ask('Confirm password: ', { hidden: true });
  if (first !== second) throw new CliError('the passwords do not match; nothing changed');
  return first;
}

export function registerPasswd(registry: Command): void {
  registry
    .command('passwd')
    .description("set a user's password in a registry's bcrypt htpasswd file")
    .requiredOption('--htpasswd <file>', 'the htpasswd file the registry reads (created if missing)')
    .option('-u, --user <name>', `user to set (default: asked, ${DEFAULT_PASSWD_USER})`)
    .option('--password-stdin', 'read the password from stdin instead of asking')
    .addHelpText(
      'after',
      `
Without -u or --password-stdin it asks on the terminal (the password twice, not echoed).
Other users in the file are kept. A running "berth registry serve" picks the change up
within a second; registry:2 (docker-registry) must be restarted.

Examples:
  berth registry passwd --htpasswd /etc/registry/registry_htpasswd
  echo "$NEW_PASSWORD" | berth registry passwd -u admin --password-stdin --htpasswd /etc/registry/registry_htpasswd`,
    )
    .action(async (flags: PasswdFlags) => {
      const file = flags.htpasswd!;
      if (!flags.passwordStdin && !haveTerminal()) {
        throw new CliError('no terminal to ask for the password', 'pipe it in: berth registry passwd -u USER --password-stdin --htpasswd FILE');
      }
      const existing = await readExisting(file);
      const user = flags.user ?? (flags.passwordStdin ? DEFAULT_PASSWD_USER : await askUser());
      checkUser(user);
      const password = flags.passwordStdin ? await readStdin() : await askPassword();
      checkPassword(password);
      const { text, added } = setHtpasswdEntry(existing.text, user, await hashPassword(password));
      try {
        await writeFileAtomic(file, text, existing.mode);
      } catch (error) {
        throw new CliError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      process.stdout.write(`${added ? 'Added user' : 'Updated password for'} ${user} in ${file}\n`);
    });
}
