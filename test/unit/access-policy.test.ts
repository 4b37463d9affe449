// The access policy's matcher, by property: globs match what a plain backtracking
// reference matcher says (so no glob reaches a repository it should not), the longest
// matching glob wins, a repository no glob matches is denied to everyone but admins, and
// a robot never goes beyond its bounds. Plus the config checks that stop a start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALL_ACTIONS, NO_ACTIONS, actionSet, hasAction } from '../../src/registry/access/actions.js';
import { AccessControl } from '../../src/registry/access/access-control.js';
import { GlobIndex, compareGlobs, compileGlob, type Glob } from '../../src/registry/access/glob.js';
import { AccessPolicy, type PolicyDefinition } from '../../src/registry/access/policy.js';
import { readRegistryConfigDocument } from '../../src/registry/config.js';
import { isValidRepositoryName } from '../../src/oci/names.js';

const RUNS = 400;

function glob(pattern: string): Glob {
  const compiled = compileGlob(pattern);
  assert.ok(compiled.ok, pattern);
  return compiled.glob;
}

/** The reference: `**` any run of characters, `*` any run without `/`, `?` one non-`/`, by backtracking. */
function referenceMatch(pattern: string, name: string): boolean {
  const at = (p: number, n: number): boolean => {
    if (p === pattern.length) return n === name.length;
    if (pattern.startsWith('**', p)) {
      for (let k = n; k <= name.length; k++) if (at(p + 2, k)) return true;
      return false;
    }
    if (pattern[p] === '*') {
      for (let k = n; k <= name.length && (k === n || name[k - 1] !== '/'); k++) if (at(p + 1, k)) return true;
      return false;
    }
    if (pattern[p] === '?') return n < name.length && name[n] !== '/' && at(p + 1, n + 1);
    return n < name.length && name[n] === pattern[p] && at(p + 1, n + 1);
  };
  return at(0, 0);
}

// Small alphabets so that random names and globs actually meet.
const component = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 1, maxLength: 3 });
const repository = fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const globPart = fc.oneof(component, fc.constantFrom('*', '**', '?', 'a*', '*b', 'a?'));
const globPattern = fc.array(globPart, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')).filter((p) => !/\*{3,}/.test(p));

test('globs match exactly what the reference matcher says', () => {
  fc.assert(
    fc.property(globPattern, repository, (pattern, name) => {
      assert.equal(glob(pattern).matches(name), referenceMatch(pattern, name), `${pattern} vs ${name}`);
    }),
    { numRuns: RUNS * 5 },
  );
});

test('no glob reaches past its literal prefix, * stays in one component, a literal matches only itself', () => {
  fc.assert(
    fc.property(repository, repository, (a, b) => {
      assert.equal(glob(a).matches(b), a === b);
      assert.equal(glob(`${a}/*`).matches(b), b.startsWith(`${a}/`) && !b.slice(a.length + 1).includes('/'));
      assert.equal(glob(`${a}/**`).matches(b), b.startsWith(`${a}/`));
      assert.ok(!glob(`${a}/**`).matches(a), `${a}/** does not hold ${a} itself`);
      assert.equal(glob('*').matches(b), !b.includes('/'));
      assert.ok(glob('**').matches(b));
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(globPattern, repository, (pattern, name) => {
      const compiled = glob(pattern);
      if (compiled.matches(name)) assert.ok(name.startsWith(compiled.prefix));
    }),
    { numRuns: RUNS },
  );
});

test('the glob index finds the longest matching glob, as trying every glob would', () => {
  fc.assert(
    fc.property(fc.uniqueArray(globPattern, { minLength: 1, maxLength: 30 }), repository, (patterns, name) => {
      const globs = patterns.map(glob);
      const index = new GlobIndex(globs.map((g) => ({ glob: g, value: g.pattern })));
      const matching = globs.filter((g) => g.matches(name)).sort(compareGlobs);
      assert.equal(index.find(name)?.value, matching[0]?.pattern);
      if (matching.length > 0) assert.ok(matching.every((g) => g.pattern.length <= matching[0]!.pattern.length), 'the winner is the longest');
    }),
    { numRuns: RUNS },
  );
});

const actionsArbitrary = fc.subarray(['pull', 'push', 'delete', 'overwrite'] as const).map((list) => actionSet(list));

test('policy: deny by default, the winning entry alone decides, admins may do everything', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.record({ pattern: globPattern, anonymous: actionsArbitrary, authenticated: actionsArbitrary, alice: actionsArbitrary }), { selector: (e) => e.pattern, maxLength: 12 }),
      repository,
      (entries, name) => {
        const definition: PolicyDefinition = {
          groups: { ops: ['root'], devs: ['alice'] },
          admins: { users: [], groups: ['ops'] },
          entries: entries.map((e) => ({ glob: glob(e.pattern), anonymous: e.anonymous, authenticated: e.authenticated, rules: [{ users: [], groups: ['devs'], actions: e.alice }] })),
        };
        const policy = new AccessPolicy(definition);
        const winner = [...entries].map((e) => ({ ...e, glob: glob(e.pattern) })).filter((e) => e.glob.matches(name)).sort((a, b) => compareGlobs(a.glob, b.glob))[0];
        assert.equal(policy.actions('root', name), ALL_ACTIONS, 'an admin (through a group) may do everything');
        if (!winner) {
          for (const principal of [undefined, 'alice', 'bob']) assert.equal(policy.actions(principal, name), NO_ACTIONS, `no glob holds ${name}: denied`);
          return;
        }
        assert.equal(policy.actions(undefined, name), winner.anonymous);
        assert.equal(policy.actions('bob', name), winner.anonymous | winner.authenticated);
        assert.equal(policy.actions('alice', name), winner.anonymous | winner.authenticated | winner.alice);
      },
    ),
    { numRuns: RUNS },
  );
});

