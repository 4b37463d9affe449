// Blob uploads: POST (start, single-request upload, cross-repository mount), PATCH
// (chunks), PUT (finish), GET (status) and DELETE (cancel) on /blobs/uploads/.
import { isValidRepositoryName } from '../../oci/names.js';
import type { UploadFailure, UploadStatus } from '../../storage/types.js';
import type { RequestContext } from '../context.js';
import { RegistryError } from '../errors.js';
import { parseContentRange } from '../http-range.js';
import { contentLength, hasBody, requestBody, sendEmpty, uploadRangeHeader } from '../http-util.js';
import { requireDigest } from './blobs.js';

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

function sendUploadStatus(ctx: RequestContext, name: string, status: UploadStatus, code: 202 | 204): void {
  sendEmpty(ctx.res, code, {
    Location: uploadLocation(name, status.id),
    Range: uploadRangeHeader(status.offset),
    'Docker-Upload-UUID': status.id,
  });
}

function sendBlobCreated(ctx: RequestContext, name: string, digest: string): void {
  sendEmpty(ctx.res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

function failure(name: string, id: string, result: UploadFailure | { ok: false; reason: 'digest-mismatch'; actual: string }): RegistryError {
  switch (result.reason) {
    case 'upload-unknown':
      return new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { id });
    case 'range-mismatch':
      return new RegistryError('BLOB_UPLOAD_INVALID', `chunk does not start at the upload offset ${result.offset}`, { offset: result.offset }, 416, {
        Location: uploadLocation(name, id),
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
function chunkOptions(ctx: RequestContext): { start?: number; length?: number } {
  const range = parseContentRange(ctx.req.headers['content-range']);
  if (range.kind === 'invalid') throw new RegistryError('BLOB_UPLOAD_INVALID', 'malformed Content-Range', undefined, 416);
  const length = contentLength(ctx.req);
  if (range.kind === 'none') return length === undefined ? {} : { length };
  return { start: range.range.start, length: length ?? range.range.end - range.range.start + 1 };
}

export async function handleUploadStart(ctx: RequestContext, name: string): Promise<void> {
  const mount = ctx.query.get('mount');
  if (mount !== null) {
    const from = ctx.query.get('from');
    const digest = requireDigest(mount);
    const fromRepository = from !== null && from !== '' ? from : undefined;
    if (fromRepository === undefined || isValidRepositoryName(fromRepository)) {
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
      throw failure(name, status.id, result);
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
  const result = await ctx.storage.appendUpload(name, id, requestBody(ctx.req), chunkOptions(ctx));
  if (!result.ok) throw failure(name, id, result);
  sendUploadStatus(ctx, name, result.status, 202);
}

export async function handleUploadPut(ctx: RequestContext, name: string, id: string): Promise<void> {
  const digest = requireDigest(ctx.query.get('digest'));
  const body = hasBody(ctx.req) ? requestBody(ctx.req) : undefined;
  const result = await ctx.storage.finishUpload(name, id, digest, body, body ? chunkOptions(ctx) : {});
  if (!result.ok) {
    if (result.reason === 'digest-mismatch') ctx.metrics.uploadSessions.inc({ outcome: 'failed' });
    throw failure(name, id, result);
  }
  ctx.metrics.uploadSessions.inc({ outcome: 'completed' });
  ctx.log.info({ repository: name, digest: result.blob.digest, size: result.blob.size }, 'blob pushed');
  sendBlobCreated(ctx, name, result.blob.digest);
}

export async function handleUploadGet(ctx: RequestContext, name: string, id: string): Promise<void> {
  const status = await ctx.storage.uploadStatus(name, id);
  if (!status) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { id });
  sendUploadStatus(ctx, name, status, 204);
}

export async function handleUploadDelete(ctx: RequestContext, name: string, id: string): Promise<void> {
  if (!(await ctx.storage.cancelUpload(name, id))) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', undefined, { id });
  ctx.metrics.uploadSessions.inc({ outcome: 'cancelled' });
  sendEmpty(ctx.res, 204);
}
