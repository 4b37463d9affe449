// Options shared by the local-image commands: the store root, registry connection
// settings and platform choice, each added the same way on every command.
import type { Command } from 'commander';
import { parsePlatform, platformOf, type PlatformSpec } from '../../oci/platform.js';
import { ImageStore } from '../../store/image-store.js';
import { defaultStoreRoot } from '../../store/layout.js';
import { CliError } from '../cli-error.js';

export interface StoreFlags {
  readonly root?: string;
}

export function addStoreOption(command: Command): Command {
  return command.option('--root <dir>', `local image store (default ${defaultStoreRoot()})`);
}

export function openStore(flags: StoreFlags): Promise<ImageStore> {
  return ImageStore.open(flags.root ?? defaultStoreRoot());
}

export interface PlatformFlags {
  readonly platform?: string;
  readonly allPlatforms?: boolean;
}

export function addPlatformOptions(command: Command, what: string): Command {
  return command
    .option('--platform <os/arch[/variant]>', `${what} this platform of a multi-platform image (default: this machine's)`)
    .option('--all-platforms', 'keep whole multi-platform indexes (every platform)');
}

export function hostPlatform(): PlatformSpec {
  return platformOf(process.platform, process.arch);
}

export function platformChoice(flags: PlatformFlags): { allPlatforms: boolean; platform: PlatformSpec } {
  if (flags.platform !== undefined && flags.allPlatforms) throw new CliError('--platform and --all-platforms exclude each other');
  if (flags.platform === undefined) return { allPlatforms: flags.allPlatforms === true, platform: hostPlatform() };
  const platform = parsePlatform(flags.platform);
  if (!platform) throw new CliError(`invalid platform ${JSON.stringify(flags.platform)}`, 'use os/arch[/variant], e.g. linux/arm64');
  return { allPlatforms: false, platform };
}

export function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}
