// The actions a caller may have on a repository, as a bit set: checks run on every
// request, so a set is one number and a check one AND.
//   pull      read manifests, blobs, tags and referrers
//   push      upload blobs, put manifests, create tags
//   delete    delete manifests, tags and blobs
//   overwrite move an existing tag to another manifest (not implied by push: tags can be
//             made immutable by granting push without it)

export const ACTIONS = ['pull', 'push', 'delete', 'overwrite'] as const;
export type Action = (typeof ACTIONS)[number];

const BIT: Record<Action, number> = { pull: 1, push: 2, delete: 4, overwrite: 8 };

/** A set of actions. */
export type ActionSet = number;

export const NO_ACTIONS: ActionSet = 0;
export const ALL_ACTIONS: ActionSet = 15;

export function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}

export function actionSet(actions: Iterable<Action>): ActionSet {
  let set = 0;
  for (const action of actions) set |= BIT[action];
  return set;
}

export function hasAction(set: ActionSet, action: Action): boolean {
  return (set & BIT[action]) !== 0;
}

export function actionNames(set: ActionSet): Action[] {
  return ACTIONS.filter((action) => hasAction(set, action));
}
