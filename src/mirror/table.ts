// Which mirror a repository belongs to, and what it is called upstream. A mirror serves
// the repositories under its prefix (`docker.io/library/nginx` → `library/nginx` at
// docker.io); registry:2's proxy form has an empty prefix and serves them all.
// containerd, using this registry as a mirror (hosts.toml), asks for
// `library/nginx?ns=docker.io`: that is the same repository as `docker.io/library/nginx`.
import { DOCKER_HUB, normaliseRegistryHost } from '../oci/reference.js';
import type { MirrorSettings } from '../registry/mirror-config.js';

export interface MirrorRoute<M extends { readonly settings: MirrorSettings }> {
  readonly mirror: M;
  /** The repository's name at the upstream. */
  readonly upstreamRepository: string;
}

export class MirrorTable<M extends { readonly settings: MirrorSettings }> {
  constructor(readonly mirrors: readonly M[]) {}

  /** The mirror that serves `repository`, if any. */
  route(repository: string): MirrorRoute<M> | undefined {
    for (const mirror of this.mirrors) {
      const prefix = mirror.settings.prefix;
      if (prefix !== '' && !repository.startsWith(`${prefix}/`)) continue;
      const inner = prefix === '' ? repository : repository.slice(prefix.length + 1);
      // Docker Hub's official images live under library/: `docker.io/nginx` is `library/nginx`.
      const upstreamRepository = mirror.settings.source === DOCKER_HUB && !inner.includes('/') ? `library/${inner}` : inner;
      return { mirror, upstreamRepository };
    }
    return undefined;
  }

  /** Where `repository?ns=<ns>` lives here; undefined when no prefixed mirror serves `ns`. */
  namespace(ns: string, repository: string): string | undefined {
    const source = normaliseRegistryHost(ns.trim());
    const mirror = this.mirrors.find((candidate) => candidate.settings.source === source && candidate.settings.prefix !== '');
    if (!mirror || repository.startsWith(`${mirror.settings.prefix}/`)) return undefined;
    return `${mirror.settings.prefix}/${repository}`;
  }
}
