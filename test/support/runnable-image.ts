// A tiny image that really runs, built without network: two static binaries compiled
// with gcc — /pause (blocks until SIGTERM; the pod sandbox image) and /hello (prints
// "hello from container" and its arguments, exits 0) — in one layer of an OCI layout.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LayoutWriter, writeImage, type BuiltImage } from './images.js';
import { run } from './process.js';
import { tool } from './tools.js';

const PAUSE_C = `#include <signal.h>
#include <unistd.h>
static void bye(int s) { (void)s; _exit(0); }
int main(void) { signal(SIGTERM, bye); signal(SIGINT, bye); for (;;) pause(); }
`;

const HELLO_C = `#include <stdio.h>
int main(int c, char **v) { fputs("hello from container", stdout);
  for (int i = 1; i < c; i++) printf(" %s", v[i]); puts(""); return 0; }
`;

async function compileStatic(work: string, name: string, source: string): Promise<Buffer> {
  const file = path.join(work, `${name}.c`);
  const binary = path.join(work, name);
  await writeFile(file, source);
  await run(tool('gcc'), ['-static', '-O2', '-s', '-o', binary, file]);
  return readFile(binary);
}

/** Writes the image into the OCI layout `layoutDir` under `tag`. */
export async function buildRunnableImage(work: string, layoutDir: string, tag: string): Promise<BuiltImage> {
  await mkdir(work, { recursive: true });
  const files = { pause: await compileStatic(work, 'pause', PAUSE_C), hello: await compileStatic(work, 'hello', HELLO_C) };
  const layout = new LayoutWriter(layoutDir);
  const image = await writeImage(layout, { seed: 'runnable', layers: 1, layerSize: 16, files, entrypoint: ['/pause'], cmd: [] });
  layout.tag(image.manifest, tag);
  await layout.save();
  return image;
}
