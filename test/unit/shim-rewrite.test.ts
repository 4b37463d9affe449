// The rewrite decision with a scripted prober: first match in priority order wins;
// only an all-404 answer is cached as absent; errors are never cached as absent; an
// open breaker skips its registry; a match behind a failing better registry is cached
// only briefly; concurrent decisions share one probe round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Candidate } from '../../src/shim/candidates.js';
import { parseShimConfig, type ShimConfig } from '../../src/shim/config.js';
import { ShimMetrics } from '../../src/shim/metrics.js';
import type { CandidateProber, ProbeOutcome, ProbeResult } from '../../src/shim/probe.js';
import { Rewriter } from '../../src/shim/rewrite.js';

const DIGEST = `sha256:${'e'.repeat(64)}`;
const silent = pino({ level: 'silent' });

class ScriptedProber implements CandidateProber {
  readonly calls: string[] = [];
  constructor(public answer: (candidate: Candidate) => ProbeOutcome | Promise<ProbeOutcome>) {}
  async probe(candidate: Candidate): Promise<ProbeResult> {
    this.calls.push(candidate.reference);
    return { outcome: await this.answer(candidate), durationMs: 1 };
  }
}

function config(extra = '', cacheSize = 1024): ShimConfig {
  const parsed = parseShimConfig(`
address: http://private:5000
registries:
  - address: https://second.example
    priority: 100
cache:
  negativeTTL: 100ms
  imageCacheSize: ${cacheSize}
breaker:
  failureThreshold: 2
  resetTimeout: 150ms
${extra}`);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.config;
}

const ERROR: ProbeOutcome = { kind: 'error', message: 'connect ECONNREFUSED', unreachable: true };

function setup(answer: (candidate: Candidate) => ProbeOutcome | Promise<ProbeOutcome>, extra = '', cacheSize = 1024): { rewriter: Rewriter; prober: ScriptedProber; metrics: ShimMetrics } {
  const prober = new ScriptedProber(answer);
  const metrics = new ShimMetrics();
  return { rewriter: new Rewriter(config(extra, cacheSize), prober, metrics, silent), prober, metrics };
}

test('the first registry (by priority) that has the image wins, and the answer is cached', async () => {
  const { rewriter, prober } = setup((c) => (c.target.host === 'second.example' ? { kind: 'present', digest: DIGEST } : { kind: 'absent' }));
  const first = await rewriter.resolve('nginx:1.25');
  assert.equal(first.rewritten, true);
  assert.equal(first.result, 'second.example/library/nginx:1.25');
  assert.equal(first.reason, 'present');
  assert.equal(first.cache, 'miss');
  assert.deepEqual(prober.calls, ['private:5000/library/nginx:1.25', 'second.example/library/nginx:1.25']);
  const again = await rewriter.resolve('docker.io/library/nginx:1.25');
  assert.equal(again.result, 'second.example/library/nginx:1.25');
  assert.equal(again.cache, 'hit', 'same normalised reference, same cache entry');
  assert.deepEqual(prober.calls.slice(2), ['second.example/library/nginx:1.25'], 'only the cached winner is asked again, not the search');
});

test('a cached match whose registry lost the image or stopped answering is decided afresh', async () => {
  let answer: ProbeOutcome = { kind: 'present', digest: DIGEST };
  const { rewriter, prober } = setup((c) => (c.target.host === 'private:5000' ? answer : { kind: 'present', digest: DIGEST }));
  assert.equal((await rewriter.resolve('app')).result, 'private:5000/library/app:latest');
  answer = { kind: 'absent' };
  const gone = await rewriter.resolve('app');
  assert.equal(gone.result, 'second.example/library/app:latest');
  assert.deepEqual(gone.probes.map((p) => `${p.registry}:${p.outcome}`), ['private:5000:absent', 'second.example:present'], 'the re-check counts; private is not asked twice');
  answer = { kind: 'present', digest: DIGEST };
  assert.equal((await rewriter.resolve('other')).result, 'private:5000/library/other:latest');
  answer = ERROR;
  const calls = prober.calls.length;
  const down = await rewriter.resolve('other');
  assert.equal(down.result, 'second.example/library/other:latest', 'a dead registry costs one bounded probe, not a pull from it');
  assert.deepEqual(down.probes.map((p) => `${p.registry}:${p.outcome}`), ['private:5000:error', 'second.example:present']);
  assert.equal(prober.calls.length, calls + 2);
});

test('a pull failure that says the registry was unreachable counts against its breaker', async () => {
  const { rewriter } = setup(() => ({ kind: 'present', digest: DIGEST }));
  const target = config().registries[0]!;
  rewriter.reportPullFailure(target, 'failed to copy: httpReadSeeker: failed open: unexpected status code 404 Not Found');
  rewriter.reportPullFailure(target, 'failed to resolve reference: dial tcp 127.0.0.1:5000: connect: connection refused');
  rewriter.reportPullFailure(target, 'failed to do request: Head "http://private:5000/v2/": dial tcp: i/o timeout');
  const result = await rewriter.resolve('nginx');
  assert.equal(result.probes[0]!.outcome, 'breaker-open', 'two unreachable failures (threshold 2) opened it; the 404 did not count');
});

