// Registry clients for CLI commands, from the connection flags every command that talks
// to a registry shares, with docker's meanings: --plain-http talks http; --ca-file
// means TLS (also on loopback, which is otherwise plain http) trusting that CA;
// --insecure is docker's insecure registry (https without certificate checks, plain
// http when the server has no TLS). An explicit http:// or https:// registry wins.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { resolveEndpoint } from '../client/endpoint.js';
import { RegistryClient } from '../client/registry-client.js';
import { credentialSource } from './credentials.js';
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

export function createClient(registry: string, flags: ConnectionFlags = {}, credentials?: Credentials): RegistryClient {
  let ca: Buffer | undefined;
  if (flags.caFile) {
    try {
      ca = readFileSync(flags.caFile);
    } catch (error) {
      throw new CliError(`cannot read CA file ${flags.caFile}: ${(error as Error).message}`);
    }
  }
  const explicit = /^https?:\/\//i.test(registry);
  // TLS first for --ca-file and --insecure, even on loopback (otherwise plain http);
  // --insecure falls back to http when the server has no TLS.
  const target = !explicit && (flags.caFile || flags.insecure) && !flags.plainHttp ? `https://${registry}` : registry;
  return new RegistryClient({
    registry: target,
    plainHttp: flags.plainHttp ?? false,
    insecure: flags.insecure ?? false,
    tls: ca ? { ca } : {},
    // Credentials are stored under the registry's name, never under a URL form
    // (`http://host:5000` must find the entry for `host:5000`).
    credentials: credentials ? () => credentials : credentialSource(resolveEndpoint(registry).name, flags.authfile),
    userAgent: `berth/${BERTH_VERSION}`,
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(flags.attempts !== undefined ? { attempts: flags.attempts } : {}),
  });
}

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--authfile <file>', 'credentials file (default $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)')
    .option('--insecure', 'an insecure registry: https without certificate checks, else plain http (as docker does)')
    .option('--plain-http', 'plain http (the default for 127.0.0.0/8, localhost and [::1])')
    .option('--ca-file <file>', 'https (also on loopback), trusting this CA certificate (PEM)');
}
