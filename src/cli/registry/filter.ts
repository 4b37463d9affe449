// `--filter name=PAT,tag=PAT` for `registry images`, with sealctl's pattern forms:
// `*` (all), `x*` (prefix), `*x` (suffix), `*x*` (contains) and `x` (equals); `<none>`
// as a tag pattern lists repositories that have no tags. Anything else is refused up
// front, before any request is sent.
import { CliError } from '../cli-error.js';

export type Pattern =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'equals' | 'prefix' | 'suffix' | 'contains'; readonly text: string };

export interface ImageFilter {
  readonly name: Pattern;
  readonly tag: Pattern;
}

const ALL: Pattern = { kind: 'all' };
const NAME_CHARS = /^[a-z0-9._/-]*$/;
const TAG_CHARS = /^[A-Za-z0-9._-]*$/;

export function parsePattern(text: string, key: 'name' | 'tag'): Pattern {
  if (text === '' || text === '*') return ALL;
  if (text === '<none>') {
    if (key === 'tag') return { kind: 'none' };
    throw new CliError('name=<none> is not a valid filter', '<none> works for tags only: --filter tag=<none>');
  }
  const leading = text.startsWith('*');
  const trailing = text.endsWith('*');
  const core = text.slice(leading ? 1 : 0, trailing ? -1 : undefined);
  if (core === '' || core.includes('*')) {
    throw new CliError(`invalid ${key} pattern ${JSON.stringify(text)}`, 'use *, x*, *x, *x* or an exact value; * only at the ends');
  }
  if (!(key === 'name' ? NAME_CHARS : TAG_CHARS).test(core)) {
    throw new CliError(`invalid ${key} pattern ${JSON.stringify(text)}: ${key === 'name' ? 'repository names use [a-z0-9._/-]' : 'tags use [A-Za-z0-9._-]'}`);
  }
  const kind = leading && trailing ? 'contains' : leading ? 'suffix' : trailing ? 'prefix' : 'equals';
  return { kind, text: core };
}

/** Parses every --filter value (each may hold several comma-separated key=value pairs). */
export function parseFilters(values: readonly string[]): ImageFilter {
  let name = ALL;
  let tag = ALL;
  for (const value of values) {
    for (const part of value.split(',')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      const key = eq > 0 ? part.slice(0, eq).trim() : '';
      const pattern = eq > 0 ? part.slice(eq + 1).trim() : '';
      if (key === 'name') name = parsePattern(pattern, 'name');
      else if (key === 'tag') tag = parsePattern(pattern, 'tag');
      else throw new CliError(`invalid filter ${JSON.stringify(part)}`, 'use --filter name=PATTERN,tag=PATTERN');
    }
  }
  return { name, tag };
}

export function matches(pattern: Pattern, value: string): boolean {
  switch (pattern.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'equals':
      return value === pattern.text;
    case 'prefix':
      return value.startsWith(pattern.text);
    case 'suffix':
      return value.endsWith(pattern.text);
    case 'contains':
      return value.includes(pattern.text);
  }
}
