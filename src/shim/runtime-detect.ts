// Which runtime socket to forward to when the config has no `cri`: the well-known
// socket paths of containerd, cri-o and cri-dockerd. Exactly one present: use it.
// None: the containerd path (the runtime may not be up yet). More than one: refuse to
// guess, since pulling into the wrong runtime looks like success and is not.
import { realpath, stat } from 'node:fs/promises';

export interface KnownRuntime {
  readonly name: string;
  readonly path: string;
}

export const KNOWN_RUNTIME_SOCKETS: readonly KnownRuntime[] = [
  { name: 'containerd', path: '/run/containerd/containerd.sock' },
  { name: 'cri-o', path: '/var/run/crio/crio.sock' },
  { name: 'cri-dockerd', path: '/var/run/cri-dockerd.sock' },
];

export type Detection =
  | { readonly ok: true; readonly path: string; readonly how: 'found' | 'default' ; readonly runtime: string }
  | { readonly ok: false; readonly error: string };

/** The socket's canonical path if it is a socket, else undefined. */
async function socketAt(file: string): Promise<string | undefined> {
  try {
    if (!(await stat(file)).isSocket()) return undefined;
    return await realpath(file);
  } catch {
    return undefined;
  }
}

export async function detectRuntimeSocket(known: readonly KnownRuntime[] = KNOWN_RUNTIME_SOCKETS, probe: (file: string) => Promise<string | undefined> = socketAt): Promise<Detection> {
  const found = new Map<string, KnownRuntime>();
  for (const runtime of known) {
    const canonical = await probe(runtime.path);
    // /var/run is usually a link to /run: one socket under two names is one runtime.
    if (canonical !== undefined && !found.has(canonical)) found.set(canonical, runtime);
  }
  const present = [...found.values()];
  if (present.length === 1) return { ok: true, path: present[0]!.path, how: 'found', runtime: present[0]!.name };
  if (present.length === 0) return { ok: true, path: known[0]!.path, how: 'default', runtime: known[0]!.name };
  return {
    ok: false,
    error: `found several CRI runtime sockets (${present.map((r) => `${r.name}: ${r.path}`).join(', ')}); set "cri:" in the config to the one kubelet uses`,
  };
}