test('absent everywhere (definite 404s) is cached, briefly', async () => {
  const { rewriter, prober } = setup(() => ({ kind: 'absent' }));
  const first = await rewriter.resolve('nginx');
  assert.equal(first.rewritten, false);
  assert.equal(first.result, 'nginx', 'the caller gets its own string back, not the normalised one');
  assert.equal(first.reason, 'absent');
  assert.equal((await rewriter.resolve('nginx')).reason, 'cached-absent');
  assert.equal(prober.calls.length, 2);
  await sleep(130);
  await rewriter.resolve('nginx');
  assert.equal(prober.calls.length, 4, 'the negative entry expired after negativeTTL');
});

test('a failure is never cached as absent', async () => {
  const { rewriter, prober } = setup((c) => (c.target.host === 'private:5000' ? ERROR : { kind: 'absent' }));
  const first = await rewriter.resolve('nginx');
  assert.equal(first.reason, 'unavailable');
  assert.equal(first.probes[0]!.outcome, 'error');
  await rewriter.resolve('nginx');
  assert.equal(prober.calls.length, 4, 'probed again: nothing cached');
});

test('a mismatching digest is not a match and not a definite absence', async () => {
  const { rewriter, prober } = setup(() => ({ kind: 'mismatch', digest: DIGEST }));
  const result = await rewriter.resolve(`nginx@sha256:${'0'.repeat(64)}`);
  assert.equal(result.rewritten, false);
  assert.equal(result.reason, 'unavailable');
  await rewriter.resolve(`nginx@sha256:${'0'.repeat(64)}`);
  assert.equal(prober.calls.length, 4);
});

test('the breaker opens after repeated failures, skips the registry, and lets a trial through after the reset time', async () => {
  let privateUp = false;
  const { rewriter, prober, metrics } = setup((c) => (c.target.host === 'private:5000' ? (privateUp ? { kind: 'present', digest: DIGEST } : ERROR) : { kind: 'absent' }));
  await rewriter.resolve('a');
  await rewriter.resolve('b');
  const skipped = await rewriter.resolve('c');
  assert.deepEqual(skipped.probes.map((p) => `${p.registry}:${p.outcome}`), ['private:5000:breaker-open', 'second.example:absent']);
  assert.ok(!prober.calls.includes('private:5000/library/c:latest'));
  const gauge = await metrics.breakerState.get();
  assert.equal(gauge.values.find((v) => v.labels.registry === 'private:5000')?.value, 1);
  privateUp = true;
  await sleep(170);
  const back = await rewriter.resolve('d');
  assert.equal(back.result, 'private:5000/library/d:latest');
  assert.equal((await metrics.breakerState.get()).values.find((v) => v.labels.registry === 'private:5000')?.value, 0);
});

test('a cached match is not used while its registry breaker is open', async () => {
  let privateUp = true;
  const { rewriter } = setup((c) => (c.target.host === 'private:5000' ? (privateUp ? { kind: 'present', digest: DIGEST } : ERROR) : { kind: 'absent' }));
  assert.equal((await rewriter.resolve('app')).rewritten, true);
  privateUp = false;
  await rewriter.resolve('x');
  await rewriter.resolve('y');
  const result = await rewriter.resolve('app');
  assert.equal(result.rewritten, false, 'the cached entry points at a registry known to be down');
});

test('a match found while a better registry failed is cached only for the negative TTL', async () => {
  let privateUp = false;
  const { rewriter } = setup((c) => (c.target.host === 'private:5000' ? (privateUp ? { kind: 'present', digest: DIGEST } : ERROR) : { kind: 'present', digest: DIGEST }));
  assert.equal((await rewriter.resolve('app')).result, 'second.example/library/app:latest');
  privateUp = true;
  assert.equal((await rewriter.resolve('app')).cache, 'hit');
  await sleep(130);
  assert.equal((await rewriter.resolve('app')).result, 'private:5000/library/app:latest', 'the better registry is asked again soon');
});

test('concurrent decisions for the same image share one probe round', async () => {
  const { rewriter, prober } = setup(async () => {
    await sleep(30);
    return { kind: 'present', digest: DIGEST };
  });
  const results = await Promise.all([rewriter.resolve('nginx'), rewriter.resolve('nginx:latest'), rewriter.resolve('docker.io/library/nginx')]);
  assert.ok(results.every((r) => r.result === 'private:5000/library/nginx:latest'));
  assert.equal(prober.calls.length, 1);
});

test('no probe for image IDs, direct references, sources no registry mirrors, or a disabled cache', async () => {
  const { rewriter, prober } = setup(() => ({ kind: 'present', digest: DIGEST }), 'mirrors: [docker.io]\n');
  assert.equal((await rewriter.resolve(DIGEST)).reason, 'image-id');
  const direct = await rewriter.resolve('private:5000/pause:3.9');
  assert.equal(direct.reason, 'direct');
  assert.equal(direct.target?.host, 'private:5000');
  assert.equal((await rewriter.resolve('NOT A REF')).reason, 'unparseable');
  assert.deepEqual((await rewriter.resolve('quay.io/x/y')).probes.map((p) => p.registry), ['second.example'], 'private only mirrors docker.io');
  const off = setup(() => ({ kind: 'absent' }), '', -1);
  assert.equal((await off.rewriter.resolve('nginx')).cache, 'off');
  await off.rewriter.resolve('nginx');
  assert.equal(off.prober.calls.length, 4);
  assert.ok(prober.calls.every((c) => !c.startsWith('private:5000/x')));
});
