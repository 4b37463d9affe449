// Blob uploads: POST (start, single-request upload, cross-repository mount), PATCH
// (chunks), PUT (finish), GET (status) and DELETE (cancel) on /blobs/uploads/.
import { isValidRepositoryName } from '../../oci/names.js';
import type { ChunkOptions, UploadFailure, UploadStatus } from '../../storage/types.js';
import type { RequestContext } from '../context.js';
import { RegistryError } from '../errors.js';
import { parseContentRange } from '../http-range.js';
import { contentLength, hasBody, requestBody, sendEmpty, uploadRangeHeader } from '../http-util.js';
import { requireDigest } from './blobs.js';

/** The session's URL, with its signed state (any replica sharing the secret can continue it). */
function uploadLocation(ctx: RequestContext, name: string, id: string, offset: number): string {
  return `/v2/${name}/blobs/uploads/${id}?_state=${ctx.uploadStates.encode({ name, id, offset })}`;
}

/**
 * The offset the client's `_state` says the session reached. Absent state is allowed
 * (clients that build the URL themselves); a state that is forged, or names another
 * session, is refused.
 */
function expectedOffset(ctx: RequestContext, name: string, id: string): number | undefined {
  const token = ctx.query.get('_state');
  if (token === null) return undefined;
  const decoded = ctx.uploadStates.decode(token);
  if (!decoded.ok) throw new RegistryError('BLOB_UPLOAD_INVALID', decoded.reason, { id });
  if (decoded.state.name !== name || decoded.state.id !== id) throw new RegistryError('BLOB_UPLOAD_INVALID', 'upload state belongs to another session', { id });
  return decoded.state.offset;
}

function sendUploadStatus(ctx: RequestContext, name: string, status: UploadStatus, code: 202 | 204): void {
  sendEmpty(ctx.res, code, {
    Location: uploadLocation(ctx, name, status.id, status.offset),
    Range: uploadRangeHeader(status.offset),
    'Docker-Upload-UUID': status.id,
  });
}

