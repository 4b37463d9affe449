// What an identity may do: the policy (or, without one, "every authenticated caller may
// do everything", as before access control existed), narrowed by a robot's own bounds
// and by what a token grants. And what a request that is not allowed gets: a challenge
// (401: no credentials, or a token that lacks a scope its holder could get) or a denial
// (403: the caller's rights do not reach).
import { ALL_ACTIONS, NO_ACTIONS, hasAction, type Action, type ActionSet } from './actions.js';
import type { AccessPolicy, Principal } from './policy.js';
import type { Identity, RobotBounds } from './identity.js';

export type Decision = 'allow' | 'challenge' | 'deny';

export function robotActions(bounds: RobotBounds, repository: string): ActionSet {
  return bounds.repositories.some((glob) => glob.matches(repository)) ? bounds.actions : NO_ACTIONS;
}

export class AccessControl {
  constructor(readonly policy: AccessPolicy | undefined) {}

  /** The principal's own rights, without any token: the policy and a robot's bounds. */
  principalActions(principal: Principal, bounds: RobotBounds | undefined, repository: string): ActionSet {
    let actions = this.policy ? this.policy.actions(principal, repository) : principal === undefined ? NO_ACTIONS : ALL_ACTIONS;
    if (bounds) actions &= robotActions(bounds, repository);
    return actions;
  }

  /** What the identity may do on `repository` with the credentials it presented. */
  actions(identity: Identity, repository: string): ActionSet {
    switch (identity.kind) {
      case 'anonymous':
        return this.principalActions(undefined, undefined, repository);
      case 'user':
        return this.principalActions(identity.name, undefined, repository);
      case 'robot':
        return this.principalActions(identity.name, identity.bounds, repository);
      case 'token': {
        const granted = identity.grants.repositories.get(repository) ?? NO_ACTIONS;
        // A trusted issuer decides alone unless this registry has a policy of its own.
        const own = identity.issuer === 'external' && !this.policy ? ALL_ACTIONS : this.principalActions(identity.principal, identity.bounds, repository);
        return granted & own;
      }
    }
  }

  decide(identity: Identity, repository: string, action: Action): Decision {
    if (hasAction(this.actions(identity, repository), action)) return 'allow';
    switch (identity.kind) {
      case 'anonymous':
        return 'challenge';
      case 'user':
      case 'robot':
        return 'deny';
      case 'token': {
        // A token without the scope is answered with a challenge (the client asks its
        // token server again) when a new token could carry it; otherwise it is denied.
        const granted = hasAction(identity.grants.repositories.get(repository) ?? NO_ACTIONS, action);
        if (identity.principal === undefined) return 'challenge'; // an anonymous token: log in
        if (identity.issuer === 'external') return granted ? 'deny' : 'challenge';
        return hasAction(this.principalActions(identity.principal, identity.bounds, repository), action) ? 'challenge' : 'deny';
      }
    }
  }

  /**
   * Whether the catalog shows `repository` to the caller: what it may pull. A token
   * asked for the catalog carries no repository scopes, so for tokens this is what the
   * account behind it may pull (an external issuer's, what this registry's policy allows
   * it, or everything without one: registry:2 shows the whole catalog).
   */
  listable(identity: Identity, repository: string): boolean {
    if (identity.kind !== 'token') return hasAction(this.actions(identity, repository), 'pull');
    if (identity.issuer === 'external' && !this.policy) return true;
    return hasAction(this.principalActions(identity.principal, identity.bounds, repository), 'pull');
  }

  /** Listing the catalog (filtered to what the caller may pull). */
  decideCatalog(identity: Identity): Decision {
    switch (identity.kind) {
      case 'anonymous':
        return this.policy?.allowsAnonymous ? 'allow' : 'challenge';
      case 'token':
        return identity.grants.catalog ? 'allow' : 'challenge';
      default:
        return 'allow';
    }
  }

  /** Every repository, present and future, is open to it for pull. */
  pullsEverything(identity: Identity): boolean {
    return this.isAdmin(identity);
  }

  /**
   * Registry-wide operations (a GC started from the UI): the policy's admins, or every
   * htpasswd user without a policy. Robots and tokens never: their rights are per
   * repository.
   */
  isAdmin(identity: Identity): boolean {
    if (identity.kind !== 'user') return false;
    return this.policy ? this.policy.isAdmin(identity.name) : true;
  }

  /** GET /v2/: any valid credential (a token without scopes too); none gets the challenge. */
  decideBase(identity: Identity): Decision {
    return identity.kind === 'anonymous' ? 'challenge' : 'allow';
  }
}
