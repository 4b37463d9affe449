// /v2/<name>/manifests/<reference>: GET, HEAD, PUT, DELETE by tag or digest.
import { looksLikeDigest, parseDigest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';
import { MEDIA_TYPE, isIndexMediaType } from '../../oci/media-types.js';
import { isValidTag } from '../../oci/names.js';
import type { StoredManifest } from '../../storage/types.js';
import type { RequestContext } from '../context.js';
import { RegistryError } from '../errors.js';
import { MIRRORED_FROM_HEADER } from '../../oci/headers.js';
import { readBody, sendEmpty } from '../http-util.js';

function acceptedTypes(ctx: RequestContext): Set<string> | 'any' {
  const header = ctx.req.headers.accept;
  if (header === undefined || header.trim() === '') return 'any';
  const types = new Set(header.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase()));
  return types.has('*/*') ? 'any' : types;
}

/**
 * Picks what to send for the Accept header, as distribution does: the stored manifest
 * when acceptable; for a Docker manifest list asked for by a client that only takes
 * single manifests, its linux/amd64 entry; otherwise MANIFEST_UNKNOWN.
 */
async function negotiate(ctx: RequestContext, name: string, stored: StoredManifest): Promise<StoredManifest> {
  const accepted = acceptedTypes(ctx);
  if (accepted === 'any' || accepted.has(stored.mediaType)) return stored;
  if (stored.mediaType === MEDIA_TYPE.dockerManifestList && accepted.has(MEDIA_TYPE.dockerManifest) && stored.manifest.kind === 'index') {
    const entry = stored.manifest.manifests.find((d: Descriptor) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64');
    const digest = entry ? parseDigest(entry.digest) : undefined;
    const child = digest ? await ctx.storage.manifestByDigest(name, digest) : undefined;
    if (child && accepted.has(child.mediaType)) return child;
  }
  const kind = isIndexMediaType(stored.mediaType) ? 'index' : 'manifest';
  throw new RegistryError('MANIFEST_UNKNOWN', `${stored.mediaType} ${kind} found, but the Accept header does not allow it`, {
    mediaType: stored.mediaType,
  });
}

export async function handleManifestGet(ctx: RequestContext, name: string, reference: string): Promise<void> {
  if (!looksLikeDigest(reference) && !isValidTag(reference)) throw new RegistryError('MANIFEST_UNKNOWN', 'invalid tag', { tag: reference });
  if (looksLikeDigest(reference) && !parseDigest(reference)) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: reference });
  const stored = await ctx.storage.getManifest(name, reference);
  if (!stored) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { name, reference });
  const chosen = await negotiate(ctx, name, stored);
  ctx.res.writeHead(200, {
    'Content-Type': chosen.mediaType,
    'Content-Length': chosen.bytes.length,
    'Docker-Content-Digest': chosen.digest,
    ETag: `"${chosen.digest}"`,
    // Which registry a pull-through mirror keeps it for (`registry images` marks it).
    ...(stored.mirroredFrom !== undefined ? { [MIRRORED_FROM_HEADER]: stored.mirroredFrom } : {}),
  });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : chosen.bytes);
}

export async function handleManifestPut(ctx: RequestContext, name: string, reference: string): Promise<void> {
  const isDigest = looksLikeDigest(reference);
  if (!isDigest && !isValidTag(reference)) throw new RegistryError('MANIFEST_INVALID', 'invalid tag', { tag: reference });
  const extraTags = ctx.query.getAll('tag');
  const badTag = extraTags.find((tag) => !isValidTag(tag));
  if (badTag !== undefined) throw new RegistryError('MANIFEST_INVALID', 'invalid tag parameter', { tag: badTag });
  const bytes = await readBody(ctx.req, ctx.settings.maxManifestBytes);
  const result = await ctx.storage.putManifest({
    repository: name,
    reference,
    bytes,
    contentType: ctx.req.headers['content-type'],
    extraTags,
    // Moving a tag that points elsewhere is `overwrite`, a right of its own (immutable tags).
    moveTags: ctx.access.allows(name, 'overwrite'),
  });
  if (!result.ok) {
    switch (result.reason) {
      case 'invalid':
        throw new RegistryError('MANIFEST_INVALID', result.message);
      case 'digest-mismatch':
        throw new RegistryError('DIGEST_INVALID', 'manifest digest did not match the reference', { reference, digest: result.actual });
      case 'missing-references':
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', undefined, { missing: result.missing });
      case 'tag-exists':
        throw ctx.access.denied(name, 'overwrite', { tag: result.tag });
    }
  }
  ctx.log.info({ repository: name, digest: result.digest, tags: result.tags }, 'manifest pushed');
  const headers: Record<string, string> = {
    Location: `/v2/${name}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
  };
  if (result.manifest.subject) headers['OCI-Subject'] = result.manifest.subject.digest;
  if (extraTags.length > 0) headers['OCI-Tag'] = result.tags.join(', ');
  sendEmpty(ctx.res, 201, headers);
}

export async function handleManifestDelete(ctx: RequestContext, name: string, reference: string): Promise<void> {
  if (!ctx.settings.deleteEnabled) throw new RegistryError('DELETE_DISABLED');
  if (looksLikeDigest(reference)) {
    const digest = parseDigest(reference);
    if (!digest) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: reference });
    if (!(await ctx.storage.deleteManifest(name, digest))) throw new RegistryError('MANIFEST_UNKNOWN', undefined, { name, reference });
  } else if (!(await ctx.storage.deleteTag(name, reference))) {
    throw new RegistryError('MANIFEST_UNKNOWN', undefined, { name, reference });
  }
  ctx.log.info({ repository: name, reference }, 'manifest deleted');
  sendEmpty(ctx.res, 202);
}
