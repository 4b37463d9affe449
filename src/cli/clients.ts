// Registry clients for CLI commands, from the shared connection flags.
import { readFileSync } from 'node:fs';
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
    credentials: credentials ? () => credentials : credentialSource(registry, flags.authfile),
    userAgent: `berth/${BERTH_VERSION}`,
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
  });
}
