// Normalisation and candidate references: priority order, source-aware mirrors,
// path prefixes, prefixSourceRegistry, digests kept, image IDs left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidatesFor, directTarget, normalise } from '../../src/shim/candidates.js';
import { parseShimConfig, type ShimConfig } from '../../src/shim/config.js';

const DIGEST = `sha256:${'b'.repeat(64)}`;

function config(text: string): ShimConfig {
  const result = parseShimConfig(text);
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.config;
}

function refs(cfg: ShimConfig, image: string): string[] {
  const n = normalise(image);
  assert.ok(n.ok, image);
  return candidatesFor(n.reference, cfg.registries).candidates.map((c) => c.reference);
}

test('normalises the Docker way and leaves image IDs alone', () => {
  const cases: Array<[string, string]> = [
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.23.3', 'docker.io/library/nginx:1.23.3'],
    ['index.docker.io/library/nginx:1.23.3', 'docker.io/library/nginx:1.23.3'],
    [`nginx@${DIGEST}`, `docker.io/library/nginx@${DIGEST}`],
    [`nginx:1.25@${DIGEST}`, `docker.io/library/nginx:1.25@${DIGEST}`],
    ['registry.k8s.io/pause:3.9', 'registry.k8s.io/pause:3.9'],
    ['localhost/app', 'localhost/app:latest'],
  ];
  for (const [input, expected] of cases) {
    const n = normalise(input);
    assert.ok(n.ok, input);
    assert.equal(n.text, expected);
  }
  assert.deepEqual(normalise(DIGEST), { ok: false, reason: 'image-id' });
  assert.deepEqual(normalise('b'.repeat(64)), { ok: false, reason: 'image-id' });
  assert.equal(normalise('NGINX').ok, false);
});

test('legacy: the offline registry gets every image, source registry dropped from the path', () => {
  const cfg = config('address: http://sealos.hub:5000');
  assert.deepEqual(refs(cfg, 'nginx'), ['sealos.hub:5000/library/nginx:latest']);
  assert.deepEqual(refs(cfg, 'registry.k8s.io/pause:3.9'), ['sealos.hub:5000/pause:3.9']);
  assert.deepEqual(refs(cfg, 'localhost/app:1'), ['sealos.hub:5000/app:1'], 'localhost/... matches too (it never did in the old shim)');
});

test('digests stay pinned; tag and digest are both kept', () => {
  const cfg = config('address: http://sealos.hub:5000');
  assert.deepEqual(refs(cfg, `quay.io/a/b@${DIGEST}`), [`sealos.hub:5000/a/b@${DIGEST}`]);
  assert.deepEqual(refs(cfg, `nginx:1.25@${DIGEST}`), [`sealos.hub:5000/library/nginx:1.25@${DIGEST}`]);
  const n = normalise(`nginx:1.25@${DIGEST}`);
  assert.ok(n.ok);
  assert.equal(candidatesFor(n.reference, cfg.registries).candidates[0]!.manifestReference, DIGEST, 'the probe asks for the digest, not the tag');
});

test('candidates come in priority order; mirrors limit a registry to its source registries', () => {
  const cfg = config(`
address: http://sealos.hub:5000
registries:
  - address: https://hub-mirror.example
    mirrors: [docker.io]
    priority: 2000
  - address: https://k8s-mirror.example
    mirrors: [registry.k8s.io]
    priority: 1500
  - address: https://any.example
    priority: 10
`);
  assert.deepEqual(refs(cfg, 'nginx:1'), ['hub-mirror.example/library/nginx:1', 'sealos.hub:5000/library/nginx:1', 'any.example/library/nginx:1']);
  assert.deepEqual(refs(cfg, 'registry.k8s.io/pause:3.9'), ['k8s-mirror.example/pause:3.9', 'sealos.hub:5000/pause:3.9', 'any.example/pause:3.9']);
  const n = normalise('quay.io/x/y:1');
  assert.ok(n.ok);
  const { candidates, skipped } = candidatesFor(n.reference, cfg.registries);
  assert.deepEqual(candidates.map((c) => c.target.id), ['sealos.hub:5000', 'any.example']);
  assert.deepEqual(skipped.map((s) => `${s.target.id}:${s.reason}`), ['hub-mirror.example:not-a-mirror-of-source', 'k8s-mirror.example:not-a-mirror-of-source']);
});

test('prefixSourceRegistry keeps quay.io/x/y and docker.io/x/y apart; path prefixes are honoured', () => {
  const cfg = config(`
address: http://sealos.hub:5000
prefixSourceRegistry: true
registries:
  - address: https://harbor.example/project
    priority: 2000
    prefixSourceRegistry: false
`);
  assert.deepEqual(refs(cfg, 'docker.io/library/nginx:1.25'), ['harbor.example/project/library/nginx:1.25', 'sealos.hub:5000/docker.io/library/nginx:1.25']);
  assert.deepEqual(refs(cfg, 'quay.io/x/y:1'), ['harbor.example/project/x/y:1', 'sealos.hub:5000/quay.io/x/y:1']);
  assert.deepEqual(refs(cfg, 'docker.io/x/y:1'), ['harbor.example/project/x/y:1', 'sealos.hub:5000/docker.io/x/y:1']);
});

test('a reference that already names a configured registry is direct, not a candidate', () => {
  const cfg = config('address: http://sealos.hub:5000\nregistries:\n  - address: https://harbor.example/project\n');
  const at = (image: string): string | undefined => {
    const n = normalise(image);
    assert.ok(n.ok);
    return directTarget(n.reference, cfg.registries)?.id;
  };
  assert.equal(at('sealos.hub:5000/pause:3.9'), 'sealos.hub:5000');
  assert.equal(at('harbor.example/project/app:1'), 'harbor.example/project');
  assert.equal(at('harbor.example/other/app:1'), undefined);
  assert.equal(at('nginx'), undefined);
});
