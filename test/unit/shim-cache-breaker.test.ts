// The rewrite cache (LRU + TTL, short negative entries, disabled by size 0) and the
// per-registry circuit breaker (closed → open → half-open with one trial).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreaker, type BreakerState } from '../../src/util/breaker.js';
import { RewriteCache } from '../../src/shim/cache.js';

const SETTINGS = { size: 2, ttlMs: 200, negativeTtlMs: 50, statsLogIntervalMs: 60_000, disableStats: false };
const PRESENT = [{ targetId: 'r', reference: 'r/library/nginx:1', digest: `sha256:${'a'.repeat(64)}` }];

test('cache: present entries live for the TTL, absent entries for the short negative TTL', async () => {
  const cache = new RewriteCache(SETTINGS);
  cache.setPresent('a', PRESENT);
  cache.setAbsent('b');
  assert.equal(cache.get('a')?.kind, 'present');
  assert.equal(cache.get('b')?.kind, 'absent');
  await sleep(80);
  assert.equal(cache.get('b'), undefined, 'negative entry expired');
  assert.equal(cache.get('a')?.kind, 'present');
  await sleep(150);
  assert.equal(cache.get('a'), undefined, 'positive entry expired');
  assert.deepEqual(cache.stats(), { entries: 0, hits: 3, misses: 2, enabled: true });
});

test('cache: a plan keeps its order; an empty plan is not an entry', () => {
  const cache = new RewriteCache(SETTINGS);
  const plan = [PRESENT[0]!, { targetId: 'r2', reference: 'r2/library/nginx:1', digest: PRESENT[0]!.digest }];
  cache.setPresent('a', plan);
  assert.deepEqual(cache.presentEntry('a'), { kind: 'present', plan });
  cache.setPresent('b', []);
  assert.equal(cache.get('b'), undefined);
});

test('cache: a shortened TTL for a plan made while some registry could not be asked', async () => {
  const cache = new RewriteCache(SETTINGS);
  cache.setPresent('a', PRESENT, 30);
  await sleep(60);
  assert.equal(cache.get('a'), undefined);
});

test('cache: LRU eviction, delete, clear; size 0 disables it', () => {
  const cache = new RewriteCache(SETTINGS);
  cache.setPresent('a', PRESENT);
  cache.setPresent('b', PRESENT);
  cache.get('a');
  cache.setPresent('c', PRESENT);
  assert.equal(cache.get('b'), undefined, 'least recently used went first');
  assert.ok(cache.get('a'));
  cache.delete('a');
  assert.equal(cache.get('a'), undefined);
  cache.clear();
  assert.equal(cache.get('c'), undefined);
  const off = new RewriteCache({ ...SETTINGS, size: 0 });
  off.setPresent('a', PRESENT);
  off.setAbsent('b');
  assert.equal(off.get('a'), undefined);
  assert.equal(off.enabled, false);
  assert.deepEqual(off.stats(), { entries: 0, hits: 0, misses: 0, enabled: false });
});

test('breaker: opens after the threshold, lets one trial through after the reset time, closes on success', () => {
  let now = 0;
  const changes: BreakerState[] = [];
  const breaker = new CircuitBreaker({ failureThreshold: 3, resetTimeoutMs: 1000 }, (s) => changes.push(s), () => now);
  assert.equal(breaker.state, 'closed');
  breaker.failure();
  breaker.failure();
  assert.ok(breaker.tryAcquire(), 'still closed below the threshold');
  breaker.success();
  breaker.failure();
  breaker.failure();
  assert.equal(breaker.state, 'closed', 'a success resets the count');
  breaker.failure();
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.tryAcquire(), false);
  now = 999;
  assert.equal(breaker.tryAcquire(), false);
  now = 1000;
  assert.equal(breaker.state, 'half-open');
  assert.equal(breaker.tryAcquire(), true, 'one trial');
  assert.equal(breaker.tryAcquire(), false, 'only one trial at a time');
  breaker.success();
  assert.equal(breaker.state, 'closed');
  assert.deepEqual(changes, ['open', 'half-open', 'closed']);
});

test('breaker: a failed trial opens it again for a full period; a lost trial does not block forever', () => {
  let now = 0;
  const breaker = new CircuitBreaker({ failureThreshold: 1, resetTimeoutMs: 100 }, undefined, () => now);
  breaker.failure();
  now = 100;
  assert.ok(breaker.tryAcquire());
  breaker.failure();
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.retryAt(), 200);
  now = 200;
  assert.ok(breaker.tryAcquire(), 'trial');
  now = 250;
  assert.equal(breaker.tryAcquire(), false);
  now = 300;
  assert.ok(breaker.tryAcquire(), 'the first trial never reported back: another one may go');
});
