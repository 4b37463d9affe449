// Tar archives of directories (an OCI image layout becomes an `oci-archive` that
// `ctr images import` and `podman load` read), written with tar-stream so no system tar
// flags are involved.
import { createWriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';

async function listFiles(root: string, relative = ''): Promise<string[]> {
  const entries = await readdir(path.join(root, relative), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listFiles(root, child)));
    else if (entry.isFile()) files.push(child);
  }
  return files;
}

/** Writes every regular file under `dir` (paths relative to it) into the tar file `out`. */
export async function tarDirectory(dir: string, out: string): Promise<void> {
  const pack = tarStream.pack();
  const written = pipeline(pack, createWriteStream(out));
  for (const name of await listFiles(dir)) {
    const content = await readFile(path.join(dir, name));
    await new Promise<void>((resolve, reject) => {
      pack.entry({ name, size: content.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, content, (error) => (error ? reject(error) : resolve()));
    });
  }
  pack.finalize();
  await written;
}
