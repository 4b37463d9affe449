// containerd for tests (Debian's 1.6 by default; 1.7 and 2.x built by
// scripts/go-tools.sh), with every piece of state under one scratch directory: config, root, state, the gRPC/ttrpc sockets, the CRI plugin's registry
// hosts dir (certs.d), CNI conf dir and runc's state. The CRI plugin is on and serves
// runtime.v1 (ImageService + RuntimeService) on the same socket, so `crictl` works
// against it; its stream server binds 127.0.0.1 only.
//
// What the settings are for on this kind of machine:
// - `restrict_oom_score_adj = true`: the test sandbox has no CAP_SYS_RESOURCE, so the
//   pod sandbox's oom_score_adj=-998 would make runc fail every RunPodSandbox
//   ("can't get final child's PID from pipe").
// - aufs, btrfs, devmapper and zfs snapshotters are disabled: they probe (and log
//   errors about) host devices and filesystems the tests never use.
// - overlayfs when the kernel has it, else native; ctr gets the same choice through
//   CONTAINERD_SNAPSHOTTER, since it otherwise asks for overlayfs regardless.
// - No CNI config is written: pods must use host networking, and the CRI status
//   reports NetworkReady=false, which stops neither image operations nor such pods.
// - Registries on 127.0.0.1 need no hosts.toml for `ctr --plain-http`; for CRI pulls
//   write `<hostsDir>/<registry>/hosts.toml` (read on every pull, no restart).
//
// 1.6 and 1.7 read the same config (`version = 2`, CRI under
// `plugins."io.containerd.grpc.v1.cri"`). 2.x reads `version = 3`, which splits the CRI
// settings: images (snapshotter, sandbox image, registry config_path) under
// `plugins."io.containerd.cri.v1.images"`, runtime (runc, CNI, restrict_oom_score_adj)
// under `plugins."io.containerd.cri.v1.runtime"`, the stream server still under
// `plugins."io.containerd.grpc.v1.cri"`; NRI is disabled (it would open a socket under
// /var/run/nri). Debian's runc serves all three; Debian's containerd-shim-runc-v2 (1.6)
// serves 1.6 and 1.7, but cannot start a 2.x task ("type with url <id>: not found"), so
// 2.x runs the shim built from its own module (`runtime_path`).
//
// One thing containerd cannot move here: shim sockets live in /run/containerd/s/.
// They only appear once a container or pod runs, and go away with the shim.
import type { ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { unmountUnder } from './mounts.js';
import { run, startProcess, stopProcess, waitFor, type RunOptions, type RunResult } from './process.js';
import { tool } from './tools.js';

export type Snapshotter = 'overlayfs' | 'native';

/** Which containerd: Debian's 1.6, or the 1.7 and 2.x that scripts/go-tools.sh builds. */
export type ContainerdVersion = '1.6' | '1.7' | '2';

const BINARIES: Record<ContainerdVersion, string> = { '1.6': 'containerd', '1.7': 'containerd-v1.7', '2': 'containerd-v2' };

export interface ContainerdOptions {
  /** CRI pod infra image (`sandbox_image`); pre-pull it into namespace k8s.io. */
  readonly sandboxImage?: string;
  /** CRI registry hosts dir (`config_path`); default `<dir>/certs.d`. */
  readonly hostsDir?: string;
  /** CRI exec/attach stream server port on 127.0.0.1; default 0 (any free port). */
  readonly streamPort?: number;
  readonly snapshotter?: Snapshotter;
  /** Default 1.6 (Debian's). */
  readonly version?: ContainerdVersion;
}

export interface RunningContainerd {
  readonly dir: string;
  /** The gRPC unix socket path (for ctr `--address`; crictl wants `unix://<socket>`). */
  readonly socket: string;
  readonly hostsDir: string;
  readonly snapshotter: Snapshotter;
  readonly version: ContainerdVersion;
  /** What the server reports (`ctr version`), e.g. `2.4.2+unknown`. */
  readonly serverVersion: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Environment for clients of this containerd (ctr's snapshotter choice). */
  readonly env: NodeJS.ProcessEnv;
  /** Runs `ctr --address <socket> --namespace <ns> ...args`. */
  ctr(args: readonly string[], options?: RunOptions & { namespace?: string }): Promise<RunResult>;
  /** Runs `crictl` with a private config file pointing both endpoints at this socket. */
  crictl(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  logs(): Promise<string>;
  stop(): Promise<void>;
}

/** A TOML basic string: JSON's escaping is a subset TOML accepts for these paths. */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

async function kernelHasOverlay(): Promise<boolean> {
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  return filesystems.split('\n').some((line) => line.trim().split(/\s+/).pop() === 'overlay');
}

type ConfigOptions = Required<Omit<ContainerdOptions, 'sandboxImage' | 'version'>> & { sandboxImage?: string };

export function containerdConfig(dir: string, socket: string, options: ConfigOptions, version: ContainerdVersion = '1.6'): string {
  return version === '2' ? configVersion3(dir, socket, options, tool('containerd-shim-runc-v2-v2')) : configVersion2(dir, socket, options);
}

/** What both formats share: where state and sockets go, plugins off, the stream server on 127.0.0.1. */
function daemonSection(version: number, dir: string, socket: string, options: ConfigOptions, disabledPlugins: readonly string[]): string {
  return `version = ${version}
root = ${tomlString(path.join(dir, 'root'))}
state = ${tomlString(path.join(dir, 'state'))}
disabled_plugins = [${disabledPlugins.map(tomlString).join(', ')}]
[grpc]
  address = ${tomlString(socket)}
[ttrpc]
  address = ${tomlString(`${socket}.ttrpc`)}
[plugins."io.containerd.internal.v1.opt"]
  path = ${tomlString(path.join(dir, 'opt'))}
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = ${tomlString(String(options.streamPort))}
`;
}

const SNAPSHOTTERS_OFF = ['btrfs', 'devmapper', 'zfs'].map((name) => `io.containerd.snapshotter.v1.${name}`);

function configVersion2(dir: string, socket: string, options: ConfigOptions): string {
  const sandbox = options.sandboxImage !== undefined ? `  sandbox_image = ${tomlString(options.sandboxImage)}\n` : '';
  return `${daemonSection(2, dir, socket, options, ['io.containerd.snapshotter.v1.aufs', ...SNAPSHOTTERS_OFF])}${sandbox}  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = ${tomlString(options.snapshotter)}
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = ${tomlString(path.join(dir, 'runc'))}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${tomlString(path.join(dir, 'cni', 'net.d'))}
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ${tomlString(options.hostsDir)}
`;
}

function configVersion3(dir: string, socket: string, options: ConfigOptions, shimBinary: string): string {
  const sandbox = options.sandboxImage !== undefined ? `  [plugins."io.containerd.cri.v1.images".pinned_images]\n    sandbox = ${tomlString(options.sandboxImage)}\n` : '';
  const disabled = [...SNAPSHOTTERS_OFF, 'io.containerd.snapshotter.v1.blockfile', 'io.containerd.snapshotter.v1.erofs', 'io.containerd.nri.v1.nri'];
  return `${daemonSection(3, dir, socket, options, disabled)}[plugins."io.containerd.cri.v1.images"]
  snapshotter = ${tomlString(options.snapshotter)}
${sandbox}  [plugins."io.containerd.cri.v1.images".registry]
    config_path = ${tomlString(options.hostsDir)}
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      runtime_path = ${tomlString(shimBinary)}
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        Root = ${tomlString(path.join(dir, 'runc'))}
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = ${tomlString(path.join(dir, 'cni', 'net.d'))}
`;
}

/**
 * Shims (and their containers) outlive containerd by design. The ones this instance
 * started are found through the PID files in its own state dir, and each PID is
 * checked against /proc before it is signalled, so a recycled PID is never hit.
 */
async function killLeftoverShims(stateDir: string, socket: string): Promise<void> {
  const tasksRoot = path.join(stateDir, 'io.containerd.runtime.v2.task');
  const namespaces = await readdir(tasksRoot).catch(() => [] as string[]);
  for (const namespace of namespaces) {
    const ids = await readdir(path.join(tasksRoot, namespace)).catch(() => [] as string[]);
    for (const id of ids) {
      const bundle = path.join(tasksRoot, namespace, id);
      const shimPid = Number((await readFile(path.join(bundle, 'shim.pid'), 'utf8').catch(() => '')).trim());
      const initPid = Number((await readFile(path.join(bundle, 'init.pid'), 'utf8').catch(() => '')).trim());
      const shimCmdline = shimPid > 0 ? await readFile(`/proc/${shimPid}/cmdline`, 'utf8').catch(() => '') : '';
      if (!shimCmdline.includes(socket)) continue;
      const initStatus = initPid > 0 ? await readFile(`/proc/${initPid}/status`, 'utf8').catch(() => '') : '';
      if (new RegExp(`^PPid:\\s+${shimPid}$`, 'm').test(initStatus)) process.kill(initPid, 'SIGKILL');
      process.kill(shimPid, 'SIGKILL');
    }
  }
}

export async function startContainerd(dir: string, options: ContainerdOptions = {}): Promise<RunningContainerd> {
  dir = path.resolve(dir);
  const socket = path.join(dir, 'containerd.sock');
  const hostsDir = options.hostsDir ?? path.join(dir, 'certs.d');
  const snapshotter = options.snapshotter ?? ((await kernelHasOverlay()) ? 'overlayfs' : 'native');
  const version = options.version ?? '1.6';
  await mkdir(hostsDir, { recursive: true });
  await mkdir(path.join(dir, 'cni', 'net.d'), { recursive: true });
  const configFile = path.join(dir, 'config.toml');
  await writeFile(
    configFile,
    containerdConfig(dir, socket, { hostsDir, snapshotter, streamPort: options.streamPort ?? 0, ...(options.sandboxImage !== undefined ? { sandboxImage: options.sandboxImage } : {}) }, version),
  );
  const logFile = path.join(dir, 'containerd.log');
  const out = openSync(logFile, 'a');
  const child = startProcess(tool(BINARIES[version]), ['--config', configFile], { stdio: ['ignore', out, out] });
  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERD_SNAPSHOTTER: snapshotter };
  const ctrBinary = tool('ctr');
  const ctr = (args: readonly string[], runOptions: RunOptions & { namespace?: string } = {}): Promise<RunResult> => {
    const { namespace = 'default', ...rest } = runOptions;
    return run(ctrBinary, ['--address', socket, '--namespace', namespace, ...args], { env, ...rest });
  };
  // A private crictl.yaml, so /etc/crictl.yaml (or one next to the binary) is never read.
  const crictlConfig = path.join(dir, 'crictl.yaml');
  await writeFile(crictlConfig, `runtime-endpoint: unix://${socket}\nimage-endpoint: unix://${socket}\ntimeout: 30\n`);
  const crictlBinary = tool('crictl');
  const crictl = (args: readonly string[], runOptions: RunOptions = {}): Promise<RunResult> => run(crictlBinary, ['--config', crictlConfig, ...args], { env, ...runOptions });
  const logs = (): Promise<string> => readFile(logFile, 'utf8').catch(() => '');
  let serverVersion: string;
  try {
    serverVersion = await waitFor(
      `containerd on ${socket}`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`containerd exited (${child.exitCode ?? child.signalCode}): ${(await logs()).slice(-3000)}`);
        const reply = await run(ctrBinary, ['--address', socket, '--timeout', '2s', 'version'], { allowFailure: true, timeoutMs: 5000 });
        // Debian's ctr (1.6) is the client for every version: the API it uses is stable.
        return reply.code === 0 ? (/Server:\s+Version:\s+(\S+)/.exec(reply.stdout)?.[1] ?? 'unknown') : undefined;
      },
      30_000,
    );
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await stopProcess(child);
      await killLeftoverShims(path.join(dir, 'state'), socket);
      await unmountUnder(dir);
    })();
    return stopped;
  };
  return { dir, socket, hostsDir, snapshotter, version, serverVersion, logFile, child, env, ctr, crictl, logs, stop };
}

/**
 * Points CRI pulls (and `ctr --hosts-dir`) of `registry` at `url` by writing
 * `<hostsDir>/<registry>/hosts.toml`; containerd reads it on every pull.
 */
export async function writeHostsToml(hostsDir: string, registry: string, url: string, capabilities: readonly string[] = ['pull', 'resolve']): Promise<string> {
  const file = path.join(hostsDir, registry, 'hosts.toml');
  await mkdir(path.dirname(file), { recursive: true });
  const caps = capabilities.map(tomlString).join(', ');
  await writeFile(file, `[host.${tomlString(url)}]\n  capabilities = [${caps}]\n${url.startsWith('https://') ? '  skip_verify = true\n' : ''}`);
  return file;
}
