// `berth registry status`: every registry in the auth file, pinged with its own
// credentials, in sealctl's table (Name | URL | UserName | Password | Healthy).
import type { Command } from 'commander';
import { listCredentials, readAuthFile } from '../../client/auth-file.js';
import { mapSettled } from '../../util/pool.js';
import { authFilePath } from '../credentials.js';
import { maskSecret, renderJson, renderTable } from '../output.js';
import { openRemote, type RemoteFlags } from './remote.js';
import { addConnectionOptions } from '../clients.js';
import { explainLine } from '../explain-error.js';

interface StatusFlags extends RemoteFlags {
  readonly json?: boolean;
  readonly showPassword?: boolean;
  readonly timeout: string;
}

export interface StatusRow {
  readonly Name: string;
  readonly URL: string;
  readonly UserName: string;
  readonly Password: string;
  readonly Healthy: 'ok' | 'failed';
  /** Where the registry was declared insecure (a flag, a file, a login record); absent when it was not. */
  readonly InsecureFrom?: string;
  readonly Error?: string;
}

export function registerStatus(registry: Command): void {
  const command = registry
    .command('status')
    .description('ping every registry in the auth file with its credentials')
    .option('--json', 'print JSON: [{Name, URL, UserName, Password, Healthy, InsecureFrom, Error}]')
    .option('--show-password', 'print passwords instead of ******')
    .option('--timeout <seconds>', 'give up on a registry after this long', '5');
  addConnectionOptions(command).addHelpText(
    'after',
    `
A registry that does not answer, or refuses the stored credentials, shows "failed" and
the reason; the command then exits 1 (after printing every row).

Examples:
  berth registry status
  berth registry status --json
  REGISTRY_AUTH_FILE=/root/auth.json berth registry status --show-password`,
  );
  command.action(async (flags: StatusFlags) => {
    const file = authFilePath(flags.authfile);
    const logins = listCredentials(await readAuthFile(file));
    if (logins.length === 0) {
      if (flags.json) process.stdout.write('[]\n');
      else process.stderr.write(`no registry logins in ${file}; log in with: berth login REGISTRY\n`);
      return;
    }
    const timeoutMs = Math.max(1, Number(flags.timeout) || 5) * 1000;
    const results = await mapSettled(logins, 8, async ({ registry, credentials }): Promise<StatusRow> => {
      const { client, plan } = await openRemote(registry, flags, { credentials, attempts: 1, timeoutMs });
      // The URL is read after the check: an insecure registry may have fallen back to http.
      const row = (healthy: StatusRow['Healthy'], error?: unknown): StatusRow => ({
        Name: registry,
        URL: client.endpoint.baseUrl.origin,
        UserName: credentials.username ?? '',
        Password: flags.showPassword ? (credentials.password ?? '') : maskSecret(credentials.password),
        Healthy: healthy,
        ...(plan.insecureFrom ? { InsecureFrom: plan.insecureFrom } : {}),
        ...(error !== undefined ? { Error: explainLine(error) } : {}),
      });
      try {
        await client.checkLogin();
        return row('ok');
      } catch (error) {
        return row('failed', error);
      } finally {
        client.close();
      }
    });
    // A row fails only before its ping (a malformed registries.conf, an unreadable CA
    // file): that is the command's error, not a missing row.
    const broken = results.find((result) => !result.ok);
    if (broken && !broken.ok) throw broken.error;
    const rows = results.map((result) => (result.ok ? result.value : undefined)).filter((row): row is StatusRow => row !== undefined);
    if (flags.json) process.stdout.write(`${renderJson(rows)}\n`);
    else {
      const table = renderTable(
        ['Name', 'URL', 'UserName', 'Password', 'Healthy'],
        rows.map((row) => [row.Name, row.URL, row.UserName, row.Password, row.Healthy]),
      );
      // Reasons go under the table: they are long, and the Healthy column stays ok/failed.
      const reasons = rows.filter((row) => row.Error !== undefined).map((row) => `${row.Name}: failed: ${row.Error}\n`);
      process.stdout.write(`${table}\n${reasons.join('')}`);
    }
    if (rows.some((row) => row.Healthy !== 'ok')) process.exitCode = 1;
  });
}
