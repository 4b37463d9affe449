// Digests, repository names and tags: the grammar that keeps every storage path safe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { digestOf, looksLikeDigest, parseDigest } from '../../src/oci/digest.js';
import { isValidRepositoryName, isValidTag, MAX_NAME_LENGTH } from '../../src/oci/names.js';

test('parseDigest accepts sha256 and sha512 of the right length only', () => {
  const sha256 = digestOf('hello');
  assert.equal(sha256.value, 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
  assert.deepEqual(parseDigest(sha256.value), sha256);
  assert.equal(parseDigest(digestOf('hello', 'sha512').value)?.algorithm, 'sha512');
  for (const bad of ['sha256:abc', 'md5:' + 'a'.repeat(32), 'sha256:' + 'A'.repeat(64), 'sha256:' + 'g'.repeat(64), 'sha256' + 'a'.repeat(64), ':', '']) {
    assert.equal(parseDigest(bad), undefined, bad);
  }
});

test('looksLikeDigest tells digests from tags', () => {
  assert.equal(looksLikeDigest('sha256:baddigeststring'), true);
  assert.equal(looksLikeDigest('latest'), false);
  assert.equal(looksLikeDigest('v1.2.3'), false);
});

test('repository names follow the distribution-spec grammar', () => {
  for (const good of ['library/nginx', 'a', 'a/b/c', 'my-app', 'my__app', 'a.b', 'sealos.hub/x', 'a--b']) assert.ok(isValidRepositoryName(good), good);
  for (const bad of ['', 'Library/nginx', '../etc', 'a/../b', 'a/./b', '.', '..', 'a/', '/a', 'a//b', 'a_', '-a', 'a%2e', 'a b', 'a\\b', 'a/.b', 'x'.repeat(MAX_NAME_LENGTH + 1)]) {
    assert.ok(!isValidRepositoryName(bad), bad);
  }
});

test('tags follow the grammar', () => {
  for (const good of ['latest', 'v1.0', '1', '_x', 'A-b.c_d', 'x'.repeat(128)]) assert.ok(isValidTag(good), good);
  for (const bad of ['', '.x', '-x', 'a/b', 'a:b', 'x'.repeat(129), 'a b']) assert.ok(!isValidTag(bad), bad);
});

test('property: a valid name never contains a dot segment, a backslash or a percent sign', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '.', '/', '_', '-', '%', '2', 'e', 'E', '\\'), maxLength: 40 }), (name) => {
      if (!isValidRepositoryName(name)) return;
      for (const segment of name.split('/')) {
        assert.ok(segment !== '' && segment !== '.' && segment !== '..');
        assert.ok(!segment.startsWith('.') && !segment.endsWith('.'));
      }
      assert.ok(!name.includes('%') && !name.includes('\\') && !/[A-Z]/.test(name));
    }),
    { numRuns: 5000 },
  );
});
