// image-cri-shim.yaml: every legacy key with the defaults sealos' code applies, the
// Berth extensions, warnings for unknown keys, clear errors for bad values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SHIM_SOCKET, parseAuth, parseShimConfig, type ShimConfig } from '../../src/shim/config.js';

function ok(text: string): { config: ShimConfig; warnings: string[] } {
  const result = parseShimConfig(text);
  assert.ok(result.ok, result.ok ? '' : result.error);
  return { config: result.config, warnings: result.warnings };
}

function fails(text: string): string {
  const result = parseShimConfig(text);
  assert.equal(result.ok, false, `expected an error for:\n${text}`);
  return result.ok ? '' : result.error;
}

test('the template sealos ships parses, with the legacy defaults', () => {
  const { config, warnings } = ok(`
shim: /var/run/image-cri-shim.sock
cri: /run/containerd/containerd.sock
address: http://sealos.hub:5000
force: true
debug: false
timeout: 15m
auth: admin:passw0rd
`);
  assert.deepEqual(warnings, []);
  assert.equal(config.shimSocket, '/var/run/image-cri-shim.sock');
  assert.equal(config.criSocket, '/run/containerd/containerd.sock');
  assert.equal(config.force, true);
  assert.equal(config.timeoutMs, 15 * 60_000);
  assert.equal(config.reloadIntervalMs, 15_000, 'the code default (the docs say 30s)');
  assert.equal(config.cache.size, 1024);
  assert.equal(config.cache.ttlMs, 30 * 60_000);
  assert.equal(config.cache.negativeTtlMs, 30_000);
  assert.equal(config.cache.statsLogIntervalMs, 60_000);
  assert.equal(config.cache.disableStats, false);
  assert.equal(config.fallback, true);
  assert.equal(config.metricsAddr, undefined);
  assert.equal(config.probeTimeoutMs, 2000);
  assert.deepEqual(config.breaker, { failureThreshold: 3, resetTimeoutMs: 30_000 });
  assert.equal(config.registries.length, 1);
  const offline = config.registries[0]!;
  assert.equal(offline.kind, 'offline');
  assert.equal(offline.host, 'sealos.hub:5000');
  assert.equal(offline.plainHttp, true);
  assert.equal(offline.priority, 1000);
  assert.deepEqual(offline.auth, { username: 'admin', password: 'passw0rd' });
  assert.equal(offline.mirrors, undefined, 'the offline registry serves every source by default (legacy)');
  assert.equal(offline.prefixSourceRegistry, false);
});

test('defaults when keys are absent, and the legacy zero/negative normalisations', () => {
  const { config } = ok(`
address: sealos.hub:5000
timeout: 0
reloadInterval: 0s
offlinePriority: 0
cache:
  imageCacheSize: 0
  imageCacheTTL: 0
  statsLogInterval: 0
`);
  assert.equal(config.shimSocket, DEFAULT_SHIM_SOCKET);
  assert.equal(config.criSocket, undefined, 'auto-detect');
  assert.equal(config.force, false);
  assert.equal(config.debug, false);
  assert.equal(config.timeoutMs, 15 * 60_000);
  assert.equal(config.reloadIntervalMs, 15_000);
  assert.equal(config.registries[0]!.priority, 1000);
  assert.equal(config.cache.size, 1024, 'imageCacheSize 0 means the default, not off (the docs are wrong)');
  assert.equal(config.cache.ttlMs, 30 * 60_000);
  assert.equal(config.cache.statsLogIntervalMs, 60_000);
  assert.equal(config.registries[0]!.plainHttp, false, 'a bare non-loopback host is https');
  assert.equal(ok('address: http://a:1\ncache: {imageCacheSize: -1}').config.cache.size, 0, 'negative disables the cache');
});

test('auth splits on the first colon, so passwords may contain colons', () => {
  assert.deepEqual(parseAuth('admin:pa:ss:word'), { username: 'admin', password: 'pa:ss:word' });
  assert.deepEqual(parseAuth('admin:'), { username: 'admin', password: '' });
  assert.deepEqual(parseAuth('admin'), { username: 'admin', password: '' });
  assert.equal(parseAuth(''), undefined);
  assert.equal(parseAuth(undefined), undefined);
  const { config } = ok('address: http://sealos.hub:5000\nauth: "admin:a: b:c"\nregistries:\n  - address: https://r.example\n    auth: u:x:y\n');
  assert.deepEqual(config.registries[0]!.auth, { username: 'admin', password: 'a: b:c' });
  assert.deepEqual(config.registries[1]!.auth, { username: 'u', password: 'x:y' });
});