function sendBlobCreated(ctx: RequestContext, name: string, digest: string): void {
  sendEmpty(ctx.res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

function failure(ctx: RequestContext, name: string, id: string, result: UploadFailure | { ok: false; reason: 'digest-mismatch'; actual: string }): RegistryError {
  switch (result.reason) {
    case 'upload-unknown':
      return new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { id });
    case 'range-mismatch':
      return new RegistryError('UPLOAD_RANGE_INVALID', `chunk does not start at the upload offset ${result.offset}`, { offset: result.offset }, {
        Location: uploadLocation(ctx, name, id, result.offset),
        Range: uploadRangeHeader(result.offset),
        'Docker-Upload-UUID': id,
      });
    case 'size-mismatch':
      return new RegistryError('SIZE_INVALID', `expected ${result.expected} bytes, received ${result.received}`, {
        expected: result.expected,
        received: result.received,
      });
    case 'incomplete-body':
      return new RegistryError('BLOB_UPLOAD_INVALID', 'request body ended early', { offset: result.offset });
    case 'digest-mismatch':
      return new RegistryError('DIGEST_INVALID', undefined, { digest: result.actual });
  }
}

/** Chunk options from Content-Range and Content-Length. */
function chunkOptions(ctx: RequestContext, expected?: number): ChunkOptions {
  const range = parseContentRange(ctx.req.headers['content-range']);
  if (range.kind === 'invalid') throw new RegistryError('UPLOAD_RANGE_INVALID', 'malformed Content-Range');
  const length = contentLength(ctx.req);
  const fromState = expected !== undefined ? { expectedOffset: expected } : {};
  if (range.kind === 'none') return length === undefined ? fromState : { length, ...fromState };
  return { start: range.range.start, length: length ?? range.range.end - range.range.start + 1, ...fromState };
}

/**
 * A mount needs pull on the source (push on the target is the route's need). Without it
 * the push falls back to an upload, as the spec allows, so the blob is never linked for
 * a caller who could not read it. A mount without `from` links the blob from wherever it
 * is, so it is only for callers who may pull everything (no access control, or an admin).
 */
function mountAllowed(ctx: RequestContext, from: string | undefined): boolean {
  if (from !== undefined) {
    if (!isValidRepositoryName(from)) return false;
    if (ctx.access.allows(from, 'pull')) return true;
    ctx.log.info({ user: ctx.access.caller, from, digest: ctx.query.get('mount') }, 'mount without pull on the source: falling back to an upload');
    ctx.metrics.accessDenied.inc({ action: 'pull', status: 'mount-fallback' });
    return false;
  }
  return ctx.access.pullsEverything;
}

export async function handleUploadStart(ctx: RequestContext, name: string): Promise<void> {
  const mount = ctx.query.get('mount');
  if (mount !== null) {
    const from = ctx.query.get('from');
    const digest = requireDigest(mount);
    const fromRepository = from !== null && from !== '' ? from : undefined;
    if (mountAllowed(ctx, fromRepository)) {
      const mounted = await ctx.storage.mountBlob(name, digest, fromRepository);
      if (mounted) {
        ctx.log.info({ repository: name, digest: mounted.digest, from: fromRepository ?? null }, 'blob mounted');
        sendBlobCreated(ctx, name, mounted.digest);
        return;
      }
    }
    // Not mountable: the spec says to fall back to an ordinary upload session.
  }
  const single = ctx.query.get('digest');
  if (single !== null) {
    const digest = requireDigest(single);
    const status = await ctx.storage.startUpload(name);
    ctx.metrics.uploadSessions.inc({ outcome: 'started' });
    const result = await ctx.storage.finishUpload(name, status.id, digest, requestBody(ctx.req), chunkOptions(ctx));
    if (!result.ok) {
      await ctx.storage.cancelUpload(name, status.id);
      ctx.metrics.uploadSessions.inc({ outcome: 'failed' });
      throw failure(ctx, name, status.id, result);
    }
    ctx.metrics.uploadSessions.inc({ outcome: 'completed' });
    sendBlobCreated(ctx, name, result.blob.digest);
    return;
  }
  const session = await ctx.storage.startUpload(name);
  ctx.metrics.uploadSessions.inc({ outcome: 'started' });
  sendUploadStatus(ctx, name, session, 202);
}

export async function handleUploadPatch(ctx: RequestContext, name: string, id: string): Promise<void> {
  const result = await ctx.storage.appendUpload(name, id, requestBody(ctx.req), chunkOptions(ctx, expectedOffset(ctx, name, id)));
  if (!result.ok) throw failure(ctx, name, id, result);
  sendUploadStatus(ctx, name, result.status, 202);
}

export async function handleUploadPut(ctx: RequestContext, name: string, id: string): Promise<void> {
  const expected = expectedOffset(ctx, name, id);
  const digest = requireDigest(ctx.query.get('digest'));
  const body = hasBody(ctx.req) ? requestBody(ctx.req) : undefined;
  const result = await ctx.storage.finishUpload(name, id, digest, body, body ? chunkOptions(ctx, expected) : expected !== undefined ? { expectedOffset: expected } : {});
  if (!result.ok) {
    if (result.reason === 'digest-mismatch') ctx.metrics.uploadSessions.inc({ outcome: 'failed' });
    throw failure(ctx, name, id, result);
  }
  ctx.metrics.uploadSessions.inc({ outcome: 'completed' });
  ctx.log.info({ repository: name, digest: result.blob.digest, size: result.blob.size }, 'blob pushed');
  sendBlobCreated(ctx, name, result.blob.digest);
}

export async function handleUploadGet(ctx: RequestContext, name: string, id: string): Promise<void> {
  const status = await ctx.storage.uploadStatus(name, id, expectedOffset(ctx, name, id));
  if (!status) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { id });
  sendUploadStatus(ctx, name, status, 204);
}

export async function handleUploadDelete(ctx: RequestContext, name: string, id: string): Promise<void> {
  expectedOffset(ctx, name, id);
  if (!(await ctx.storage.cancelUpload(name, id))) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { id });
  ctx.metrics.uploadSessions.inc({ outcome: 'cancelled' });
  sendEmpty(ctx.res, 204);
}
