// Image names in the store are full and normalised the way docker does it:
// `nginx` is `docker.io/library/nginx:latest`. Listings show docker's familiar form.
import { DOCKER_HUB, formatReference, parseReference, type ImageReference } from '../oci/reference.js';
import { StoreError } from './errors.js';

export function parseImageName(text: string): ImageReference {
  const parsed = parseReference(text);
  if (!parsed.ok) throw new StoreError(parsed.reason, 'names look like registry.example:5000/team/app:tag');
  return parsed.reference;
}

/** The full name, e.g. `docker.io/library/nginx:latest`; a digest reference keeps only the digest. */
export function normaliseImageName(text: string): string {
  const reference = parseImageName(text);
  return formatReference(reference.digest !== undefined ? { registry: reference.registry, repository: reference.repository, digest: reference.digest } : reference);
}

/** docker's short form of a repository: `nginx`, `team/app`, `127.0.0.1:5000/app`. */
export function familiarRepository(registry: string, repository: string): string {
  if (registry !== DOCKER_HUB) return `${registry}/${repository}`;
  return repository.startsWith('library/') && repository.split('/').length === 2 ? repository.slice('library/'.length) : repository;
}

export interface NameParts {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Parts of a stored (already normalised) name. */
export function splitImageName(full: string): NameParts {
  const parsed = parseReference(full, { defaultTag: false });
  if (!parsed.ok) throw new StoreError(`invalid image name in the store: ${full}`);
  return parsed.reference;
}

export function familiarName(full: string): string {
  const parts = splitImageName(full);
  const tail = parts.digest !== undefined ? `@${parts.digest}` : parts.tag !== undefined ? `:${parts.tag}` : '';
  return `${familiarRepository(parts.registry, parts.repository)}${tail}`;
}
