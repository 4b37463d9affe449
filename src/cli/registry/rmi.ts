// `berth registry rmi IMAGE...`: resolve each tag to its manifest digest and delete the
// manifest by digest (what registries allow), so every tag on it goes too. Blobs stay
// until `berth registry gc`. Each image is reported; one failure does not stop the rest.
import type { Command } from 'commander';
import { mapSettled } from '../../util/pool.js';
import { CliError } from '../cli-error.js';
import { renderJson } from '../output.js';
import { openClient, type RemoteFlags } from './remote.js';
import { addConnectionOptions } from '../clients.js';
import { explainLine } from '../explain-error.js';
import { formatRegistryImage, parseRegistryImage, pickRegistry, type RegistryImage } from './targets.js';

interface RmiFlags extends RemoteFlags {
  readonly name?: string;
  readonly json?: boolean;
}

interface RmiResult {
  readonly image: string;
  readonly deleted: boolean;
  readonly digest?: string;
  /** Other tags that pointed at the same manifest and went with it. */
  readonly alsoUntagged?: string[];
  readonly error?: string;
}

async function removeOne(image: RegistryImage, flags: RmiFlags): Promise<RmiResult> {
  const label = formatRegistryImage(image);
  const client = await openClient(image.registry, flags, { repository: image.repository });
  try {
    const reference = image.digest ?? image.tag ?? 'latest';
    const head = await client.headManifest(image.repository, reference);
    if (!head) return { image: label, deleted: false, error: 'manifest unknown (no such image)' };
    const before = (await client.listTags(image.repository)) ?? [];
    if (!(await client.deleteManifest(image.repository, head.digest))) return { image: label, deleted: false, error: 'manifest unknown (deleted meanwhile?)' };
    const after = new Set((await client.listTags(image.repository)) ?? []);
    const gone = before.filter((tag) => !after.has(tag) && tag !== image.tag);
    return { image: label, deleted: true, digest: head.digest, ...(gone.length > 0 ? { alsoUntagged: gone } : {}) };
  } catch (error) {
    return { image: label, deleted: false, error: explainLine(error) };
  } finally {
    client.close();
  }
}

export function registerRmi(registry: Command): void {
  const command = registry
    .command('rmi')
    .description('delete images from a registry (by resolving each tag to its manifest digest)')
    .argument('<images...>', '[REGISTRY/]NAME[:TAG|@DIGEST]; the tag defaults to latest')
    .option('-n, --name <registry>', 'registry for images given without one (default: the one you are logged in to)')
    .option('--json', 'print JSON: [{image, deleted, digest, alsoUntagged, error}]');
  addConnectionOptions(command).addHelpText(
    'after',
    `
Deleting a manifest removes every tag that points at it. Layers stay on disk until
"berth registry gc". Exits 1 when any image could not be deleted.

Examples:
  berth registry rmi library/nginx:1.23 library/nginx:1.24
  berth registry rmi -n sealos.hub:5000 pause:3.9
  berth registry rmi 127.0.0.1:5000/app@sha256:4f1c...`,
  );
  command.action(async (texts: string[], flags: RmiFlags) => {
    // Parse everything first: a typo in the third argument must not leave the first two deleted.
    const images: RegistryImage[] = [];
    for (const text of texts) images.push(await parseRegistryImage(text, () => pickRegistry(flags.name, flags.authfile)));
    const results = await mapSettled(images, 4, (image) => removeOne(image, flags));
    const report = results.map((result, i) => (result.ok ? result.value : { image: formatRegistryImage(images[i]!), deleted: false, error: explainLine(result.error) }));
    if (flags.json) process.stdout.write(`${renderJson(report)}\n`);
    else {
      for (const entry of report) {
        if (entry.deleted) {
          const also = entry.alsoUntagged ? ` (also removed tags: ${entry.alsoUntagged.join(', ')})` : '';
          process.stdout.write(`Deleted: ${entry.image} ${entry.digest}${also}\n`);
        } else process.stdout.write(`Error: ${entry.image}: ${entry.error}\n`);
      }
    }
    // The report is on stdout; stderr gets exactly one line, naming the failure when there is one.
    const failed = report.filter((entry) => !entry.deleted);
    if (failed.length === 1) throw new CliError(`${failed.length} of ${report.length} image(s) could not be deleted: ${failed[0]!.image}: ${failed[0]!.error}`);
    if (failed.length > 1) throw new CliError(`${failed.length} of ${report.length} image(s) could not be deleted (see the Error lines above)`);
  });
}
