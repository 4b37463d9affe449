// GET /v2/<name>/referrers/<digest>[?artifactType=...]: an OCI index of the manifests
// whose `subject` is <digest>. An unknown subject gives an empty index, not a 404.
import { MEDIA_TYPE } from '../../oci/media-types.js';
import type { RequestContext } from '../context.js';
import { sendJson } from '../http-util.js';
import { requireDigest } from './blobs.js';

export async function handleReferrers(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  const subject = requireDigest(digestText);
  const artifactType = ctx.query.get('artifactType');
  let manifests = await ctx.storage.referrers(name, subject);
  const headers: Record<string, string> = { 'Content-Type': MEDIA_TYPE.ociIndex };
  if (artifactType !== null && artifactType !== '') {
    manifests = manifests.filter((descriptor) => descriptor.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  sendJson(ctx.res, 200, { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests }, headers);
}
