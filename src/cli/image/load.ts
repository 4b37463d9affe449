// `berth load`: reads docker-save, OCI (skopeo oci-archive, podman) and ctr-export
// archives, gzipped or not, from a file or stdin. A corrupt archive changes nothing.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import type { Command } from 'commander';
import { loadArchive } from '../../archive/load.js';
import { familiarName, parseImageName } from '../../store/names.js';
import { CliError } from '../cli-error.js';
import { action } from './errors.js';
import { addStoreOption, examples, hostPlatform, openStore, platformChoice, type StoreFlags } from './flags.js';
import { createByteProgress } from './progress.js';

interface LoadFlags extends StoreFlags {
  input?: string;
  quiet?: boolean;
  platform?: string;
  allPlatforms?: boolean;
  baseName?: string;
}

async function openInput(file: string | undefined): Promise<{ stream: Readable; size: number; label: string }> {
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) throw new CliError('no archive given', 'berth load -i FILE, or pipe the archive into berth load');
    return { stream: process.stdin, size: 0, label: 'stdin' };
  }
  try {
    // Opened here so a missing or unreadable file fails before anything starts.
    const handle = await open(file, 'r');
    const size = (await stat(file)).size;
    return { stream: createReadStream('', { fd: handle, highWaterMark: 1024 * 1024 }), size, label: file };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (error as Error).message}`);
  }
}

async function load(flags: LoadFlags): Promise<void> {
  const choice = platformChoice(flags);
  if (flags.baseName !== undefined) parseImageName(flags.baseName);
  const store = await openStore(flags);
  const input = await openInput(flags.input);
  const bar = createByteProgress(`Loading ${input.label}`, input.size, process.stdout);
  const counted = input.stream.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bar.add(chunk.length);
        callback(null, chunk);
      },
    }),
  );
  input.stream.once('error', (error) => counted.destroy(error));
  let result;
  try {
    result = await loadArchive(store, counted, input.label, {
      ...(flags.platform !== undefined ? { platform: choice.platform } : {}),
      allPlatforms: choice.allPlatforms,
      defaultPlatform: hostPlatform(),
      ...(flags.baseName !== undefined ? { baseName: flags.baseName } : {}),
    });
  } finally {
    bar.close();
    input.stream.destroy();
  }
  const lines: string[] = [];
  for (const image of result.images) {
    if (image.names.length === 0) lines.push(flags.quiet ? image.id : `Loaded image ID: ${image.id}`);
    for (const name of image.names) lines.push(flags.quiet ? name : `Loaded image: ${familiarName(name)}`);
  }
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

export function registerLoad(program: Command): void {
  addStoreOption(
    program
      .command('load')
      .description('load images from an archive (docker save, ctr images export, skopeo/podman oci-archive, berth save; gzip or not)')
      .option('-i, --input <file>', 'the archive (default: stdin)')
      .option('-q, --quiet', 'print only the loaded names (or IDs)')
      .option('--platform <os/arch[/variant]>', 'load only this platform of multi-platform images')
      .option('--all-platforms', 'require every platform of multi-platform images (default: all when the archive has them, else this machine\'s)')
      .option('--base-name <repository>', 'name images that an OCI archive tags only by a bare tag (v1 → <repository>:v1)'),
  )
    .addHelpText('after', examples(['berth load -i nginx.tar', 'docker save nginx:1.25 | berth load', 'berth load -i images.tgz --platform linux/arm64']))
    .action(action((flags: LoadFlags) => load(flags)));
}
