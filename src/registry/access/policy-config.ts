// The `accessControl` block of the registry config (Berth's file and a registry:2
// config.yml alike), checked strictly: a policy decides who gets in, so a typo (an
// unknown action, a group no one defined, a key Berth does not know) stops the start
// instead of quietly granting or refusing something else.
import { z } from 'zod';
import { ACTIONS, actionSet } from './actions.js';
import { compileGlob } from './glob.js';
import type { PolicyDefinition, PolicyEntry } from './policy.js';

const actions = z.array(z.enum(ACTIONS, { error: (issue) => `unknown action ${JSON.stringify(issue.input)} (use ${ACTIONS.join(', ')})` }));
const names = z.array(z.string().min(1));

const ruleSchema = z.object({ users: names.optional(), groups: names.optional(), actions }).strict();

const entrySchema = z
  .object({
    anonymous: actions.optional(),
    authenticated: actions.optional(),
    rules: z.array(ruleSchema).optional(),
  })
  .strict();

export const accessControlSchema = z
  .object({
    groups: z.record(z.string().min(1), names).optional(),
    admins: z.object({ users: names.optional(), groups: names.optional() }).strict().optional(),
    repositories: z.record(z.string(), entrySchema.nullable()),
  })
  .strict();

export type AccessControlDocument = z.infer<typeof accessControlSchema>;

export type PolicyResult = { readonly ok: true; readonly policy: PolicyDefinition } | { readonly ok: false; readonly reason: string };

/** Turns a parsed accessControl block into a policy; the reason names the key at fault. */
export function buildPolicy(document: AccessControlDocument, where = 'accessControl'): PolicyResult {
  const groups = document.groups ?? {};
  const unknownGroup = (list: readonly string[] | undefined): string | undefined => list?.find((group) => !Object.hasOwn(groups, group));
  const adminGroup = unknownGroup(document.admins?.groups);
  if (adminGroup !== undefined) return { ok: false, reason: `${where}.admins.groups: no group ${JSON.stringify(adminGroup)} in ${where}.groups` };
  const entries: PolicyEntry[] = [];
  for (const [pattern, entry] of Object.entries(document.repositories)) {
    const compiled = compileGlob(pattern);
    if (!compiled.ok) return { ok: false, reason: `${where}.repositories: ${compiled.reason}` };
    const rules = [];
    for (const [index, rule] of (entry?.rules ?? []).entries()) {
      const missing = unknownGroup(rule.groups);
      if (missing !== undefined) return { ok: false, reason: `${where}.repositories.${pattern}.rules[${index}].groups: no group ${JSON.stringify(missing)} in ${where}.groups` };
      if ((rule.users ?? []).length === 0 && (rule.groups ?? []).length === 0) {
        return { ok: false, reason: `${where}.repositories.${pattern}.rules[${index}]: a rule needs users or groups` };
      }
      rules.push({ users: rule.users ?? [], groups: rule.groups ?? [], actions: actionSet(rule.actions) });
    }
    entries.push({
      glob: compiled.glob,
      anonymous: actionSet(entry?.anonymous ?? []),
      authenticated: actionSet(entry?.authenticated ?? []),
      rules,
    });
  }
  return { ok: true, policy: { groups, admins: { users: document.admins?.users ?? [], groups: document.admins?.groups ?? [] }, entries } };
}
