// Which registry and which image a `registry ...` command means: `-n REGISTRY` (else the
// one registry the user is logged in to), and image arguments that may or may not start
// with a registry host. Unlike `berth pull`, a bare `repo:tag` here is NOT docker.io:
// these commands administer the private registry.
import { listCredentials, readAuthFile } from '../../client/auth-file.js';
import { resolveEndpoint } from '../../client/endpoint.js';
import { parseDigest } from '../../oci/digest.js';
import { isValidRepositoryName, isValidTag } from '../../oci/names.js';
import { normaliseRegistryHost } from '../../oci/reference.js';
import { CliError } from '../cli-error.js';
import { authFilePath } from '../credentials.js';

export interface RegistryImage {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** `-n` as given, else the single registry in the auth file. */
export async function pickRegistry(name: string | undefined, authfile: string | undefined): Promise<string> {
  if (name !== undefined && name !== '') return name;
  const file = authFilePath(authfile);
  const logins = listCredentials(await readAuthFile(file));
  if (logins.length === 1) return logins[0]!.registry;
  if (logins.length === 0) throw new CliError(`no registry given and none logged in (${file})`, 'pass -n REGISTRY, or log in first: berth login REGISTRY');
  throw new CliError(
    `several registries are logged in: ${logins.map((l) => l.registry).join(', ')}`,
    'choose one with -n REGISTRY',
  );
}

function looksLikeRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

/**
 * `[registry/]repo[:tag][@digest]`. Without a registry part, `defaultRegistry` is used
 * (resolved lazily, so a fully qualified image needs no -n and no login).
 */
export async function parseRegistryImage(text: string, defaultRegistry: () => Promise<string>): Promise<RegistryImage> {
  const input = text.trim();
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!parseDigest(digest)) throw new CliError(`invalid digest in ${JSON.stringify(text)}`, 'digests look like sha256:<64 hex digits>');
  }
  let registry: string | undefined;
  const slash = rest.indexOf('/');
  if (slash > 0 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = normaliseRegistryHost(rest.slice(0, slash));
    rest = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new CliError(`invalid tag ${JSON.stringify(tag)} in ${JSON.stringify(text)}`);
  }
  if (!isValidRepositoryName(rest)) {
    throw new CliError(`invalid repository name ${JSON.stringify(rest)} in ${JSON.stringify(text)}`, 'names are lowercase: [a-z0-9] separated by . _ - and /');
  }
  return { registry: registry ?? (await defaultRegistry()), repository: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

export function formatRegistryImage(image: RegistryImage): string {
  return `${image.registry}/${image.repository}${image.tag !== undefined ? `:${image.tag}` : ''}${image.digest !== undefined ? `@${image.digest}` : ''}`;
}

/**
 * A sync/copy endpoint as sealos takes it: a bare host without a port gets `:5000`
 * (Docker Hub's names excepted); a URL keeps its scheme and port.
 */
export function registryWithDefaultPort(text: string): string {
  const trimmed = text.trim().replace(/\/+$/, '');
  if (trimmed === '') throw new CliError('empty registry address');
  if (/^https?:\/\//i.test(trimmed)) return trimmed;
  if (trimmed.includes('/')) throw new CliError(`${JSON.stringify(text)} is not a registry address`, 'give host[:port] or a URL, without a repository path');
  const name = resolveEndpoint(trimmed).name;
  if (name === 'docker.io') return name;
  const hasPort = trimmed.startsWith('[') ? /\]:\d+$/.test(trimmed) : /:\d+$/.test(trimmed);
  return hasPort ? trimmed : `${trimmed}:5000`;
}
