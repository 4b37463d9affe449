// Where a registry name is reached: `docker.io` is served by registry-1.docker.io;
// loopback registries speak plain HTTP by default, as docker treats them as insecure.
import { DOCKER_HUB } from '../oci/reference.js';

export interface RegistryEndpoint {
  /** The name as it appears in image references (`docker.io`, `sealos.hub:5000`). */
  readonly name: string;
  /** scheme://host[:port] the API is reached at. */
  readonly baseUrl: URL;
}

export function isLoopbackHost(host: string): boolean {
  const hostname = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':')[0]!;
  return hostname === 'localhost' || hostname === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * `registry` may be a bare host (`sealos.hub:5000`) or a URL (`http://sealos.hub:5000`).
 * `plainHttp` forces http; otherwise https unless the host is loopback or the URL says http.
 */
export function resolveEndpoint(registry: string, options: { plainHttp?: boolean } = {}): RegistryEndpoint {
  const explicit = /^(https?):\/\//i.exec(registry);
  const host = (explicit ? registry.slice(explicit[0].length) : registry).replace(/\/.*$/, '');
  const name = host === 'registry-1.docker.io' || host === 'index.docker.io' ? DOCKER_HUB : host;
  const apiHost = name === DOCKER_HUB ? 'registry-1.docker.io' : host;
  const scheme = explicit ? explicit[1]!.toLowerCase() : options.plainHttp || isLoopbackHost(host) ? 'http' : 'https';
  return { name, baseUrl: new URL(`${scheme}://${apiHost}`) };
}
