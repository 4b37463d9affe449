// Routing and pagination: names that fail the grammar never reach storage, and pages
// always concatenate to the whole sorted list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidRepositoryName } from '../../src/oci/names.js';
import { route } from '../../src/registry/router.js';
import { paginate } from '../../src/storage/repository-catalog.js';

test('routes every endpoint', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(route('/v2/'), { ok: true, endpoint: { kind: 'base' } });
  assert.deepEqual(route('/v2/_catalog'), { ok: true, endpoint: { kind: 'catalog' } });
  assert.deepEqual(route('/v2/a/b/tags/list'), { ok: true, endpoint: { kind: 'tags', name: 'a/b' } });
  assert.deepEqual(route('/v2/a/manifests/v1'), { ok: true, endpoint: { kind: 'manifest', name: 'a', reference: 'v1' } });
  assert.deepEqual(route(`/v2/a/blobs/${digest}`), { ok: true, endpoint: { kind: 'blob', name: 'a', digest } });
  assert.deepEqual(route('/v2/a/blobs/uploads/'), { ok: true, endpoint: { kind: 'upload-start', name: 'a' } });
  assert.deepEqual(route('/v2/a/blobs/uploads/x-y'), { ok: true, endpoint: { kind: 'upload', name: 'a', id: 'x-y' } });
  assert.deepEqual(route(`/v2/a/referrers/${digest}`), { ok: true, endpoint: { kind: 'referrers', name: 'a', digest } });
  assert.deepEqual(route('/v2/../etc/manifests/x'), { ok: false, reason: 'name-invalid', name: '..' + '/etc' });
  assert.deepEqual(route('/v3/'), { ok: false, reason: 'not-found' });
});

test('property: a routed name is always a valid repository name', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom('a', 'B', '.', '/', '%', '2', 'e', '_', '-'), maxLength: 30 }),
      fc.constantFrom('/tags/list', '/manifests/x', '/blobs/uploads/', '/blobs/x', '/referrers/x'),
      (name, suffix) => {
        const result = route(`/v2/${name}${suffix}`);
        if (result.ok && 'name' in result.endpoint) assert.ok(isValidRepositoryName(result.endpoint.name));
      },
    ),
    { numRuns: 5000 },
  );
});

test('property: pages concatenate to the whole list, without repeats', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), (values, n) => {
      const sorted = [...values].sort();
      const seen: string[] = [];
      let last: string | undefined;
      for (let guard = 0; guard < 100; guard++) {
        const page = paginate(sorted, last, n);
        seen.push(...page.items);
        if (!page.more) break;
        last = page.items[page.items.length - 1];
      }
      assert.deepEqual(seen, sorted);
    }),
    { numRuns: 1000 },
  );
});
