// skopeo invocations against plain-HTTP test registries.
import { run, type RunResult } from './process.js';
import { tool } from './tools.js';
import type { TestRegistry } from './berth.js';

export function credsFor(registry: TestRegistry): string[] {
  return registry.user !== undefined ? ['--creds', `${registry.user}:${registry.password ?? ''}`] : ['--no-creds'];
}

export function skopeo(args: readonly string[], options: { allowFailure?: boolean } = {}): Promise<RunResult> {
  return run(tool('skopeo'), ['--insecure-policy', ...args], { timeoutMs: 600_000, ...options });
}

/** skopeo copy SRC DST, with TLS off and credentials for whichever side is a registry. */
export function skopeoCopy(source: string, destination: string, options: { src?: TestRegistry; dest?: TestRegistry; extra?: string[]; allowFailure?: boolean } = {}): Promise<RunResult> {
  const args = ['copy', '--retry-times', '0'];
  if (options.src) args.push('--src-tls-verify=false', ...credsFor(options.src).map((a) => a.replace(/^--/, '--src-')));
  if (options.dest) args.push('--dest-tls-verify=false', ...credsFor(options.dest).map((a) => a.replace(/^--/, '--dest-')));
  args.push(...(options.extra ?? []), source, destination);
  return skopeo(args, { allowFailure: options.allowFailure ?? false });
}
