// GET /berth/v1/access: what the caller's own credentials may do, for `berth registry
// status` (which actions the saved login has). It tells callers only about themselves:
// per repository glob (the longest match decides) the actions they have.
import { RegistryError } from '../errors.js';
import { sendJson } from '../http-util.js';
import type { ExtensionRequest, RegistryExtension } from '../server.js';
import { ALL_ACTIONS, actionNames, type ActionSet } from './actions.js';
import type { AccessControl } from './access-control.js';
import { principalOf, type Identity } from './identity.js';

export const ACCESS_PATH = '/berth/v1/access';

export interface AccessReport {
  readonly caller: string | null;
  readonly kind: Identity['kind'] | 'robot' | 'user';
  /** A robot's expiry (ISO time), or null. */
  readonly expiresAt: string | null;
  /** In the order they decide: the first glob that matches a repository is the one. */
  readonly grants: ReadonlyArray<{ readonly repositories: string; readonly actions: readonly string[] }>;
}

function grant(repositories: string, actions: ActionSet): { repositories: string; actions: string[] } {
  return { repositories, actions: actionNames(actions) };
}

/**
 * The rights of the account behind the credentials: a token of this registry's own
 * token server speaks for its account (the client may have signed in with a password
 * and been sent a token); an external issuer's token only for what it grants.
 */
export function accessReport(control: AccessControl, identity: Identity): AccessReport {
  const principal = principalOf(identity);
  const policy = control.policy;
  const bounds = identity.kind === 'robot' || identity.kind === 'token' ? identity.bounds : undefined;
  let grants;
  if (bounds) {
    // A robot's bounds, each as far as the policy (if any) lets its name go on the glob itself.
    grants = bounds.repositories.map((glob) => grant(glob.pattern, bounds.actions & (policy ? policy.actions(principal, glob.pattern) : ALL_ACTIONS)));
  } else if (identity.kind === 'token' && identity.issuer === 'external') {
    grants = [...identity.grants.repositories].map(([name]) => grant(name, control.actions(identity, name)));
  } else if (policy) {
    grants = policy.summary(principal).map((entry) => grant(entry.repositories, entry.actions));
  } else {
    grants = principal === undefined ? [] : [grant('**', ALL_ACTIONS)];
  }
  const kind = bounds ? 'robot' : identity.kind === 'token' && identity.issuer === 'self' ? (principal === undefined ? 'anonymous' : 'user') : identity.kind;
  return { caller: principal ?? null, kind, expiresAt: identity.kind === 'robot' ? identity.expiresAt : null, grants };
}

export class AccessEndpoint implements RegistryExtension {
  readonly name = 'access';

  constructor(private readonly control: AccessControl) {}

  claims(path: string): boolean {
    return path === ACCESS_PATH;
  }

  async handle(request: ExtensionRequest): Promise<void> {
    if (request.method !== 'GET') throw new RegistryError('METHOD_UNSUPPORTED', `${request.method} is not supported here`, { method: request.method }, { Allow: 'GET' });
    const identity = await request.identify();
    if (identity.kind === 'anonymous') {
      throw new RegistryError('UNAUTHORIZED', undefined, null, { 'WWW-Authenticate': 'Basic realm="Registry Realm"' });
    }
    sendJson(request.res, 200, accessReport(this.control, identity));
  }
}
