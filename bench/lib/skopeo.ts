// skopeo copies against the plain-HTTP registries under test.
import { run, type RunResult } from './proc.js';
import type { Credentials } from './servers.js';
import { tool } from './tools.js';

export interface CopyOptions {
  readonly srcCreds?: Credentials;
  readonly destCreds?: Credentials;
}

/** `skopeo copy SRC DST` with TLS off, no retries (a failure must show), bounded in time. */
export function skopeoCopy(source: string, destination: string, options: CopyOptions): Promise<RunResult> {
  const args = ['--insecure-policy', 'copy', '--quiet', '--retry-times', '0'];
  if (options.srcCreds) args.push('--src-tls-verify=false', '--src-creds', `${options.srcCreds.user}:${options.srcCreds.password}`);
  if (options.destCreds) args.push('--dest-tls-verify=false', '--dest-creds', `${options.destCreds.user}:${options.destCreds.password}`);
  args.push(source, destination);
  return run(tool('skopeo'), args, { timeoutMs: 900_000 });
}
