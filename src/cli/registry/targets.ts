// Which registry and which image a `registry ...` command means: `-n REGISTRY` (else the
// one registry the user is logged in to), and image arguments that may or may not start
// with a registry host. Unlike `berth pull`, a bare `repo:tag` here is NOT docker.io:
// these commands administer the private registry.
import { listCredentials, readAuthFile } from '../../client/auth-file.js';
import { resolveEndpoint } from '../../client/endpoint.js';
import { formatReference, parseReference } from '../../oci/reference.js';
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

/**
 * `[registry/]repo[:tag][@digest]`. Without a registry part, `defaultRegistry` is used
 * (resolved lazily, so a fully qualified image needs no -n and no login).
 */
export async function parseRegistryImage(text: string, defaultRegistry: () => Promise<string>): Promise<RegistryImage> {
  const parsed = parseReference(text, { defaultTag: false, implicitRegistry: false });
  if (!parsed.ok) throw new CliError(parsed.reason, 'names look like [registry/]repo[:tag][@sha256:<64 hex digits>], lowercase [a-z0-9] separated by . _ - and /');
  const { registry, ...rest } = parsed.reference;
  return { registry: registry !== '' ? registry : await defaultRegistry(), ...rest };
}

export function formatRegistryImage(image: RegistryImage): string {
  return formatReference(image);
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
