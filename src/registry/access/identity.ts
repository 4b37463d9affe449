// Who a request comes from, once its credentials are checked.
import type { ActionSet } from './actions.js';
import type { Glob } from './glob.js';
import type { Principal } from './policy.js';

/** Harbor's convention: robot accounts sign in as `robot$NAME`. */
export const ROBOT_PREFIX = 'robot$';

export function isRobotName(user: string): boolean {
  return user.startsWith(ROBOT_PREFIX);
}

/** What a robot account was created for: it never goes beyond these, whatever the policy says. */
export interface RobotBounds {
  readonly repositories: readonly Glob[];
  readonly actions: ActionSet;
}

/** Repository and catalog access a token grants. */
export interface TokenGrants {
  readonly repositories: ReadonlyMap<string, ActionSet>;
  /** `registry:catalog:*`. */
  readonly catalog: boolean;
}

export type Identity =
  /** No credentials. */
  | { readonly kind: 'anonymous' }
  /** An htpasswd user (Basic). */
  | { readonly kind: 'user'; readonly name: string }
  /** A robot account (Basic). */
  | { readonly kind: 'robot'; readonly name: string; readonly bounds: RobotBounds; readonly expiresAt: string | null }
  /**
   * A Bearer token. `issuer` self: signed by this registry's own token server, for
   * `principal` (a robot's bounds are looked up again); external: a trusted issuer's.
   */
  | {
      readonly kind: 'token';
      readonly issuer: 'self' | 'external';
      readonly principal: Principal;
      readonly bounds: RobotBounds | undefined;
      readonly grants: TokenGrants;
    };

/** The name for logs and policy lookups; undefined for anonymous callers. */
export function principalOf(identity: Identity): Principal {
  switch (identity.kind) {
    case 'anonymous':
      return undefined;
    case 'user':
    case 'robot':
      return identity.name;
    case 'token':
      return identity.principal;
  }
}
