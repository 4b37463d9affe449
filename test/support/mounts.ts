// Mounts that daemons leave behind under a scratch directory (dockerd's
// exec-root/netns/default, containerd's rootfs and shm mounts after a killed shim):
// they must go before the directory can be removed. Only mount points strictly inside
// `dir` are touched, deepest first.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './process.js';
import { tool } from './tools.js';

/** /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export async function mountsUnder(dir: string): Promise<string[]> {
  const root = path.resolve(dir) + path.sep;
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field !== undefined)
    .map(unescapeMountPath)
    .filter((point) => point.startsWith(root));
  // Deepest first, so a mount on top of another goes before the one beneath it.
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts everything under `dir`; a busy mount is detached lazily. Returns what it unmounted. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const done: string[] = [];
  // Bounded: a stacked mount point shows once per layer, so a few passes suffice.
  for (let pass = 0; pass < 5; pass++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) break;
    for (const point of points) {
      const plain = await run(tool('umount'), [point], { allowFailure: true });
      if (plain.code !== 0) await run(tool('umount'), ['-l', point], { allowFailure: true });
      done.push(point);
    }
  }
  return done;
}

/** Mounts a tmpfs of `sizeMiB` at `dir` (created): a small disk that can be filled. */
export async function mountTmpfs(dir: string, sizeMiB: number): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  await run(tool('mount'), ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
}
