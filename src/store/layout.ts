// Where things live inside the local image store. The store is an OCI image layout
// (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), so skopeo, umoci and podman can
// read it as `oci:<root>:<name>`; Berth keeps its own bookkeeping next to it:
// `ingest/` (blobs being written, renamed into blobs/ once verified), `leases/` (what
// running commands are about to reference, so garbage collection spares it) and
// `berth.lock` (serialises index.json updates and garbage collection).
import { homedir } from 'node:os';
import path from 'node:path';
import type { Digest } from '../oci/digest.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const BLOBS_DIR = 'blobs';
export const INGEST_DIR = 'ingest';
export const LEASES_DIR = 'leases';
export const LOCK_FILE = 'berth.lock';

/** `$XDG_DATA_HOME/berth`, else `~/.local/share/berth`. */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_DATA_HOME'] || path.join(env['HOME'] || homedir(), '.local', 'share');
  return path.join(base, 'berth');
}

export function blobFile(root: string, digest: Digest): string {
  return path.join(root, BLOBS_DIR, digest.algorithm, digest.hex);
}
