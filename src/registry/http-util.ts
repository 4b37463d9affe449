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

/** Reads the whole body, up to `limit` bytes; beyond that it is a 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new RegistryError('MANIFEST_INVALID', `manifest exceeds the ${limit} byte limit`, { limit }, 413);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      total += buffer.length;
      if (total > limit) throw new RegistryError('MANIFEST_INVALID', `manifest exceeds the ${limit} byte limit`, { limit }, 413);
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
  if (!/^\d+$/.test(value)) throw new RegistryError('PAGINATION_NUMBER_INVALID', 'invalid number of results requested', { n: value }, 400);
  return Math.min(Number(value), max);
}
