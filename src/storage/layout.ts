// Paths of distribution's filesystem layout, relative to the data directory. Every
// path Berth touches is built here, from names and digests that were validated first.
import { parseDigest, type Digest } from '../oci/digest.js';

export const V2_ROOT = 'docker/registry/v2';
export const BLOBS_ROOT = `${V2_ROOT}/blobs`;
export const REPOSITORIES_ROOT = `${V2_ROOT}/repositories`;

export function blobDirectory(digest: Digest): string {
  return `${BLOBS_ROOT}/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`;
}

export function blobDataPath(digest: Digest): string {
  return `${blobDirectory(digest)}/data`;
}

/** The digest a blob store path names (`blobs/<algorithm>/<xx>/<hex>/data`), or undefined. */
export function blobOfDataPath(path: string): Digest | undefined {
  if (!path.startsWith(`${BLOBS_ROOT}/`)) return undefined;
  const parts = path.slice(BLOBS_ROOT.length + 1).split('/');
  if (parts.length !== 4 || parts[3] !== 'data') return undefined;
  const digest = parseDigest(`${parts[0]}:${parts[2]}`);
  return digest && digest.hex.slice(0, 2) === parts[1] ? digest : undefined;
}

export function repositoryPath(repository: string): string {
  return `${REPOSITORIES_ROOT}/${repository}`;
}

export function layerLinkDirectory(repository: string, digest: Digest): string {
  return `${repositoryPath(repository)}/_layers/${digest.algorithm}/${digest.hex}`;
}

export function revisionsDirectory(repository: string): string {
  return `${repositoryPath(repository)}/_manifests/revisions`;
}

export function revisionLinkDirectory(repository: string, digest: Digest): string {
  return `${revisionsDirectory(repository)}/${digest.algorithm}/${digest.hex}`;
}

export function tagsDirectory(repository: string): string {
  return `${repositoryPath(repository)}/_manifests/tags`;
}

export function tagDirectory(repository: string, tag: string): string {
  return `${tagsDirectory(repository)}/${tag}`;
}

export function tagCurrentLinkPath(repository: string, tag: string): string {
  return `${tagDirectory(repository, tag)}/current/link`;
}

export function tagIndexLinkDirectory(repository: string, tag: string, digest: Digest): string {
  return `${tagDirectory(repository, tag)}/index/${digest.algorithm}/${digest.hex}`;
}

export function uploadsDirectory(repository: string): string {
  return `${repositoryPath(repository)}/_uploads`;
}

export function uploadDirectory(repository: string, id: string): string {
  return `${uploadsDirectory(repository)}/${id}`;
}

export function uploadDataPath(repository: string, id: string): string {
  return `${uploadDirectory(repository, id)}/data`;
}

export function uploadStartedAtPath(repository: string, id: string): string {
  return `${uploadDirectory(repository, id)}/startedat`;
}

/** Berth's own state beside distribution's layout (GC lock and status, staging): registry:2 never looks here. */
export const BERTH_STATE_DIR = `${V2_ROOT}/_berth`;
