// Image references the way docker, containerd and kubelet read them:
// `[registry/]path[:tag][@digest]`, normalised so `nginx` is
// `docker.io/library/nginx:latest`. Used by the client, the shim and the CLI.
import { isValidRepositoryName, isValidTag } from './names.js';
import { parseDigest } from './digest.js';

export const DOCKER_HUB = 'docker.io';
/** Names that all mean Docker Hub; `docker.io` is the canonical one. */
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export interface ImageReference {
  /** Registry host[:port], normalised (`docker.io` for Docker Hub). */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/nginx`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export type ReferenceParseResult =
  | { readonly ok: true; readonly reference: ImageReference }
  | { readonly ok: false; readonly reason: string };

export function normaliseRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

/** host[:port] or [v6]:port, as docker's reference grammar allows for a domain. */
const REGISTRY_HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

/** True when the first path component names a registry rather than a namespace. */
function isRegistryComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

/**
 * Parses and normalises a reference. With `defaultTag` (the default), a reference with
 * neither tag nor digest gets `latest`, as docker does.
 */
export function parseReference(text: string, options: { defaultTag?: boolean; implicitRegistry?: boolean } = {}): ReferenceParseResult {
  const defaultTag = options.defaultTag ?? true;
  // With implicitRegistry false, a name without a registry part keeps registry '' (the
  // caller picks one) and gets no `library/`: that is Docker Hub's convention only.
  const implicitRegistry = options.implicitRegistry ?? true;
  const input = text.trim();
  if (input === '') return { ok: false, reason: 'empty image reference' };
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!parseDigest(digest)) return { ok: false, reason: `invalid digest in reference ${JSON.stringify(text)}` };
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!isValidTag(tag)) return { ok: false, reason: `invalid tag ${JSON.stringify(tag)} in reference ${JSON.stringify(text)}` };
  }
  const components = rest.split('/');
  let registry = implicitRegistry ? DOCKER_HUB : '';
  if (components.length > 1 && isRegistryComponent(components[0]!)) {
    const host = components.shift()!;
    if (!REGISTRY_HOST.test(host)) return { ok: false, reason: `invalid registry host ${JSON.stringify(host)} in reference ${JSON.stringify(text)}` };
    registry = normaliseRegistryHost(host);
  }
  let repository = components.join('/');
  if (registry === DOCKER_HUB && components.length === 1) repository = `library/${repository}`;
  if (!isValidRepositoryName(repository)) {
    return { ok: false, reason: `invalid repository name ${JSON.stringify(repository)} in reference ${JSON.stringify(text)}` };
  }
  if (tag === undefined && digest === undefined && defaultTag) tag = 'latest';
  return { ok: true, reference: { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) } };
}

/** `registry/repository[:tag][@digest]`, fully qualified. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `registry/repository`, without tag or digest. */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The tag, else the digest: what a registry's manifest endpoint takes. */
export function manifestReferenceOf(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
