// `--platform os/arch[/variant]`, defaulting to this machine's platform (linux/amd64 here).
import { parsePlatform, platformOf, type PlatformSpec } from '../../oci/platform.js';
import { CliError } from '../cli-error.js';

export function resolvePlatform(text: string | undefined): PlatformSpec {
  if (text === undefined) return platformOf(process.platform, process.arch);
  const platform = parsePlatform(text);
  if (!platform) throw new CliError(`invalid --platform ${JSON.stringify(text)}`, 'use os/arch[/variant], e.g. linux/arm64');
  return platform;
}
