// The scene for pull-through mirror tests: Debian's docker-registry instances standing in
// for upstream registries (their access logs say what the mirror fetched), synthetic
// images pushed there, and a TCP server that accepts connections and never answers.
import net from 'node:net';
import path from 'node:path';
import type { MirrorSettings } from '../../src/registry/mirror-config.js';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import type { TestRegistry } from './berth.js';
import { LayoutWriter, writeImage, type BuiltImage } from './images.js';
import { distributionRequests, type RegistryRequest } from './shim-lab.js';
import { skopeoCopy } from './skopeo.js';

/** Mirror settings from their YAML form (Berth's `mirrors:` list), through the config parser. */
export function mirrorSettings(mirrors: readonly Record<string, unknown>[]): readonly MirrorSettings[] {
  const result = readRegistryConfigDocument({ mirrors });
  if (!result.ok) throw new Error(result.reason);
  return result.values.mirrors ?? [];
}

/** Pushes a distinct synthetic image (from `seed`) to `registry` as `repositoryTag`. */
export async function seedImage(registry: TestRegistry, work: string, seed: string, repositoryTag: string, options: { layers?: number; layerSize?: number } = {}): Promise<BuiltImage> {
  const layout = path.join(work, 'layouts', seed);
  const writer = new LayoutWriter(layout);
  const built = await writeImage(writer, { seed, layers: options.layers ?? 2, layerSize: options.layerSize ?? 64 * 1024 });
  writer.tag(built.manifest, 'image');
  await writer.save();
  await skopeoCopy(`oci:${layout}:image`, `docker://${registry.host}/${repositoryTag}`, { dest: registry, extra: ['--preserve-digests'] });
  return built;
}

/** Every blob and config digest of an image. */
export function blobDigests(image: BuiltImage): string[] {
  return [image.config.digest, ...image.layers.map((layer) => layer.digest)];
}

/** Requests an upstream's access log holds (docker-registry, `accessLog: true`). */
export async function upstreamRequests(registry: TestRegistry): Promise<RegistryRequest[]> {
  return distributionRequests(await registry.logs());
}

/** Successful GETs of one blob in a list of upstream requests. */
export function blobGets(requests: readonly RegistryRequest[], digest: string): number {
  return requests.filter((r) => r.method === 'GET' && r.status === 200 && r.path.split('?')[0]!.endsWith(`/blobs/${digest}`)).length;
}

export interface HungServer {
  readonly host: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Accepts TCP connections on 127.0.0.1 and never sends a byte (a hung upstream). */
export async function startHungServer(): Promise<HungServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