test('registries: priority order, offline first on a tie, then by name; later duplicates replace earlier ones', () => {
  const { config, warnings } = ok(`
address: http://sealos.hub:5000
registries:
  - address: https://b.example
  - address: https://a.example
  - address: https://high.example
    priority: 2000
  - address: https://tie.example
    priority: 1000
  - address: https://a.example
    auth: later:wins
  - address: ""
`);
  assert.deepEqual(
    config.registries.map((r) => `${r.id}=${r.priority}`),
    ['high.example=2000', 'sealos.hub:5000=1000', 'tie.example=1000', 'a.example=500', 'b.example=500'],
  );
  assert.deepEqual(config.registries.find((r) => r.id === 'a.example')?.auth, { username: 'later', password: 'wins' });
  assert.ok(warnings.some((w) => /registries\[4\].*replaces/.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => /registries\[5\] has no address/.test(w)), warnings.join('\n'));
});

test('priorities outside 0..10000 are clamped with a warning', () => {
  const { config, warnings } = ok('address: http://s:5000\nofflinePriority: 20000\nregistries:\n  - address: r.example\n    priority: -5\n');
  assert.equal(config.registries[0]!.priority, 10_000);
  assert.equal(config.registries[1]!.priority, 0);
  assert.equal(warnings.length, 2);
});

test('Berth extensions: path prefix, mirrors, prefixSourceRegistry, insecure, fallback, metrics, probe and breaker settings', () => {
  const { config } = ok(`
address: http://sealos.hub:5000
mirrors: [docker.io]
prefixSourceRegistry: true
fallback: false
metricsAddr: 127.0.0.1:9469
probeTimeout: 500ms
breaker:
  failureThreshold: 5
  resetTimeout: 10s
cache:
  negativeTTL: 5s
registries:
  - address: https://harbor.example/project/sub/
    mirrors: [index.docker.io, Registry.K8s.io, "https://quay.io"]
    prefixSourceRegistry: false
    insecure: true
    priority: 900
`);
  const [offline, harbor] = config.registries;
  assert.equal(offline!.prefixSourceRegistry, true);
  assert.deepEqual(offline!.mirrors, ['docker.io']);
  assert.equal(harbor!.host, 'harbor.example');
  assert.equal(harbor!.pathPrefix, 'project/sub');
  assert.equal(harbor!.id, 'harbor.example/project/sub');
  assert.equal(harbor!.endpoint, 'https://harbor.example');
  assert.deepEqual(harbor!.mirrors, ['docker.io', 'registry.k8s.io', 'quay.io']);
  assert.equal(harbor!.prefixSourceRegistry, false);
  assert.equal(harbor!.insecure, true);
  assert.equal(config.fallback, false);
  assert.equal(config.metricsAddr, '127.0.0.1:9469');
  assert.equal(config.probeTimeoutMs, 500);
  assert.deepEqual(config.breaker, { failureThreshold: 5, resetTimeoutMs: 10_000 });
  assert.equal(config.cache.negativeTtlMs, 5000);
});

test('unknown keys are ignored with a warning; legacy ones are named as such', () => {
  const { config, warnings } = ok(`
version: v1alpha2
image: /var/lib/image-cri-shim
sync: 0
address: http://sealos.hub:5000
colour: blue
cache:
  domainCacheTTL: 10m
  shade: dark
registries:
  - address: https://r.example
    weight: 3
`);
  assert.equal(config.registries.length, 2);
  assert.deepEqual(warnings.sort(), [
    'ignored legacy key cache.domainCacheTTL',
    'ignored legacy key image',
    'ignored legacy key sync',
    'ignored legacy key version',
    'ignored unknown key cache.shade',
    'ignored unknown key colour',
    'ignored unknown key registries[0].weight',
  ]);
});

test('empty values mean "not set", as in the Go original', () => {
  const { config } = ok('address: http://sealos.hub:5000\nauth:\ncri:\nregistries:\ncache:\n');
  assert.equal(config.registries[0]!.auth, undefined);
  assert.equal(config.criSocket, undefined);
});

test('bad files are refused with a reason', () => {
  assert.match(fails(''), /address is empty/);
  assert.match(fails('force: true'), /address is empty/);
  assert.match(fails('address: [unclosed'), /not valid YAML/);
  assert.match(fails('- a\n- b'), /mapping/);
  assert.match(fails('address: http://s:5000\nforce: "yes"'), /force/);
  assert.match(fails('address: http://s:5000\ntimeout: soon'), /timeout: not a duration/);
  assert.match(fails('address: ftp://s:5000'), /unsupported scheme/);
  assert.match(fails('address: https://harbor.example/Bad_Path'), /path prefix/);
  assert.match(fails('address: http://s:5000\nmirrors: ["docker.io/library"]'), /mirrors\[0\]/);
  assert.match(fails('address: http://s:5000\nbreaker: {failureThreshold: 0}'), /breaker.failureThreshold/);
  assert.match(fails('address: http://s:5000\nregistries: {address: x}'), /registries/);
});
