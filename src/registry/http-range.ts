// Range (blob GET) and Content-Range (chunked upload) parsing. Pure and total: every
// input gives a value or a reason, never an exception.

export type ByteRange = { readonly start: number; readonly end: number };

export type RangeResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'range'; readonly range: ByteRange }
  | { readonly kind: 'unsatisfiable' };

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function parseNonNegative(text: string): number | undefined {
  if (!/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_SAFE ? value : undefined;
}

/**
 * A single `bytes=` range against a blob of `size` bytes (RFC 9110 §14.1.2). A header
 * that is not a single byte range is ignored (full content), as the RFC allows.
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'none' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'none' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'none' };
  if (first === '') {
    const suffix = parseNonNegative(last);
    if (suffix === undefined) return { kind: 'none' };
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = parseNonNegative(first);
  if (start === undefined) return { kind: 'none' };
  const requestedEnd = last === '' ? size - 1 : parseNonNegative(last);
  if (requestedEnd === undefined) return { kind: 'none' };
  if (start >= size || requestedEnd < start) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { start, end: Math.min(requestedEnd, size - 1) } };
}

export type ContentRangeResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'range'; readonly range: ByteRange }
  | { readonly kind: 'invalid' };

/**
 * The Content-Range of a chunk PATCH: `<start>-<end>` per the distribution spec, also
 * accepting the RFC form `bytes <start>-<end>/<total|*>` that some clients send.
 */
export function parseContentRange(header: string | undefined): ContentRangeResult {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  const match = /^\s*(?:bytes\s+)?(\d{1,16})-(\d{1,16})(?:\/(?:\d{1,16}|\*))?\s*$/i.exec(header);
  if (!match) return { kind: 'invalid' };
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start || end > MAX_SAFE) return { kind: 'invalid' };
  return { kind: 'range', range: { start, end } };
}
