// The WWW-Authenticate challenge of a 401: Basic with the realm, or docker's Bearer
// challenge naming the token realm, the service and the scope the request needs.

export type ChallengeSettings =
  | { readonly scheme: 'basic'; readonly realm: string }
  /**
   * `realm` undefined: `realmPath` on this registry, at the address the client used (its
   * own /token, or registry:2's autoredirect); `fallbackRealm` when the Host header is unfit.
   */
  | { readonly scheme: 'bearer'; readonly realm: string | undefined; readonly realmPath: string; readonly service: string; readonly fallbackRealm: string };

export interface ChallengeRequest {
  /** The request's Host header, for the default token realm. */
  readonly host: string | undefined;
  readonly tls: boolean;
  readonly scope?: string;
  readonly error?: 'invalid_token' | 'insufficient_scope';
}

/** A Host header fit to build a URL from; anything else gets the listen address. */
const SAFE_HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

export function tokenRealm(settings: Extract<ChallengeSettings, { scheme: 'bearer' }>, host: string | undefined, tls: boolean): string {
  if (settings.realm !== undefined) return settings.realm;
  return host !== undefined && SAFE_HOST.test(host) ? `${tls ? 'https' : 'http'}://${host}${settings.realmPath}` : settings.fallbackRealm;
}

export function challengeHeader(settings: ChallengeSettings, request: ChallengeRequest): string {
  if (settings.scheme === 'basic') return `Basic realm=${quoted(settings.realm)}`;
  const parts = [`realm=${quoted(tokenRealm(settings, request.host, request.tls))}`, `service=${quoted(settings.service)}`];
  if (request.scope !== undefined) parts.push(`scope=${quoted(request.scope)}`);
  if (request.error !== undefined) parts.push(`error=${quoted(request.error)}`);
  return `Bearer ${parts.join(',')}`;
}
