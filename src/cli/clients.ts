// Registry clients for CLI commands, from the connection flags every command that talks
// to a registry shares, with docker's meanings: --plain-http talks http; --ca-file
// means TLS (also on loopback, which is otherwise plain http) trusting that CA;
// --insecure is docker's insecure registry (https without certificate checks, plain
// http when the server has no TLS). An explicit http:// or https:// registry wins.
// Without a flag, a registry is insecure when `berth login` recorded a transport for it
// in the auth file, or when registries.conf or daemon.json lists it
// (connection-settings.ts); otherwise loopback is plain http and the rest verified TLS.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { readAuthFile, recordedTransport, type RecordedTransport } from '../client/auth-file.js';
import { isLoopbackHost, resolveEndpoint } from '../client/endpoint.js';
import { RegistryClient } from '../client/registry-client.js';
import { authFilePath, credentialSource } from './credentials.js';
import { connectionSettings } from './connection-settings.js';
import { BERTH_VERSION } from './version.js';
import type { Credentials } from '../client/credentials.js';
import { CliError } from './cli-error.js';

export interface ConnectionFlags {
  readonly insecure?: boolean;
  readonly plainHttp?: boolean;
  readonly caFile?: string;
  readonly authfile?: string;
  readonly timeout?: number;
  /** Attempts for retryable failures (1 = fail fast, for health checks and probes). */
  readonly attempts?: number;
}

export interface ClientExtras {
  /** Use these instead of the saved ones (login checks what it is about to save). */
  readonly credentials?: Credentials;
  /** The repository the command works on: registries.conf prefixes may name one. */
  readonly repository?: string;
}

/** How a registry is reached, and why. */
export interface ConnectionPlan {
  /** The registry as the client gets it: a name, or a URL that fixes the scheme. */
  readonly target: string;
  readonly plainHttp: boolean;
  readonly insecure: boolean;
  /** Where the insecure setting came from: a flag, a file, or a login record. */
  readonly insecureFrom?: string;
}

export async function planConnection(registry: string, flags: ConnectionFlags, repository?: string): Promise<ConnectionPlan> {
  const explicit = /^https?:\/\//i.test(registry);
  if (explicit || flags.plainHttp) return { target: registry, plainHttp: flags.plainHttp ?? false, insecure: flags.insecure ?? false, ...(flags.insecure ? { insecureFrom: '--insecure' } : {}) };
  // TLS first for --ca-file and --insecure, even on loopback (otherwise plain http);
  // --insecure falls back to http when the server has no TLS.
  if (flags.insecure) return { target: `https://${registry}`, plainHttp: false, insecure: true, insecureFrom: '--insecure' };
  if (flags.caFile) return { target: `https://${registry}`, plainHttp: false, insecure: false };
  const name = resolveEndpoint(registry).name;
  const authFile = authFilePath(flags.authfile);
  const recorded: RecordedTransport | undefined = recordedTransport(await readAuthFile(authFile), name);
  const settings = await connectionSettings();
  const listed = await settings.insecureFor(repository ? `${name}/${repository}` : name);
  const from = listed ? `${listed.source} (${listed.entry})` : recorded ? `berth login (${authFile})` : undefined;
  if (from === undefined) return { target: registry, plainHttp: false, insecure: false };
  // What login found to work is used directly: no TLS handshake to fail on every command.
  const scheme = recorded === 'http' ? 'http' : 'https';
  return { target: `${scheme}://${name}`, plainHttp: false, insecure: true, insecureFrom: from };
}

/** The transport to remember after a successful login, or undefined for the default. */
export function transportToRecord(client: RegistryClient, plan: ConnectionPlan): RecordedTransport | undefined {
  const { protocol, host } = client.endpoint.baseUrl;
  if (protocol === 'http:') return isLoopbackHost(host) ? undefined : 'http';
  return plan.insecure ? 'https-insecure' : undefined;
}

export async function openConnection(registry: string, flags: ConnectionFlags = {}, extras: ClientExtras = {}): Promise<{ client: RegistryClient; plan: ConnectionPlan }> {
  let ca: Buffer | undefined;
  if (flags.caFile) {
    try {
      ca = readFileSync(flags.caFile);
    } catch (error) {
      throw new CliError(`cannot read CA file ${flags.caFile}: ${(error as Error).message}`);
    }
  }
  const plan = await planConnection(registry, flags, extras.repository);
  const { lookup } = await connectionSettings();
  const client = new RegistryClient({
    registry: plan.target,
    plainHttp: plan.plainHttp,
    insecure: plan.insecure,
    tls: ca ? { ca } : {},
    // Credentials are stored under the registry's name, never under a URL form
    // (`http://host:5000` must find the entry for `host:5000`).
    credentials: extras.credentials ? () => extras.credentials : credentialSource(resolveEndpoint(registry).name, flags.authfile),
    userAgent: `berth/${BERTH_VERSION}`,
    ...(lookup ? { lookup } : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(flags.attempts !== undefined ? { attempts: flags.attempts } : {}),
  });
  return { client, plan };
}

export async function createClient(registry: string, flags: ConnectionFlags = {}, extras: ClientExtras = {}): Promise<RegistryClient> {
  return (await openConnection(registry, flags, extras)).client;
}

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--authfile <file>', 'credentials file (default $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)')
    .option('--insecure', 'an insecure registry: https without certificate checks, else plain http (as docker does); also from registries.conf and daemon.json')
    .option('--plain-http', 'plain http (the default for 127.0.0.0/8, localhost and [::1])')
    .option('--ca-file <file>', 'https (also on loopback), trusting this CA certificate (PEM)');
}
