// Debian's podman 4.3 for tests, confined to one scratch directory. podman has no
// daemon; what keeps it off the system's state is, per invocation: storage (vfs) root
// and run root, libpod's tmp dir, volume path, network config dir, no event log, and,
// through the environment, private registries.conf, containers.conf, storage.conf,
// auth file and TMPDIR (image copies are staged there, /var/tmp by default).
// The one thing podman 4.3 creates outside it as root is the empty directory
// /run/containers/networks (netavark's run dir, not configurable in this version).
// Registries are reached with `--tls-verify=false` per command, which also allows
// plain HTTP.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unmountUnder } from './mounts.js';
import { run, type RunOptions, type RunResult } from './process.js';
import { tool } from './tools.js';

export interface PodmanSandbox {
  readonly dir: string;
  /** REGISTRY_AUTH_FILE: where `podman login` stores credentials. */
  readonly authFile: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `podman <global flags> ...args`. */
  podman(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Unmounts anything podman left under the directory (vfs normally leaves nothing). */
  cleanup(): Promise<void>;
}

export async function podmanSandbox(dir: string): Promise<PodmanSandbox> {
  dir = path.resolve(dir);
  const paths = {
    root: path.join(dir, 'storage'),
    runroot: path.join(dir, 'run'),
    tmpdir: path.join(dir, 'libpod-tmp'),
    volumes: path.join(dir, 'volumes'),
    networks: path.join(dir, 'networks'),
    tmp: path.join(dir, 'tmp'),
    conf: path.join(dir, 'conf'),
  };
  for (const directory of Object.values(paths)) await mkdir(directory, { recursive: true });
  const registriesConf = path.join(paths.conf, 'registries.conf');
  // No search registries: every reference the tests use is fully qualified, and a short
  // name must fail rather than reach out to docker.io.
  await writeFile(registriesConf, 'unqualified-search-registries = []\n');
  const containersConf = path.join(paths.conf, 'containers.conf');
  await writeFile(containersConf, '[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n');
  const storageConf = path.join(paths.conf, 'storage.conf');
  await writeFile(storageConf, `[storage]\ndriver = "vfs"\ngraphroot = ${JSON.stringify(paths.root)}\nrunroot = ${JSON.stringify(paths.runroot)}\n`);
  const authFile = path.join(dir, 'auth.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    CONTAINERS_CONF: containersConf,
    CONTAINERS_STORAGE_CONF: storageConf,
    REGISTRY_AUTH_FILE: authFile,
    TMPDIR: paths.tmp,
  };
  const globalFlags = [
    '--storage-driver', 'vfs',
    '--root', paths.root,
    '--runroot', paths.runroot,
    '--tmpdir', paths.tmpdir,
    '--volumepath', paths.volumes,
    '--network-config-dir', paths.networks,
    '--events-backend', 'none',
    '--cgroup-manager', 'cgroupfs',
  ];
  const binary = tool('podman');
  const podman = (args: readonly string[], options: RunOptions = {}): Promise<RunResult> => run(binary, [...globalFlags, ...args], { env, ...options });
  const cleanup = async (): Promise<void> => {
    await unmountUnder(dir);
  };
  return { dir, authFile, env, podman, cleanup };
}