test('a robot never goes beyond its bounds, with or without a policy', () => {
  fc.assert(
    fc.property(fc.array(globPattern, { minLength: 1, maxLength: 3 }), actionsArbitrary, repository, fc.boolean(), (patterns, bounded, name, withPolicy) => {
      const bounds = { repositories: patterns.map(glob), actions: bounded };
      const policy = withPolicy
        ? new AccessPolicy({ groups: {}, admins: { users: ['robot$x'], groups: [] }, entries: [] })
        : undefined;
      const control = new AccessControl(policy);
      const granted = control.actions({ kind: 'robot', name: 'robot$x', bounds, expiresAt: null }, name);
      const inBounds = patterns.some((p) => referenceMatch(p, name));
      assert.equal(granted, inBounds ? bounded : NO_ACTIONS);
    }),
    { numRuns: RUNS },
  );
});

test('longest match: a longer glob takes rights away that a shorter one gives', () => {
  const policy = new AccessPolicy({
    groups: {},
    admins: { users: [], groups: [] },
    entries: [
      { glob: glob('**'), anonymous: NO_ACTIONS, authenticated: actionSet(['pull']), rules: [] },
      { glob: glob('secret/**'), anonymous: NO_ACTIONS, authenticated: NO_ACTIONS, rules: [{ users: ['alice'], groups: [], actions: actionSet(['pull']) }] },
    ],
  });
  assert.ok(hasAction(policy.actions('bob', 'library/nginx'), 'pull'));
  assert.equal(policy.actions('bob', 'secret/db'), NO_ACTIONS);
  assert.ok(hasAction(policy.actions('alice', 'secret/db'), 'pull'));
  assert.ok(isValidRepositoryName('secret/db'));
});

test('config: accessControl and auth.token are read in both forms; mistakes stop the start with the key named', () => {
  const policy = {
    groups: { ops: ['alice'], nodes: ['robot$nodes'] },
    admins: { groups: ['ops'] },
    repositories: { '**': { anonymous: [], authenticated: ['pull'] }, 'library/**': { rules: [{ groups: ['nodes'], actions: ['pull', 'push'] }] } },
  };
  const berth = readRegistryConfigDocument({ accessControl: policy, token: { issue: true, expiration: '2m' } });
  assert.ok(berth.ok);
  assert.equal(berth.values.accessControl?.entries.length, 2);
  assert.deepEqual(berth.values.token, { mode: 'issue', realm: undefined, service: 'berth-registry', issuer: 'berth', lifetimeMs: 120_000, algorithm: 'ES256' });

  const registry2 = readRegistryConfigDocument({
    version: 0.1,
    accessControl: policy,
    auth: { token: { realm: 'https://auth.example/token', service: 'registry', issuer: 'auth', jwks: '/etc/registry/jwks.json' } },
  });
  assert.ok(registry2.ok, registry2.ok ? '' : registry2.reason);
  assert.equal(registry2.values.token?.mode, 'trust');
  assert.deepEqual(registry2.warnings, [], 'accessControl and auth.token are used, not ignored');

  const refusals: Array<[unknown, RegExp]> = [
    [{ accessControl: { repositories: { '**': { authenticated: ['read'] } } } }, /accessControl\.repositories\.\*\*\.authenticated\.0: unknown action "read"/],
    [{ accessControl: { repositories: { '**': { rules: [{ groups: ['ci'], actions: ['pull'] }] } } } }, /no group "ci"/],
    [{ accessControl: { repositories: { 'Library/**': {} } } }, /not a repository glob/],
    [{ accessControl: { repositories: {}, adminPolicy: {} } }, /accessControl: .*adminPolicy/i],
    [{ token: { realm: 'https://x/token' } }, /set issue: true/],
    [{ token: { issue: true, jwks: '/x' } }, /excludes rootCertBundle and jwks/],
    [{ version: 0.1, auth: { htpasswd: { path: '/x' }, token: { realm: 'https://a/t', service: 's', issuer: 'i', jwks: '/j' } } }, /not both/],
    [{ version: 0.1, auth: { token: { realm: 'https://a/t', service: 's', issuer: 'i' } } }, /rootcertbundle or jwks/],
    [{ version: 0.1, auth: { token: { realm: 'https://a/t', service: 's', issuer: 'i', jwks: '/j', refreshtoken: true } } }, /auth\.token\.refreshtoken: .*not implemented/],
  ];
  for (const [document, reason] of refusals) {
    const result = readRegistryConfigDocument(document);
    assert.equal(result.ok, false, JSON.stringify(document));
    if (!result.ok) assert.match(result.reason, reason);
  }
});
