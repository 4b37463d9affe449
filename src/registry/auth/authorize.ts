// The one question every rights check asks: may this user do this to this repository?
// Today's rule is that every authenticated user may do everything (as registry:2 with
// htpasswd). The access-control policy (per-repository rules, robot accounts) plugs in
// here as another Authorize; callers never decide on their own.

/** `gc` is registry-wide: it is asked with repository `null`. */
export type Action = 'pull' | 'push' | 'delete' | 'gc';

export type Authorize = (user: string, repository: string | null, action: Action) => boolean;

/** Every authenticated user may do everything. */
export const everyoneMayAct: Authorize = () => true;

/**
 * A stand-in policy until access control exists: the listed users may only read
 * (pull); everyone else is governed by `base`.
 */
export function withReadOnlyUsers(users: readonly string[], base: Authorize = everyoneMayAct): Authorize {
  const readOnly = new Set(users);
  if (readOnly.size === 0) return base;
  return (user, repository, action) => (readOnly.has(user) ? action === 'pull' && base(user, repository, action) : base(user, repository, action));
}
