// What the `registry` administration commands share: clients from the connection flags
// (clients.ts), the reachability probe, and count and size formatting.
import type { Credentials } from '../../client/credentials.js';
import type { RegistryClient } from '../../client/registry-client.js';
import { CliError } from '../cli-error.js';
import { openConnection, type ConnectionPlan } from '../clients.js';
import { asCliError } from '../explain-error.js';

export interface RemoteFlags {
  readonly authfile?: string;
  readonly insecure?: boolean;
  readonly plainHttp?: boolean;
  readonly caFile?: string;
}

export interface ClientExtras {
  readonly attempts?: number;
  readonly timeoutMs?: number;
  readonly credentials?: Credentials;
  readonly repository?: string;
}

/** A client for `registry` (a name like `host:5000`, or a URL that fixes the scheme), and how it connects. */
export function openRemote(registry: string, flags: RemoteFlags, extras: ClientExtras = {}): Promise<{ client: RegistryClient; plan: ConnectionPlan }> {
  return openConnection(
    registry,
    {
      ...(flags.insecure ? { insecure: true } : {}),
      ...(flags.plainHttp ? { plainHttp: true } : {}),
      ...(flags.caFile ? { caFile: flags.caFile } : {}),
      ...(flags.authfile ? { authfile: flags.authfile } : {}),
      ...(extras.attempts !== undefined ? { attempts: extras.attempts } : {}),
      ...(extras.timeoutMs !== undefined ? { timeout: extras.timeoutMs } : {}),
    },
    { ...(extras.credentials ? { credentials: extras.credentials } : {}), ...(extras.repository ? { repository: extras.repository } : {}) },
  );
}

export async function openClient(registry: string, flags: RemoteFlags, extras: ClientExtras = {}): Promise<RegistryClient> {
  return (await openRemote(registry, flags, extras)).client;
}

/**
 * GET /v2/ without credentials, with a short limit: is a registry answering there?
 * Throws a CliError naming `what` when not.
 */
export async function probeRegistry(registry: string, flags: RemoteFlags, what: string, timeoutMs = 3000): Promise<string> {
  const client = await openClient(registry, flags, { attempts: 1, timeoutMs });
  try {
    const { status } = await client.ping();
    if (status !== 200 && status !== 401) {
      throw new CliError(`${what} ${client.endpoint.baseUrl.origin} answered /v2/ with HTTP ${status}`, 'is it a container registry?');
    }
    return client.endpoint.baseUrl.origin;
  } catch (error) {
    throw asCliError(error, `${what} ${client.endpoint.baseUrl.origin} is not reachable`);
  } finally {
    client.close();
  }
}

/** Decimal units, as docker prints sizes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** A positive integer flag (`--max-procs 5`). */
export function parseCount(text: string, flag: string, max = 256): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) throw new CliError(`${flag} must be a whole number from 1 to ${max}, not ${JSON.stringify(text)}`);
  return value;
}
