// docker's token scopes (`repository:library/nginx:pull,push`, `registry:catalog:*`) and
// the `access` claim of a token, which lists what was granted in the same terms.
import { isValidRepositoryName } from '../../oci/names.js';
import { ALL_ACTIONS, NO_ACTIONS, actionSet, hasAction, type Action, type ActionSet } from '../access/actions.js';
import type { TokenGrants } from '../access/identity.js';

export type Scope =
  | { readonly type: 'repository'; readonly name: string; readonly actions: ActionSet }
  | { readonly type: 'catalog' };

/** A token action to the actions it stands for. `push` carries `overwrite`: registry:2 tokens know no such split, and a policy narrows it. */
function tokenAction(action: string): ActionSet {
  switch (action) {
    case 'pull':
      return actionSet(['pull']);
    case 'push':
      return actionSet(['push', 'overwrite']);
    case 'delete':
      return actionSet(['delete']);
    case '*':
      return ALL_ACTIONS;
    default:
      return NO_ACTIONS;
  }
}

export function tokenActions(actions: readonly string[]): ActionSet {
  return actions.reduce((set, action) => set | tokenAction(action), NO_ACTIONS);
}

/** The action names a token lists for a set (overwrite travels with push). */
export function tokenActionNames(set: ActionSet): string[] {
  return (['pull', 'push', 'delete'] as const satisfies readonly Action[]).filter((action) => hasAction(set, action));
}

/**
 * One scope string; undefined for anything else (other resource types, bad names):
 * a token server grants nothing for what it does not understand.
 */
export function parseScope(text: string): Scope | undefined {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  // `repository(plugin)` is a class of repository; the class does not change rights.
  const type = text.slice(0, first).replace(/\([a-z0-9]+\)$/, '');
  const name = text.slice(first + 1, last);
  const actions = text.slice(last + 1).split(',').filter((action) => action !== '');
  if (type === 'registry' && name === 'catalog' && actions.includes('*')) return { type: 'catalog' };
  if (type !== 'repository' || !isValidRepositoryName(name)) return undefined;
  return { type: 'repository', name, actions: tokenActions(actions) };
}

/** Every `scope` parameter (each may hold several, separated by spaces). */
export function parseScopes(values: readonly string[]): Scope[] {
  return values.flatMap((value) => value.split(' ')).filter((part) => part !== '').map(parseScope).filter((scope): scope is Scope => scope !== undefined);
}

export interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** The grants of a verified token's `access` claim. */
export function grantsOf(access: readonly AccessEntry[]): TokenGrants {
  const repositories = new Map<string, ActionSet>();
  let catalog = false;
  for (const entry of access) {
    if (entry.type === 'registry' && entry.name === 'catalog' && entry.actions.includes('*')) catalog = true;
    else if (entry.type === 'repository' && isValidRepositoryName(entry.name)) {
      repositories.set(entry.name, (repositories.get(entry.name) ?? NO_ACTIONS) | tokenActions(entry.actions));
    }
  }
  return { repositories, catalog };
}

/** The scope a challenge asks for, for one repository action. */
export function challengeScope(repository: string, action: Action): string {
  const actions = action === 'pull' ? 'pull' : action === 'delete' ? 'delete' : 'pull,push';
  return `repository:${repository}:${actions}`;
}

export const CATALOG_SCOPE = 'registry:catalog:*';
