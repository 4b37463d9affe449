// The accessControl policy of the registry config (zot's model): groups of users,
// admins, and per-repository-glob entries; for a repository the longest matching glob
// decides, and a repository no glob matches is denied to everyone but admins. Pure: the
// config module parses the YAML into a PolicyDefinition.
import { LRUCache } from 'lru-cache';
import { ALL_ACTIONS, NO_ACTIONS, type ActionSet } from './actions.js';
import { GlobIndex, type Glob } from './glob.js';

export interface PolicyRule {
  readonly users: readonly string[];
  readonly groups: readonly string[];
  readonly actions: ActionSet;
}

export interface PolicyEntry {
  readonly glob: Glob;
  /** Callers without credentials. */
  readonly anonymous: ActionSet;
  /** Every authenticated caller (they also get what anonymous callers get). */
  readonly authenticated: ActionSet;
  readonly rules: readonly PolicyRule[];
}

export interface PolicyDefinition {
  /** Group name to its members. */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly admins: { readonly users: readonly string[]; readonly groups: readonly string[] };
  readonly entries: readonly PolicyEntry[];
}

/** Who asks: a user or robot name, or undefined for a caller without credentials. */
export type Principal = string | undefined;

/** What a caller may do on the repositories of one glob (for `registry status`). */
export interface GrantSummary {
  readonly repositories: string;
  readonly actions: ActionSet;
}

export class AccessPolicy {
  private readonly index: GlobIndex<PolicyEntry>;
  private readonly groupsOf = new Map<string, Set<string>>();
  private readonly admins: Set<string>;
  private readonly adminGroups: Set<string>;
  /** `principal \0 repository` → actions: a policy of a thousand globs costs one lookup per request. */
  private readonly cache = new LRUCache<string, { readonly actions: ActionSet }>({ max: 50_000 });

  constructor(readonly definition: PolicyDefinition) {
    this.index = new GlobIndex(definition.entries.map((entry) => ({ glob: entry.glob, value: entry })));
    for (const [group, members] of Object.entries(definition.groups)) {
      for (const member of members) {
        let groups = this.groupsOf.get(member);
        if (!groups) this.groupsOf.set(member, (groups = new Set()));
        groups.add(group);
      }
    }
    this.admins = new Set(definition.admins.users);
    this.adminGroups = new Set(definition.admins.groups);
  }

  isAdmin(principal: Principal): boolean {
    if (principal === undefined) return false;
    if (this.admins.has(principal)) return true;
    for (const group of this.groupsOf.get(principal) ?? []) if (this.adminGroups.has(group)) return true;
    return false;
  }

  private ruleApplies(rule: PolicyRule, principal: string): boolean {
    if (rule.users.includes(principal)) return true;
    const groups = this.groupsOf.get(principal);
    return groups !== undefined && rule.groups.some((group) => groups.has(group));
  }

  private entryActions(entry: PolicyEntry, principal: Principal): ActionSet {
    if (principal === undefined) return entry.anonymous;
    let actions = entry.anonymous | entry.authenticated;
    for (const rule of entry.rules) if (this.ruleApplies(rule, principal)) actions |= rule.actions;
    return actions;
  }

  /** What `principal` may do on `repository`. */
  actions(principal: Principal, repository: string): ActionSet {
    const key = `${principal ?? ''}\u0000${repository}`;
    const cached = this.cache.get(key);
    if (cached) return cached.actions;
    let actions: ActionSet = NO_ACTIONS;
    if (this.isAdmin(principal)) actions = ALL_ACTIONS;
    else {
      const entry = this.index.find(repository)?.value;
      if (entry) actions = this.entryActions(entry, principal);
    }
    this.cache.set(key, { actions });
    return actions;
  }

  /** True when callers without credentials may do something somewhere. */
  get allowsAnonymous(): boolean {
    return this.definition.entries.some((entry) => entry.anonymous !== NO_ACTIONS);
  }

  /**
   * Per glob, in the order they win, what `principal` may do on the repositories that
   * glob decides (none included: a longer glob may take rights away).
   */
  summary(principal: Principal): GrantSummary[] {
    if (this.isAdmin(principal)) return [{ repositories: '**', actions: ALL_ACTIONS }];
    return this.index.entries().map(({ glob, value }) => ({ repositories: glob.pattern, actions: this.entryActions(value, principal) }));
  }
}
