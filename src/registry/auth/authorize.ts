// The one question every UI rights check asks: may this signed-in account do this to this
// repository? The answer comes from the access-control policy (per-repository rules,
// robot bounds; see access/access-control.ts) through the composition root; callers
// never decide on their own.

/** `gc` is registry-wide: it is asked with repository `null`. */
export type Action = 'pull' | 'push' | 'delete' | 'gc';

/** What one account may do, decided once per request. */
export interface Rights {
  may(repository: string | null, action: Action): boolean;
}

/**
 * The rights of an account, looked up afresh for each request (a robot deleted or
 * expired meanwhile loses them); undefined when the account cannot act at all.
 */
export type RightsOf = (user: string) => Promise<Rights | undefined>;

/** Every action everywhere (no authentication: the anonymous session). */
export const ALL_RIGHTS: Rights = { may: () => true };

/** Every account may do everything (the registry without authentication). */
export const everyoneMayAct: RightsOf = () => Promise.resolve(ALL_RIGHTS);

/** `ui.readOnlyUsers`: the listed users may only read in the UI, whatever `base` grants them. */
export function withReadOnlyUsers(users: readonly string[], base: RightsOf = everyoneMayAct): RightsOf {
  const readOnly = new Set(users);
  if (readOnly.size === 0) return base;
  return async (user) => {
    const rights = await base(user);
    if (!rights || !readOnly.has(user)) return rights;
    return { may: (repository, action) => action === 'pull' && rights.may(repository, action) };
  };
}
