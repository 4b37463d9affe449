// The scene for the shim's end-to-end tests, all on 127.0.0.1 and in scratch dirs:
// - containerd 1.6 with its CRI plugin (test/support/containerd.ts);
// - a Berth registry with auth as the private registry, reached over plain HTTP
//   through the project's own deploy/containerd-hosts.toml;
// - Debian's docker-registry with auth and its access log on as the public registry,
//   with a hosts.toml that sends every CRI pull of docker.io there (and nowhere else);
// - crictl configured from deploy/crictl.yaml: images via the shim, the rest to containerd.
// Which registry served a pull is read from the registries' own request logs.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RegistryConfig } from '../../src/registry/config.js';
import { startBerth, TEST_PASSWORD, TEST_USER, type TestRegistry } from './berth.js';
import { criImages, startContainerd, type ContainerdOptions, type RunningContainerd } from './containerd.js';
import { startDistribution } from './distribution.js';
import { LayoutWriter, writeImage, type BuiltImage } from './images.js';
import { freePort } from './net.js';
import type { RunOptions, RunResult } from './process.js';
import { crictl, installCrictlConfig, installHostsToml, startShim, writeShimConfig, type ShimProcess } from './shim.js';
import { skopeoCopy } from './skopeo.js';
import { scratchDir } from './tmp.js';

export const PUBLIC_USER = 'hub-user';
export const PUBLIC_PASSWORD = 'hub-s3cret';

export interface RegistryRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly user?: string;
}

/** Requests in a Berth log (pino JSON lines, msg "request"). */
export function berthRequests(text: string): RegistryRequest[] {
  const requests: RegistryRequest[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"msg":"request"')) continue;
    const entry = JSON.parse(line) as { method: string; path: string; status: number; user?: string };
    requests.push({ method: entry.method, path: entry.path, status: entry.status, ...(entry.user ? { user: entry.user } : {}) });
  }
  return requests;
}

/** Requests in docker-registry's access log (`"GET /v2/... HTTP/1.1" 200 ...`). */
export function distributionRequests(text: string): RegistryRequest[] {
  const requests: RegistryRequest[] = [];
  for (const match of text.matchAll(/"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/[\d.]+" (\d{3})/g)) {
    requests.push({ method: match[1]!, path: match[2]!, status: Number(match[3]) });
  }
  return requests;
}

/** A read position in a log file: what was written after mark(). */
export class LogCursor {
  private offset = 0;
  constructor(private readonly read: () => Promise<string>) {}
  async mark(): Promise<void> {
    this.offset = (await this.read()).length;
  }
  async since(): Promise<string> {
    return (await this.read()).slice(this.offset);
  }
}

/** Did these requests fetch content of `repository` (manifest or blob GETs answered 200)? */
export function fetched(requests: readonly RegistryRequest[], repository: string): RegistryRequest[] {
  return requests.filter((r) => r.method === 'GET' && r.status === 200 && (r.path.startsWith(`/v2/${repository}/blobs/`) || r.path.startsWith(`/v2/${repository}/manifests/`)));
}

export interface ShimLabOptions {
  readonly containerd?: ContainerdOptions;
  /** Fixed port for the private registry, so it can be stopped and started again. */
  readonly privatePort?: number;
  /** More settings for the private registry, given the public one (to make it a mirror of it). */
  readonly privateConfig?: (publicRegistry: TestRegistry) => Promise<Partial<RegistryConfig>>;
}

export class ShimLab {
  containerd!: RunningContainerd;
  private privateBerth!: TestRegistry;
  private publicDistribution!: TestRegistry;
  privatePort!: number;
  privateDataDir!: string;
  private privateConfig: Partial<RegistryConfig> = {};
  readonly privateLogs: string[] = [];
  shim: ShimProcess | undefined;
  readonly shimSocket: string;
  readonly configFile: string;
  readonly crictlConfig: string;
  private readonly images = new Map<string, BuiltImage>();

  private constructor(readonly work: string) {
    this.shimSocket = path.join(work, 'run', 'image-cri-shim.sock');
    this.configFile = path.join(work, 'image-cri-shim.yaml');
    this.crictlConfig = path.join(work, 'crictl.yaml');
  }

