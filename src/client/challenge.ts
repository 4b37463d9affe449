// WWW-Authenticate challenges (RFC 7235): `Basic realm="x"` or
// `Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"`.

export interface Challenge {
  readonly scheme: 'basic' | 'bearer';
  readonly parameters: Readonly<Record<string, string>>;
}

/** Parses the first Basic or Bearer challenge of a WWW-Authenticate header. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(basic|bearer)\b\s*(.*)$/i.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase() as Challenge['scheme'];
  const parameters: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?\s*/g;
  for (const part of match[2]!.matchAll(pattern)) {
    parameters[part[1]!.toLowerCase()] = part[2] !== undefined ? part[2].replace(/\\(.)/g, '$1') : part[3]!;
  }
  return { scheme, parameters };
}
