// Value types shared by the registry's config schemas (Berth keys, registry:2 keys and
// the mirror settings): Go-style durations, byte sizes and registry:2's string booleans.
import { z } from 'zod';
import { parseDuration } from '../util/duration.js';

/** A duration (`30s`, `15m`, `168h`, or seconds as a number), in milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (use e.g. 30s, 15m, 168h)` });
    return z.NEVER;
  }
  return ms;
});

/** A byte size: a number, or a string of digits (registry:2 writes chunksize either way). */
export const byteSize = z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]);

/** registry:2 accepts booleans written as strings too. */
export const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

/** The first issue of a failed parse, as `path.to.key: message`. */
export function formatIssue(error: z.ZodError, prefix?: string): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid configuration';
  const path = [...(prefix !== undefined ? [prefix] : []), ...issue.path.map(String)];
  const where = path.length > 0 ? `${path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}
