// Response and request helpers of the UI's pages and JSON endpoints: the security
// headers every /ui response carries, JSON bodies in and out, and the same-origin check
// that backs the CSRF token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryError } from '../errors.js';
import { requestBody } from '../http-util.js';

/**
 * Scripts, styles and connections from this origin only; no inline script or style, no
 * plugins, no framing, no <base> tricks. Everything the bundle needs is in /ui/assets.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export function sendUiJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': payload.length, 'Cache-Control': 'no-store', ...headers });
  res.end(payload);
}

const JSON_LIMIT = 16 * 1024;

/** A small JSON object body; anything else is REQUEST_INVALID (or 413 past the limit). */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  // A JSON content type cannot be sent cross-site without a CORS preflight, which this
  // server never grants: one more wall in front of the CSRF token.
  if (type !== 'application/json') throw new RegistryError('REQUEST_INVALID', 'expected Content-Type: application/json');
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of requestBody(req)) {
      total += (chunk as Buffer).length;
      if (total > JSON_LIMIT) throw new RegistryError('REQUEST_TOO_LARGE', undefined, { limit: JSON_LIMIT });
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw new RegistryError('REQUEST_INVALID', 'request body ended early');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RegistryError('REQUEST_INVALID', 'the body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new RegistryError('REQUEST_INVALID', 'expected a JSON object');
  return parsed as Record<string, unknown>;
}

export function stringField(body: Record<string, unknown>, key: string, maxLength = 1024): string {
  const value = body[key];
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) throw new RegistryError('REQUEST_INVALID', `${key}: expected a non-empty string`, { field: key });
  return value;
}

export function booleanField(body: Record<string, unknown>, key: string): boolean {
  const value = body[key] ?? false;
  if (typeof value !== 'boolean') throw new RegistryError('REQUEST_INVALID', `${key}: expected true or false`, { field: key });
  return value;
}

/** A non-negative integer query parameter within bounds; absent gives the fallback. */
export function integerParam(query: URLSearchParams, key: string, fallback: number, max: number): number {
  const raw = query.get(key);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw new RegistryError('REQUEST_INVALID', `${key}: expected a number`, { field: key });
  return Math.min(Number(raw), max);
}

/**
 * Refuses a request that says it comes from another site. Browsers send Origin with
 * every POST and DELETE from script, and Sec-Fetch-Site with every request; either
 * naming another origin is a cross-site request, whatever cookie it carries.
 */
export function assertSameOrigin(req: IncomingMessage, secure: boolean): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new RegistryError('CSRF_INVALID', 'cross-site request refused');
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`) {
    throw new RegistryError('CSRF_INVALID', 'cross-origin request refused');
  }
}
