// Small response and request helpers shared by the handlers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from './errors.js';

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': payload.length, ...headers });
  res.end(payload);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

export function sendRegistryError(res: ServerResponse, error: RegistryError, method: string): void {
  const payload = Buffer.from(error.body());
  res.writeHead(error.status, { 'Content-Type': 'application/json', 'Content-Length': payload.length, ...error.headers });
  res.end(method === 'HEAD' ? undefined : payload);
}

/**
 * The request body for storage. Stopping early (a failed write, a limit) must not reset the
 * connection, as a plain `for await` over the request would: the client would see a broken
 * pipe instead of the error response. The rest is drained by `drainBody`.
 */
export function requestBody(req: IncomingMessage): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => req.iterator({ destroyOnReturn: false }) as AsyncIterator<Uint8Array> };
}

/** How long, and how much, of a refused request's unread body is read and thrown away. */
const DRAIN_MS = 5_000;
const DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Reads the rest of a request body and throws it away, before an error response goes out.
 * Node closes the connection after answering a request whose body is unread, and closing
 * with unread bytes resets it: a client still sending (skopeo, mid-PATCH) then sees a
 * broken pipe instead of the answer. Bounded in time and bytes; past that, answer anyway.
 */
export function drainBody(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let drained = 0;
    const done = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.pause();
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      drained += chunk.length;
      if (drained > DRAIN_BYTES) done();
    };
    const timer = setTimeout(done, DRAIN_MS);
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.resume();
  });
}

/** Reads the whole body, up to `limit` bytes; beyond that it is a 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds the ${limit} byte limit`, { limit });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of requestBody(req)) {
      const buffer = chunk as Buffer;
      total += buffer.length;
      if (total > limit) throw new RegistryError('MANIFEST_TOO_LARGE', `manifest exceeds the ${limit} byte limit`, { limit });
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    // The client went away mid-body ("aborted"): a client error, as for blob uploads,
    // not a storage failure to log as an error and count in the storage error metric.
    throw new RegistryError('MANIFEST_INVALID', 'request body ended early', { received: total });
  }
  return Buffer.concat(chunks, total);
}

/** Content-Length as a number when present and well-formed. */
export function contentLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** True when the request carries a body (a length above zero, or chunked encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const length = contentLength(req);
  if (length !== undefined) return length > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** `Range: 0-<last>` as distribution writes it (0-0 when nothing was received). */
export function uploadRangeHeader(offset: number): string {
  return `0-${offset > 0 ? offset - 1 : 0}`;
}

/** A positive page size from `n`, or undefined; a malformed `n` is a 400. */
export function parsePageSize(value: string | null, max: number): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new RegistryError('PAGINATION_NUMBER_INVALID', undefined, { n: value });
  return Math.min(Number(value), max);
}
