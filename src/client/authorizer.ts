// Answers a registry's auth challenges the way docker does: Basic with the user's
// credentials, or Bearer with a token from the challenge's realm (anonymous when no
// credentials are known), cached per scope until it expires. After the first
// challenge the scheme is remembered, so later requests authenticate up front.
import { parseChallenge, type Challenge } from './challenge.js';
import { basicHeader, type CredentialSource, type Credentials } from './credentials.js';
import { RegistryRequestError, UnauthorizedError, describeFailure, parseErrorBody } from './errors.js';
import { readAll, type HttpTransport } from './transport.js';

interface Token {
  readonly value: string;
  readonly expiresAt: number;
}

/** Tokens are renewed this long before they expire. */
const TOKEN_EXPIRY_MARGIN_MS = 10_000;

export class Authorizer {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, Token>();
  private credentials: Credentials | undefined | null = null;

  constructor(
    private readonly transport: HttpTransport,
    private readonly source: CredentialSource | undefined,
  ) {}

  private async creds(): Promise<Credentials | undefined> {
    if (this.credentials === null) this.credentials = (await this.source?.()) ?? undefined;
    return this.credentials;
  }

  /** The Authorization header to send up front for `scopes`, if the scheme is known. */
  async header(scopes: readonly string[]): Promise<string | undefined> {
    const credentials = await this.creds();
    if (credentials?.registryToken) return `Bearer ${credentials.registryToken}`;
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') return credentials ? basicHeader(credentials) : undefined;
    const token = this.tokens.get(scopeKey(scopes));
    return token && token.expiresAt > Date.now() ? `Bearer ${token.value}` : undefined;
  }

  /**
   * Handles a 401: records the challenge and returns the header to retry with.
   * Throws UnauthorizedError when there is nothing better to send.
   */
  async answer(wwwAuthenticate: string | undefined, scopes: readonly string[], previous: string | undefined, url: URL): Promise<string> {
    const challenge = parseChallenge(wwwAuthenticate);
    if (!challenge) throw new UnauthorizedError(`${url.host} requires authentication but sent no usable challenge`, 401);
    this.challenge = challenge;
    const credentials = await this.creds();
    if (challenge.scheme === 'basic') {
      const header = credentials ? basicHeader(credentials) : undefined;
      if (!header) throw new UnauthorizedError(`${url.host} requires a login (no credentials found)`, 401);
      if (header === previous) throw new UnauthorizedError(`${url.host} rejected the credentials (unauthorized)`, 401);
      return header;
    }
    const token = await this.fetchToken(challenge, scopes, credentials);
    const header = `Bearer ${token}`;
    if (header === previous) throw new UnauthorizedError(`${url.host} rejected the token (unauthorized)`, 401);
    return header;
  }

  private async fetchToken(challenge: Challenge, scopes: readonly string[], credentials: Credentials | undefined): Promise<string> {
    const realm = challenge.parameters['realm'];
    if (!realm) throw new UnauthorizedError('bearer challenge without a realm', 401);
    const url = new URL(realm);
    if (challenge.parameters['service']) url.searchParams.set('service', challenge.parameters['service']);
    const wanted = scopes.length > 0 ? scopes : challenge.parameters['scope'] ? [challenge.parameters['scope']] : [];
    for (const scope of wanted) url.searchParams.append('scope', scope);
    if (credentials?.username) url.searchParams.set('account', credentials.username);
    const headers: Record<string, string> = {};
    const basic = credentials ? basicHeader(credentials) : undefined;
    if (basic) headers['Authorization'] = basic;
    const response = await this.transport.request('GET', url, { headers, followRedirects: true });
    const body = await readAll(response.body, 1024 * 1024);
    if (response.status === 401 || response.status === 403) {
      throw new UnauthorizedError(`token service ${url.host} refused the credentials (unauthorized)`, response.status, parseErrorBody(body));
    }
    if (response.status !== 200) {
      throw new RegistryRequestError(`token service: ${describeFailure(response.status, parseErrorBody(body), url.href)}`, response.status);
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new RegistryRequestError(`token service ${url.host} answered with invalid JSON`, response.status);
    }
    const token = typeof parsed.token === 'string' ? parsed.token : typeof parsed.access_token === 'string' ? parsed.access_token : undefined;
    if (!token) throw new RegistryRequestError(`token service ${url.host} returned no token`, response.status);
    const lifetimeMs = (typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60) * 1000;
    this.tokens.set(scopeKey(scopes), { value: token, expiresAt: Date.now() + Math.max(lifetimeMs - TOKEN_EXPIRY_MARGIN_MS, 1000) });
    return token;
  }
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(' ');
}
