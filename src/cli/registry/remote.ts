// What the `registry` administration commands share: connection flags, clients, the
// reachability probe, and failures turned into one line with a hint.
import type { Command } from 'commander';
import { RegistryRequestError, UnauthorizedError } from '../../client/errors.js';
import type { Credentials } from '../../client/credentials.js';
import { RegistryClient } from '../../client/registry-client.js';
import { CliError } from '../cli-error.js';
import { createClient } from '../clients.js';

export interface RemoteFlags {
  readonly authfile?: string;
  readonly insecure?: boolean;
  readonly caFile?: string;
}

export function addRemoteOptions(command: Command): Command {
  return command
    .option('--authfile <file>', 'credentials file (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json)')
    .option('--insecure', 'plain HTTP; for an https:// URL, TLS without certificate checks (loopback registries are plain HTTP anyway)')
    .option('--ca-file <file>', 'extra CA certificate (PEM) to trust for TLS');
}

export interface ClientExtras {
  readonly attempts?: number;
  readonly timeoutMs?: number;
  readonly credentials?: Credentials;
}

/** A client for `registry` (a name like `host:5000`, or a URL that fixes the scheme). */
export function openClient(registry: string, flags: RemoteFlags, extras: ClientExtras = {}): RegistryClient {
  return createClient(
    registry,
    {
      ...(flags.insecure ? { insecure: true } : {}),
      ...(flags.caFile ? { caFile: flags.caFile } : {}),
      ...(flags.authfile ? { authfile: flags.authfile } : {}),
      ...(extras.attempts !== undefined ? { attempts: extras.attempts } : {}),
      ...(extras.timeoutMs !== undefined ? { timeout: extras.timeoutMs } : {}),
    },
    extras.credentials,
  );
}

const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

/** A failure as one line a user can act on, with a hint where one helps. */
export function explainError(error: unknown): { message: string; hint?: string } {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const raw = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  if (error instanceof UnauthorizedError) return { message: raw, hint: 'check the user and password; log in again with: berth login REGISTRY' };
  if (error instanceof RegistryRequestError) return { message: raw };
  if (code === 'ECONNREFUSED') return { message: `connection refused (${raw.replace(/^connect ECONNREFUSED /, '')})`, hint: 'is the registry running, and is the address right?' };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { message: `cannot resolve host (${raw})`, hint: 'check the registry name, or add it to /etc/hosts' };
  if (code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { message: raw, hint: 'check the address and the network path to the registry' };
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(raw)) {
    return { message: 'TLS handshake failed: the server does not speak TLS', hint: 'for a plain-HTTP registry use --insecure or an http:// URL' };
  }
  if (CERTIFICATE_CODES.has(code)) return { message: `TLS certificate not trusted (${code})`, hint: 'pass its CA with --ca-file, or use --insecure' };
  if (code === 'ENOSPC') return { message: raw, hint: 'the disk is full; free space and retry' };
  return { message: raw };
}

export function explainLine(error: unknown): string {
  const { message, hint } = explainError(error);
  return hint ? `${message} (hint: ${hint})` : message;
}

export function asCliError(error: unknown, context: string): CliError {
  if (error instanceof CliError) return error;
  const { message, hint } = explainError(error);
  return new CliError(`${context}: ${message}`, hint);
}

/**
 * GET /v2/ without credentials, with a short limit: is a registry answering there?
 * Throws a CliError naming `what` when not.
 */
export async function probeRegistry(registry: string, flags: RemoteFlags, what: string, timeoutMs = 3000): Promise<string> {
  const client = openClient(registry, flags, { attempts: 1, timeoutMs });
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
