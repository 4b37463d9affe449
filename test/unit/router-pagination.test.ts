// Routing and pagination: names that fail the grammar never reach storage, and pages
// always concatenate to the whole sorted list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidRepositoryName } from '../../src/oci/names.js';
import { allowedMethods, handlerFor, route } from '../../src/registry/router.js';
import { paginate } from '../../src/storage/repository-catalog.js';

/** The route's kind and parameters, or the failure. */
function routed(path: string): unknown {
  const result = route(path);
  return result.ok ? { kind: result.route.kind, ...result.route.params } : result;
}

test('routes every endpoint', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(routed('/v2/'), { kind: 'base' });
  assert.deepEqual(routed('/v2'), { kind: 'base' });
  assert.deepEqual(routed('/v2/_catalog'), { kind: 'catalog' });
  assert.deepEqual(routed('/v2/a/b/tags/list'), { kind: 'tags', name: 'a/b' });
  assert.deepEqual(routed('/v2/a/manifests/v1'), { kind: 'manifest', name: 'a', reference: 'v1' });
  assert.deepEqual(routed(`/v2/a/blobs/${digest}`), { kind: 'blob', name: 'a', digest });
  assert.deepEqual(routed('/v2/a/blobs/uploads/'), { kind: 'upload-start', name: 'a' });
  assert.deepEqual(routed('/v2/a/blobs/uploads/x-y'), { kind: 'upload', name: 'a', id: 'x-y' });
  assert.deepEqual(routed(`/v2/a/referrers/${digest}`), { kind: 'referrers', name: 'a', digest });
  assert.deepEqual(routed('/v2/../etc/manifests/x'), { ok: false, reason: 'name-invalid', name: '..' + '/etc' });
  assert.deepEqual(routed('/v3/'), { ok: false, reason: 'not-found' });
});

test('one table answers both what runs and what is allowed', () => {
  const manifest = route('/v2/a/manifests/v1');
  assert.ok(manifest.ok);
  assert.deepEqual(allowedMethods(manifest.route).sort(), ['DELETE', 'GET', 'HEAD', 'PUT']);
  assert.ok(handlerFor(manifest.route, 'GET'));
  assert.equal(handlerFor(manifest.route, 'POST'), undefined);
  // Inherited object keys are not methods.
  assert.equal(handlerFor(manifest.route, 'constructor'), undefined);
  const upload = route('/v2/a/blobs/uploads/');
  assert.ok(upload.ok);
  assert.deepEqual(allowedMethods(upload.route), ['POST']);
});

test('property: a routed name is always a valid repository name', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom('a', 'B', '.', '/', '%', '2', 'e', '_', '-'), maxLength: 30 }),
      fc.constantFrom('/tags/list', '/manifests/x', '/blobs/uploads/', '/blobs/x', '/referrers/x'),
      (name, suffix) => {
        const result = route(`/v2/${name}${suffix}`);
        if (result.ok && result.route.params.name !== undefined) assert.ok(isValidRepositoryName(result.route.params.name));
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
