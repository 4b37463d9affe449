// Docker-style reference normalisation, as kubelet and docker see image names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatReference, parseReference } from '../../src/oci/reference.js';

function parsed(text: string): string {
  const result = parseReference(text);
  assert.ok(result.ok, `${text}: ${result.ok ? '' : result.reason}`);
  return formatReference(result.reference);
}

test('normalises the Docker way', () => {
  assert.equal(parsed('nginx'), 'docker.io/library/nginx:latest');
  assert.equal(parsed('nginx:1.23.3'), 'docker.io/library/nginx:1.23.3');
  assert.equal(parsed('docker.io/library/nginx:1.23.3'), 'docker.io/library/nginx:1.23.3');
  assert.equal(parsed('index.docker.io/library/nginx'), 'docker.io/library/nginx:latest');
  assert.equal(parsed('registry-1.docker.io/bitnami/redis:7'), 'docker.io/bitnami/redis:7');
  assert.equal(parsed('bitnami/redis'), 'docker.io/bitnami/redis:latest');
  assert.equal(parsed('registry.k8s.io/pause:3.9'), 'registry.k8s.io/pause:3.9');
  assert.equal(parsed('sealos.hub:5000/library/nginx:1.23.3'), 'sealos.hub:5000/library/nginx:1.23.3');
  assert.equal(parsed('localhost/app'), 'localhost/app:latest');
  assert.equal(parsed('localhost:5000/app:v1'), 'localhost:5000/app:v1');
  assert.equal(parsed('[::1]:5000/app:v1'), '[::1]:5000/app:v1');
});

test('keeps digests and tag+digest pins', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  assert.equal(parsed(`nginx@${digest}`), `docker.io/library/nginx@${digest}`);
  assert.equal(parsed(`quay.io/a/b:1.25@${digest}`), `quay.io/a/b:1.25@${digest}`);
  const result = parseReference(`nginx@${digest}`);
  assert.ok(result.ok);
  assert.equal(result.reference.tag, undefined);
});

test('rejects malformed references with a reason', () => {
  for (const bad of ['', 'NGINX', 'nginx@sha256:short', 'nginx:bad/tag', 'a//b', 'docker.io/../x', 'nginx:']) {
    const result = parseReference(bad);
    assert.equal(result.ok, false, bad);
  }
});

test('property: parse(format(parse(x))) is stable and never throws', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (text) => {
      const first = parseReference(text);
      if (!first.ok) return;
      const again = parseReference(formatReference(first.reference));
      assert.ok(again.ok);
      assert.deepEqual(again.reference, first.reference);
    }),
    { numRuns: 5000 },
  );
});
