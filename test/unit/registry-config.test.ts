// Registry configuration: Berth keys, registry:2's config.yml keys, durations, addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { parseListenAddress, readRegistryConfigDocument } from '../../src/registry/config.js';
import { formatDuration, parseDuration } from '../../src/util/duration.js';

test('reads a registry:2 config.yml as sealos ships it', () => {
  const document = parse(`
version: 0.1
log:
  level: info
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
  debug:
    addr: :5001
auth:
  htpasswd:
    realm: Registry Realm
    path: /etc/registry/registry_htpasswd
`);
  const result = readRegistryConfigDocument(document);
  assert.ok(result.ok);
  assert.deepEqual(result.values, {
    addr: '0.0.0.0:5000',
    dataDir: '/var/lib/registry',
    deleteEnabled: true,
    htpasswd: '/etc/registry/registry_htpasswd',
    realm: 'Registry Realm',
    logLevel: 'info',
    headers: { 'X-Content-Type-Options': 'nosniff' },
  });
  assert.deepEqual(result.warnings, ['config key storage.cache (Berth keeps its own in-memory caches) has no effect in Berth']);
});

test('reads Berth keys and refuses unknown ones', () => {
  const good = readRegistryConfigDocument({ addr: '127.0.0.1:5001', uploadPurgeAge: '2h', allowSparseManifests: true });
  assert.ok(good.ok);
  assert.equal(good.values.uploadPurgeAgeMs, 7_200_000);
  const typo = readRegistryConfigDocument({ adr: '127.0.0.1:5001' });
  assert.ok(!typo.ok && /adr|unrecognized/i.test(typo.reason));
  const badDuration = readRegistryConfigDocument({ uploadPurgeAge: 'soon' });
  assert.ok(!badDuration.ok && /not a duration/.test(badDuration.reason));
});

test('durations in Go syntax', () => {
  assert.equal(parseDuration('15m'), 900_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('30'), 30_000);
  assert.equal(parseDuration(2), 2000);
  assert.equal(parseDuration('1x'), undefined);
  assert.equal(parseDuration(''), undefined);
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatDuration(3_600_000), '1h');
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
  assert.deepEqual(parseListenAddress(':5000'), { host: '0.0.0.0', port: 5000 });
  assert.deepEqual(parseListenAddress('[::1]:5000'), { host: '::1', port: 5000 });
  assert.equal(parseListenAddress('5000'), undefined);
  assert.equal(parseListenAddress('host:70000'), undefined);
});

test('the ui key: on by default; its settings are read, and unknown ones refused', () => {
  const defaults = readRegistryConfigDocument({ addr: '127.0.0.1:5001' });
  assert.ok(defaults.ok);
  assert.equal(defaults.values.ui, undefined, 'absent: the defaults (enabled) apply');
  const set = readRegistryConfigDocument({ ui: { enabled: false, readOnlyUsers: ['viewer'], sessionTtl: '30m', gcGrace: '0s' } });
  assert.ok(set.ok);
  assert.deepEqual(set.values.ui, { enabled: false, readOnlyUsers: ['viewer'], sessionTtlMs: 1_800_000, gcGraceMs: 0 });
  const partial = readRegistryConfigDocument({ ui: { readOnlyUsers: ['viewer'] } });
  assert.ok(partial.ok && partial.values.ui?.enabled === true && partial.values.ui.gcGraceMs === 600_000);
  const typo = readRegistryConfigDocument({ ui: { enable: true } });
  assert.ok(!typo.ok && /enable|unrecognized/i.test(typo.reason));
  const endless = readRegistryConfigDocument({ ui: { sessionTtl: '0s' } });
  assert.ok(!endless.ok && /ui\.sessionTtl: a session must last longer than 0/.test(endless.reason));
});
