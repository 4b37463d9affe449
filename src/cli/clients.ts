// Registry clients for CLI commands, from the shared connection flags.
import { readFileSync } from 'node:fs';
import { resolveEndpoint } from '../client/endpoint.js';
import { RegistryClient } from '../client/registry-client.js';
import { credentialSource } from './credentials.js';
import { BERTH_VERSION } from './version.js';
import type { Credentials } from '../client/credentials.js';
import { CliError } from './cli-error.js';

export interface ConnectionFlags {
  /** Plain HTTP, or https without verification: docker's insecure registry. */
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
  return new RegistryClient({
    registry,
    plainHttp: flags.plainHttp ?? flags.insecure ?? false,
    tls: { ...(ca ? { ca } : {}), ...(flags.insecure ? { insecureSkipVerify: true } : {}) },
    // Credentials are stored under the registry's name, never under a URL form
    // (`http://host:5000` must find the entry for `host:5000`).
    credentials: credentials ? () => credentials : credentialSource(resolveEndpoint(registry).name, flags.authfile),
    userAgent: `berth/${BERTH_VERSION}`,
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(flags.attempts !== undefined ? { attempts: flags.attempts } : {}),
  });
}
