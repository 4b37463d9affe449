// `/token`: the registry as its own token server, in docker's token protocol.
//   GET /token?service=S&scope=repository:NAME:pull,push&scope=...  (Basic credentials, or none)
//   POST /token  grant_type=password&username=U&password=P&service=S&scope=...  (OAuth2, as containerd asks)
// The token grants, of each scope asked for, only what the caller may do now (the
// policy, and a robot's bounds); scopes it may not have are left out, not refused, as
// docker's token servers do, and the registry then answers 403 for them.
import type { RegistryMetrics } from '../metrics.js';
import { NO_ACTIONS, type ActionSet } from '../access/actions.js';
import type { AccessControl } from '../access/access-control.js';
import { principalOf, type Identity } from '../access/identity.js';
import { RegistryError } from '../errors.js';
import { readBody, sendJson } from '../http-util.js';
import type { ExtensionRequest, RegistryExtension } from '../server.js';
import { parseScopes, tokenActionNames, type AccessEntry } from './scope.js';
import type { TokenSigner } from './signer.js';

const FORM_LIMIT = 64 * 1024;

/** What `identity` may have of the scopes it asked for. */
export function grantScopes(control: AccessControl, identity: Identity, scopeParameters: readonly string[]): AccessEntry[] {
  const principal = principalOf(identity);
  const bounds = identity.kind === 'robot' ? identity.bounds : undefined;
  const repositories = new Map<string, ActionSet>();
  let catalog = false;
  for (const scope of parseScopes(scopeParameters)) {
    if (scope.type === 'catalog') {
      // The catalog lists only what the caller may pull; anonymous callers get it where the policy lets them pull.
      catalog ||= principal !== undefined || control.policy?.allowsAnonymous === true;
      continue;
    }
    const granted = scope.actions & control.principalActions(principal, bounds, scope.name);
    repositories.set(scope.name, (repositories.get(scope.name) ?? NO_ACTIONS) | granted);
  }
  const access: AccessEntry[] = [];
  for (const [name, actions] of repositories) {
    const names = tokenActionNames(actions);
    if (names.length > 0) access.push({ type: 'repository', name, actions: names });
  }
  if (catalog) access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
  return access;
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export class TokenEndpoint implements RegistryExtension {
  readonly name = 'token';

  constructor(
    private readonly signer: TokenSigner,
    private readonly control: AccessControl,
    private readonly metrics: RegistryMetrics,
  ) {}

  claims(path: string): boolean {
    return path === '/token' || path === '/token/';
  }

  async handle(request: ExtensionRequest): Promise<void> {
    const { method } = request;
    if (method !== 'GET' && method !== 'POST') {
      throw new RegistryError('METHOD_UNSUPPORTED', `${method} is not supported here`, { method }, { Allow: 'GET, POST' });
    }
    let parameters = request.query;
    let authorization = request.req.headers.authorization;
    if (method === 'POST') {
      parameters = new URLSearchParams((await readBody(request.req, FORM_LIMIT)).toString('utf8'));
      const grant = parameters.get('grant_type');
      if (grant !== 'password') throw new RegistryError('TOKEN_REQUEST_INVALID', 'only grant_type=password is supported', { grant_type: grant });
      authorization = basicHeader(parameters.get('username') ?? '', parameters.get('password') ?? '');
    }
    const service = parameters.get('service');
    if (service !== null && service !== this.signer.service) throw new RegistryError('TOKEN_REQUEST_INVALID', `this token server is for the service ${this.signer.service}`, { service });
    if (authorization !== undefined && /^Bearer\s/i.test(authorization)) {
      throw new RegistryError('TOKEN_REQUEST_INVALID', 'sign in with a user name and password, not a token');
    }
    const identity = await request.identify(authorization);
    const access = grantScopes(this.control, identity, parameters.getAll('scope'));
    const signed = await this.signer.sign(principalOf(identity), access);
    this.metrics.tokensIssued.inc();
    request.log.info({ user: principalOf(identity), access: access.map((entry) => `${entry.type}:${entry.name}:${entry.actions.join(',')}`) }, 'token issued');
    request.res.setHeader('Cache-Control', 'no-store');
    sendJson(request.res, 200, {
      token: signed.token,
      access_token: signed.token,
      expires_in: signed.expiresInSeconds,
      issued_at: signed.issuedAt.toISOString(),
      ...(method === 'POST' ? { scope: parameters.getAll('scope').join(' ') } : {}),
    });
  }
}
