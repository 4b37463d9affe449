// containerd 1.6 (Debian) with its CRI plugin for the shim workload, all state under
// one scratch directory. Only image calls are made, so no pod sandbox image, CNI or
// stream server is needed; the settings mirror the e2e tests' containerd.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, startDaemon, waitFor, type Daemon } from './proc.js';
import { tool } from './tools.js';

export interface RunningContainerd {
  readonly socket: string;
  readonly daemon: Daemon;
  stop(): Promise<void>;
}

async function kernelHasOverlay(): Promise<boolean> {
  const filesystems = await readFile('/proc/filesystems', 'utf8').catch(() => '');
  return filesystems.split('\n').some((line) => line.trim().split(/\s+/).pop() === 'overlay');
}

function config(dir: string, socket: string, snapshotter: string): string {
  const q = (value: string): string => JSON.stringify(value);
  return `version = 2
root = ${q(path.join(dir, 'root'))}
state = ${q(path.join(dir, 'state'))}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
[grpc]
  address = ${q(socket)}
[ttrpc]
  address = ${q(`${socket}.ttrpc`)}
[plugins."io.containerd.internal.v1.opt"]
  path = ${q(path.join(dir, 'opt'))}
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = ${q(snapshotter)}
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = ${q(path.join(dir, 'cni'))}
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ${q(path.join(dir, 'certs.d'))}
`;
}

/** Mount points strictly inside `dir`, deepest first (unpacking can leave some behind). */
async function mountsUnder(dir: string): Promise<string[]> {
  const root = path.resolve(dir) + path.sep;
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field !== undefined)
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point.startsWith(root));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export async function startContainerd(dir: string): Promise<RunningContainerd> {
  dir = path.resolve(dir);
  await mkdir(path.join(dir, 'certs.d'), { recursive: true });
  await mkdir(path.join(dir, 'cni'), { recursive: true });
  const socket = path.join(dir, 'containerd.sock');
  const configFile = path.join(dir, 'config.toml');
  await writeFile(configFile, config(dir, socket, (await kernelHasOverlay()) ? 'overlayfs' : 'native'));
  const daemon = startDaemon(tool('containerd'), ['--config', configFile], path.join(dir, 'containerd.log'));
  await waitFor(
    `containerd on ${socket}`,
    async () => {
      if (daemon.exited()) throw new Error(`containerd exited; see ${daemon.logFile}`);
      const version = await run(tool('ctr'), ['--address', socket, '--timeout', '2s', 'version'], { allowFailure: true, timeoutMs: 5000 });
      return version.code === 0 ? true : undefined;
    },
    60_000,
  );
  return {
    socket,
    daemon,
    async stop() {
      await daemon.stop();
      for (let pass = 0; pass < 5; pass++) {
        const points = await mountsUnder(dir);
        if (points.length === 0) break;
        for (const point of points) {
          const plain = await run('umount', [point], { allowFailure: true });
          if (plain.code !== 0) await run('umount', ['-l', point], { allowFailure: true });
        }
      }
    },
  };
}
