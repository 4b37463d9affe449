// The rewrite decision with a scripted prober: the plan is every registry that has the
// image in priority order, then the original unless `fallback: false`; every registry is
// asked at once; only an all-404 answer is cached as absent; errors are never cached as
// absent; an open breaker skips its registry; a plan made while some registry failed is
// cached only briefly; a cached plan's first registry is asked again before use;
// concurrent decisions share one probe round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { Candidate } from '../../src/shim/candidates.js';
import { parseShimConfig, type ShimConfig } from '../../src/shim/config.js';
import { ShimMetrics } from '../../src/shim/metrics.js';
import type { CandidateProber, ProbeOutcome, ProbeResult } from '../../src/shim/probe.js';
import { Rewriter, stepReference, type Resolution } from '../../src/shim/rewrite.js';

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

const SECOND = `
registries:
  - address: https://second.example
    priority: 100`;

function config(extra = '', cacheSize = 1024, registries = SECOND): ShimConfig {
  const parsed = parseShimConfig(`
address: http://private:5000${registries}
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

/** The references a pull would try, in order. */
const plan = (resolution: Resolution): string[] => resolution.plan.map(stepReference);
/** The first of them: what the pull tries first. */
const first = (resolution: Resolution): string => stepReference(resolution.plan[0]!);
/** Whether the pull goes to a configured registry first. */
const rewritten = (resolution: Resolution): boolean => resolution.plan[0]!.kind === 'registry';

const ERROR: ProbeOutcome = { kind: 'error', message: 'connect ECONNREFUSED', unreachable: true };

function setup(answer: (candidate: Candidate) => ProbeOutcome | Promise<ProbeOutcome>, extra = '', cacheSize = 1024, registries = SECOND): { rewriter: Rewriter; prober: ScriptedProber; metrics: ShimMetrics } {
  const prober = new ScriptedProber(answer);
  const metrics = new ShimMetrics();
  return { rewriter: new Rewriter(config(extra, cacheSize, registries), prober, metrics, silent), prober, metrics };
}

test('the registries that have the image, by priority, then the original; the plan is cached', async () => {
  const { rewriter, prober } = setup((c) => (c.target.host === 'second.example' ? { kind: 'present', digest: DIGEST } : { kind: 'absent' }));
  const resolved = await rewriter.resolve('nginx:1.25');
  assert.equal(rewritten(resolved), true);
  assert.equal(first(resolved), 'second.example/library/nginx:1.25');
  assert.deepEqual(plan(resolved), ['second.example/library/nginx:1.25', 'nginx:1.25'], 'the original last, as the caller wrote it');
  assert.equal(resolved.reason, 'present');
  assert.equal(resolved.cache, 'miss');
  assert.deepEqual(prober.calls, ['private:5000/library/nginx:1.25', 'second.example/library/nginx:1.25']);
  const again = await rewriter.resolve('docker.io/library/nginx:1.25');
  assert.equal(first(again), 'second.example/library/nginx:1.25');
  assert.deepEqual(plan(again), ['second.example/library/nginx:1.25', 'docker.io/library/nginx:1.25']);
  assert.equal(again.cache, 'hit', 'same normalised reference, same cache entry');
  assert.deepEqual(prober.calls.slice(2), ['second.example/library/nginx:1.25'], 'only the cached winner is asked again, not the search');
});

test('every registry (or replica) that has the image is in the plan, in priority order; fallback: false leaves the original out', async () => {
  const replicas = `
registries:
  - address: http://replica-b:5000
    priority: 900
  - address: http://replica-c:5000
    priority: 800
  - address: https://second.example
    priority: 100`;
  const { rewriter, prober } = setup((c) => (c.target.host === 'second.example' ? { kind: 'absent' } : { kind: 'present', digest: DIGEST }), '', 1024, replicas);
  const resolved = await rewriter.resolve('nginx:1.25');
  assert.deepEqual(plan(resolved), ['private:5000/library/nginx:1.25', 'replica-b:5000/library/nginx:1.25', 'replica-c:5000/library/nginx:1.25', 'nginx:1.25']);
  assert.ok(resolved.plan.slice(0, 3).every((step) => step.kind === 'registry' && step.digest === DIGEST));
  assert.deepEqual(resolved.probes.map((p) => `${p.registry}:${p.outcome}`), ['private:5000:present', 'replica-b:5000:present', 'replica-c:5000:present', 'second.example:absent']);
  const cached = await rewriter.resolve('nginx:1.25');
  assert.equal(cached.reason, 'cached-present');
  assert.deepEqual(plan(cached), plan(resolved), 'the whole plan comes from the cache');
  assert.equal(prober.calls.length, 5, 'and only its first registry is asked again');

  const strict = setup((c) => (c.target.host === 'replica-c:5000' ? { kind: 'present', digest: DIGEST } : { kind: 'absent' }), 'fallback: false', 1024, replicas);
  assert.deepEqual(plan(await strict.rewriter.resolve('nginx:1.25')), ['replica-c:5000/library/nginx:1.25']);
  const nowhere = setup(() => ({ kind: 'absent' }), 'fallback: false', 1024, replicas);
  assert.deepEqual(plan(await nowhere.rewriter.resolve('nginx:1.25')), ['nginx:1.25'], 'no registry has it: the original, whatever fallback says');
});

test('every registry is asked at once: the second probe goes out before the first answers', async () => {
  const pending: Array<() => void> = [];
  const { rewriter, prober } = setup(
    (c) =>
      new Promise<ProbeOutcome>((resolve) => {
        pending.push(() => resolve(c.target.host === 'private:5000' ? { kind: 'present', digest: DIGEST } : { kind: 'absent' }));
      }),
  );
  const decided = rewriter.resolve('nginx');
  for (let i = 0; i < 50 && prober.calls.length < 2; i++) await sleep(1);
  assert.deepEqual(prober.calls, ['private:5000/library/nginx:latest', 'second.example/library/nginx:latest'], 'both probes are out');
  assert.equal(pending.length, 2, 'and neither has answered');
  for (const release of pending) release();
  assert.deepEqual(plan(await decided), ['private:5000/library/nginx:latest', 'nginx']);
});

test('a cached match whose registry lost the image or stopped answering is decided afresh', async () => {
  let answer: ProbeOutcome = { kind: 'present', digest: DIGEST };
  const { rewriter, prober } = setup((c) => (c.target.host === 'private:5000' ? answer : { kind: 'present', digest: DIGEST }));
  assert.equal(first(await rewriter.resolve('app')), 'private:5000/library/app:latest');
  answer = { kind: 'absent' };
  const gone = await rewriter.resolve('app');
  assert.equal(first(gone), 'second.example/library/app:latest');
  assert.deepEqual(gone.probes.map((p) => `${p.registry}:${p.outcome}`), ['private:5000:absent', 'second.example:present'], 'the re-check counts; private is not asked twice');
  answer = { kind: 'present', digest: DIGEST };
  assert.equal(first(await rewriter.resolve('other')), 'private:5000/library/other:latest');
  answer = ERROR;
  const calls = prober.calls.length;
  const down = await rewriter.resolve('other');
  assert.equal(first(down), 'second.example/library/other:latest', 'a dead registry costs one bounded probe, not a pull from it');
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
  const absent = await rewriter.resolve('nginx');
  assert.equal(rewritten(absent), false);
  assert.deepEqual(plan(absent), ['nginx'], 'the caller gets its own string back, not the normalised one');
  assert.equal(absent.reason, 'absent');
  assert.equal((await rewriter.resolve('nginx')).reason, 'cached-absent');
  assert.equal(prober.calls.length, 2);
  await sleep(130);
  await rewriter.resolve('nginx');
  assert.equal(prober.calls.length, 4, 'the negative entry expired after negativeTTL');
});

test('a failure is never cached as absent', async () => {
  const { rewriter, prober } = setup((c) => (c.target.host === 'private:5000' ? ERROR : { kind: 'absent' }));
  const failed = await rewriter.resolve('nginx');
  assert.equal(failed.reason, 'unavailable');
  assert.equal(failed.probes[0]!.outcome, 'error');
  await rewriter.resolve('nginx');
  assert.equal(prober.calls.length, 4, 'probed again: nothing cached');
});

test('a mismatching digest is not a match and not a definite absence', async () => {
  const { rewriter, prober } = setup(() => ({ kind: 'mismatch', digest: DIGEST }));
  const result = await rewriter.resolve(`nginx@sha256:${'0'.repeat(64)}`);
  assert.equal(rewritten(result), false);
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
  assert.equal(first(back), 'private:5000/library/d:latest');
  assert.equal((await metrics.breakerState.get()).values.find((v) => v.labels.registry === 'private:5000')?.value, 0);
});

test('a cached match is not used while its registry breaker is open', async () => {
  let privateUp = true;
  const { rewriter } = setup((c) => (c.target.host === 'private:5000' ? (privateUp ? { kind: 'present', digest: DIGEST } : ERROR) : { kind: 'absent' }));
  assert.equal(rewritten(await rewriter.resolve('app')), true);
  privateUp = false;
  await rewriter.resolve('x');
  await rewriter.resolve('y');
  const result = await rewriter.resolve('app');
  assert.equal(rewritten(result), false, 'the cached entry points at a registry known to be down');
});

test('a match found while a better registry failed is cached only for the negative TTL', async () => {
  let privateUp = false;
  const { rewriter } = setup((c) => (c.target.host === 'private:5000' ? (privateUp ? { kind: 'present', digest: DIGEST } : ERROR) : { kind: 'present', digest: DIGEST }));
  assert.equal(first(await rewriter.resolve('app')), 'second.example/library/app:latest');
  privateUp = true;
  assert.equal((await rewriter.resolve('app')).cache, 'hit');
  await sleep(130);
  assert.equal(first(await rewriter.resolve('app')), 'private:5000/library/app:latest', 'the better registry is asked again soon');
});

test('a plan made while a lower-priority registry failed is cached only for the negative TTL too (it may lack that registry)', async () => {
  let secondUp = false;
  const { rewriter } = setup((c) => (c.target.host === 'second.example' ? (secondUp ? { kind: 'present', digest: DIGEST } : ERROR) : { kind: 'present', digest: DIGEST }));
  assert.deepEqual(plan(await rewriter.resolve('app')), ['private:5000/library/app:latest', 'app']);
  secondUp = true;
  assert.equal((await rewriter.resolve('app')).cache, 'hit');
  await sleep(130);
  assert.deepEqual(plan(await rewriter.resolve('app')), ['private:5000/library/app:latest', 'second.example/library/app:latest', 'app'], 'the registry that is back joins the plan soon');
});

test('concurrent decisions for the same image share one probe round', async () => {
  const { rewriter, prober } = setup(async () => {
    await sleep(30);
    return { kind: 'present', digest: DIGEST };
  });
  const results = await Promise.all([rewriter.resolve('nginx'), rewriter.resolve('nginx:latest'), rewriter.resolve('docker.io/library/nginx')]);
  assert.ok(results.every((r) => first(r) === 'private:5000/library/nginx:latest'));
  assert.deepEqual(prober.calls, ['private:5000/library/nginx:latest', 'second.example/library/nginx:latest'], 'one round: each registry asked once');
});

test('no probe for image IDs, direct references, sources no registry mirrors, or a disabled cache', async () => {
  const { rewriter, prober } = setup(() => ({ kind: 'present', digest: DIGEST }), 'mirrors: [docker.io]\n');
  assert.equal((await rewriter.resolve(DIGEST)).reason, 'image-id');
  const direct = await rewriter.resolve('private:5000/pause:3.9');
  assert.equal(direct.reason, 'direct');
  assert.deepEqual(direct.plan, [{ kind: 'original', reference: 'private:5000/pause:3.9', target: config('mirrors: [docker.io]\n').registries[0] }]);
  assert.equal((await rewriter.resolve('NOT A REF')).reason, 'unparseable');
  assert.deepEqual((await rewriter.resolve('quay.io/x/y')).probes.map((p) => p.registry), ['second.example'], 'private only mirrors docker.io');
  const off = setup(() => ({ kind: 'absent' }), '', -1);
  assert.equal((await off.rewriter.resolve('nginx')).cache, 'off');
  await off.rewriter.resolve('nginx');
  assert.equal(off.prober.calls.length, 4);
  assert.ok(prober.calls.every((c) => !c.startsWith('private:5000/x')));
});