  static async create(options: ShimLabOptions = {}): Promise<ShimLab> {
    const lab = new ShimLab(await scratchDir('shim-lab-'));
    lab.privatePort = options.privatePort ?? (await freePort());
    lab.privateDataDir = path.join(lab.work, 'private-data');
    lab.publicDistribution = await startDistribution({ user: PUBLIC_USER, password: PUBLIC_PASSWORD, accessLog: true });
    lab.privateConfig = (await options.privateConfig?.(lab.publicDistribution)) ?? {};
    await lab.startPrivate();
    lab.containerd = await startContainerd(path.join(lab.work, 'containerd'), options.containerd);
    await lab.writeHosts();
    await installCrictlConfig(lab.crictlConfig, lab.containerd.socket, lab.shimSocket);
    return lab;
  }

  get privateRegistry(): TestRegistry {
    return this.privateBerth;
  }

  get publicRegistry(): TestRegistry {
    return this.publicDistribution;
  }

  async startPrivate(): Promise<void> {
    this.privateBerth = await startBerth({ dataDir: this.privateDataDir, config: { ...this.privateConfig, addr: `127.0.0.1:${this.privatePort}` } });
    this.privateLogs.push(this.privateBerth.logFile);
  }

  async stopPrivate(): Promise<void> {
    await this.privateBerth.stop();
  }

  /** Every request the private registry saw, across restarts. */
  async privateRequests(): Promise<string> {
    const texts = await Promise.all(this.privateLogs.map((file) => readFile(file, 'utf8').catch(() => '')));
    return texts.join('');
  }

  privateCursor(): LogCursor {
    return new LogCursor(() => this.privateRequests());
  }

  publicCursor(): LogCursor {
    return new LogCursor(() => this.publicDistribution.logs());
  }

  private async writeHosts(): Promise<void> {
    // docker.io goes to the public stand-in only: with `server` set, containerd never
    // falls back to registry-1.docker.io (no internet here).
    const hub = path.join(this.containerd.hostsDir, 'docker.io', 'hosts.toml');
    await mkdir(path.dirname(hub), { recursive: true });
    await writeFile(hub, `server = "${this.publicDistribution.url}"\n\n[host."${this.publicDistribution.url}"]\n  capabilities = ["pull", "resolve"]\n`);
    // The private registry through the deploy file, as an operator would install it.
    await installHostsToml(this.containerd.hostsDir, this.privateHost);
  }

  get privateHost(): string {
    return `127.0.0.1:${this.privatePort}`;
  }

  /** The shim config every test starts from: the private registry as `address`. */
  baseConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      shim: this.shimSocket,
      cri: this.containerd.socket,
      address: `http://${this.privateHost}`,
      auth: `${TEST_USER}:${TEST_PASSWORD}`,
      force: false,
      reloadInterval: '1s',
      cache: { statsLogInterval: '1h' },
      ...extra,
    };
  }

  async startShim(config: Record<string, unknown> = this.baseConfig()): Promise<ShimProcess> {
    await writeShimConfig(this.configFile, config);
    this.shim = await startShim(this.configFile);
    return this.shim;
  }

  crictl(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return crictl(this.crictlConfig, args, options);
  }

  /** A distinct synthetic image (its own layer bytes), kept in an OCI layout. */
  async image(seed: string, layerSize = 64 * 1024): Promise<{ layout: string; built: BuiltImage }> {
    const layout = path.join(this.work, 'layouts', seed);
    let built = this.images.get(seed);
    if (!built) {
      const writer = new LayoutWriter(layout);
      built = await writeImage(writer, { seed, layers: 1, layerSize });
      writer.tag(built.manifest, 'image');
      await writer.save();
      this.images.set(seed, built);
    }
    return { layout, built };
  }

  /** Pushes image `seed` to `repository:tag` on a registry; returns its manifest digest. */
  async push(registry: 'private' | 'public', seed: string, repositoryTag: string, layerSize?: number): Promise<BuiltImage> {
    const { layout, built } = await this.image(seed, layerSize);
    const target = registry === 'private' ? this.privateBerth : this.publicDistribution;
    await skopeoCopy(`oci:${layout}:image`, `docker://${target.host}/${repositoryTag}`, { dest: target, extra: ['--preserve-digests'] });
    return built;
  }

  /** Image names and digests in containerd's CRI namespace. */
  criImages(): Promise<Map<string, string>> {
    return criImages(this.containerd);
  }

  async stop(): Promise<void> {
    await this.shim?.stop();
    await this.containerd?.stop();
    await this.privateBerth?.stop().catch(() => undefined);
    await this.publicDistribution?.stop();
  }
}
