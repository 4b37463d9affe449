// /v2/<name>/blobs/<digest>: GET (with Range), HEAD, DELETE.
import { parseDigest, type Digest } from '../../oci/digest.js';
import type { RequestContext } from '../context.js';
import { RegistryError } from '../errors.js';
import { parseRangeHeader } from '../http-range.js';
import { sendEmpty } from '../http-util.js';
import { sendFileRange } from '../send-file.js';
import { pipeline } from 'node:stream/promises';

export function requireDigest(text: string | null | undefined): Digest {
  const digest = text ? parseDigest(text) : undefined;
  if (!digest) throw new RegistryError('DIGEST_INVALID', 'invalid digest', { digest: text ?? null });
  return digest;
}

export async function handleBlobGet(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  const digest = requireDigest(digestText);
  // HEAD is how pushers check for a blob before skipping its upload: touch it, so an
  // online GC keeps it until their manifest arrives (see storage/gc.ts).
  const info = await ctx.storage.statBlob(name, digest, { touch: ctx.method === 'HEAD', read: ctx.method === 'GET' });
  if (!info) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest: digest.value });
  const range = parseRangeHeader(ctx.req.headers.range, info.size);
  if (range.kind === 'unsatisfiable') {
    throw new RegistryError('RANGE_INVALID', undefined, { size: info.size }, {
      'Content-Range': `bytes */${info.size}`,
    });
  }
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': info.digest,
    'Accept-Ranges': 'bytes',
    ETag: `"${info.digest}"`,
    'Cache-Control': 'max-age=31536000',
  };
  const selected = range.kind === 'range' ? range.range : undefined;
  if (selected) headers['Content-Range'] = `bytes ${selected.start}-${selected.end}/${info.size}`;
  headers['Content-Length'] = selected ? selected.end - selected.start + 1 : info.size;
  if (ctx.method === 'HEAD') {
    ctx.res.writeHead(selected ? 206 : 200, headers);
    ctx.res.end();
    return;
  }
  const read = await ctx.storage.readBlob(name, requireDigest(info.digest), selected);
  if (!read) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest: digest.value });
  if (read.kind === 'redirect') {
    // The storage serves the bytes itself (a presigned S3 URL), as distribution's redirect does.
    sendEmpty(ctx.res, 307, { Location: read.url, 'Docker-Content-Digest': info.digest });
    return;
  }
  try {
    ctx.res.writeHead(selected ? 206 : 200, headers);
    if (read.kind === 'file') await sendFileRange(read.handle, ctx.res, read.start, read.start + read.size - 1);
    else await pipeline(read.stream, ctx.res);
  } catch (error) {
    // The client went away mid-transfer (or the object shrank): nothing to answer any more.
    ctx.log.debug({ err: error, digest: digest.value }, 'blob transfer ended early');
    ctx.res.destroy();
  } finally {
    if (read.kind === 'file') await read.handle.close();
    else read.stream.destroy();
  }
}

export async function handleBlobDelete(ctx: RequestContext, name: string, digestText: string): Promise<void> {
  if (!ctx.settings.deleteEnabled) throw new RegistryError('DELETE_DISABLED');
  const digest = requireDigest(digestText);
  if (!(await ctx.storage.unlinkBlob(name, digest))) throw new RegistryError('BLOB_UNKNOWN', undefined, { digest: digest.value });
  ctx.log.info({ repository: name, digest: digest.value }, 'blob deleted');
  sendEmpty(ctx.res, 202, { 'Docker-Content-Digest': digest.value });
}
