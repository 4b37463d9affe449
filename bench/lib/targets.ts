// The targets, checked against one run's medians. A target whose metrics were
// not measured is reported as such, never as met.
import type { Results } from './results.js';
import { median } from './stats.js';

export interface TargetResult {
  readonly id: string;
  readonly description: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
  /** The measured figure, in the target's own terms. */
  readonly measured: string;
}

function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return value.toFixed(0);
  return value.toFixed(digits);
}

function ratioAtMost(results: Results, id: string, limit: number, description: string): TargetResult {
  const metric = results.get(id);
  if (!metric || metric.subject.length === 0 || metric.baseline.length === 0) return { id, description, met: undefined, measured: 'not measured' };
  const ratio = results.ratio(id);
  return { id, description, met: ratio <= limit, measured: `${fmt(ratio, 3)}x` };
}

function ratioAtLeast(results: Results, id: string, limit: number, description: string): TargetResult {
  const metric = results.get(id);
  if (!metric || metric.subject.length === 0 || metric.baseline.length === 0) return { id, description, met: undefined, measured: 'not measured' };
  const ratio = results.ratio(id);
  return { id, description, met: ratio >= limit, measured: `${fmt(ratio, 2)}x` };
}

function subjectAtMost(results: Results, id: string, limit: number, unit: string, description: string): TargetResult {
  const metric = results.get(id);
  if (!metric || metric.subject.length === 0) return { id, description, met: undefined, measured: 'not measured' };
  const value = median(metric.subject);
  return { id, description, met: value <= limit, measured: `${fmt(value)} ${unit}` };
}

export const MEMORY_WORKLOADS = ['push-pull', 'small-push', 'blob-get', 'manifest', 'listing', 's3-push-parallel'] as const;
/**
 * "Flat over repeated rounds": the last round's peak within 10% of the highest peak of
 * the rounds before it. The first round warms up (heap and JIT grow to their working
 * size); a leak shows as every round needing more than any round before.
 */
export const FLAT_TOLERANCE = 0.1;

export function evaluateTargets(results: Results, rounds: number): TargetResult[] {
  const targets: TargetResult[] = [
    ratioAtMost(results, 'push-big', 1.0, 'big push: Berth/distribution time <= 1.0'),
    ratioAtMost(results, 'pull-big', 1.0, 'big pull: Berth/distribution time <= 1.0'),
    ratioAtMost(results, 'push-small-seq', 1.0, 'small pushes one after another: time ratio <= 1.0'),
    ratioAtMost(results, 'push-small-par', 1.0, 'small pushes in parallel: time ratio <= 1.0'),
    ratioAtLeast(results, 'blob-get', 1.2, 'blob GET: >= 1.2x distribution throughput'),
  ];
  const blob = results.get('blob-get');
  if (blob && blob.subject.length > 0 && blob.reference.length > 0) {
    const share = median(blob.subject) / median(blob.reference);
    targets.push({ id: 'blob-get-nginx', description: 'blob GET (2 workers): >= 0.8x nginx throughput', met: share >= 0.8, measured: `${fmt(share, 3)}x` });
  } else {
    targets.push({ id: 'blob-get-nginx', description: 'blob GET (2 workers): >= 0.8x nginx throughput', met: undefined, measured: 'not measured' });
  }
  targets.push(ratioAtLeast(results, 'manifest-get-c128-workers', 1.6, 'manifest GET rate at 128 connections: 2 workers >= 1.6x 1 worker'));
  for (const method of ['get', 'head']) {
    for (const connections of [16, 128]) {
      const id = `manifest-${method}-c${connections}-rate`;
      if (results.get(id)) targets.push(ratioAtLeast(results, id, 100, `manifest ${method.toUpperCase()} rate at ${connections} connections: >= 100x distribution`));
    }
    targets.push(subjectAtMost(results, `manifest-${method}-fixed-p99`, 5, 'ms', `manifest ${method.toUpperCase()} p99 <= 5 ms, 128 connections at a fixed rate of 100x distribution`));
    targets.push(subjectAtMost(results, `manifest-${method}-c128-p99`, 5, 'ms', `manifest ${method.toUpperCase()} p99 <= 5 ms, 128 connections closed loop (saturated)`));
  }
  targets.push(ratioAtMost(results, 'list-catalog', 0.2, 'catalog listing: <= 0.2x distribution time'));
  targets.push(ratioAtMost(results, 'list-tags', 0.2, 'tags listing: <= 0.2x distribution time'));
  for (const workload of MEMORY_WORKLOADS) {
    targets.push(ratioAtMost(results, `rss-peak-${workload}`, 1.5, `peak RSS in ${workload}: <= 1.5x distribution`));
    const peaks = results.memory.filter((m) => m.workload === workload && m.server === 'berth').sort((a, b) => a.round - b.round);
    if (rounds >= 2 && peaks.length >= 2) {
      const earlier = Math.max(...peaks.slice(0, -1).map((p) => p.peakKiB));
      const growth = peaks[peaks.length - 1]!.peakKiB / earlier - 1;
      targets.push({
        id: `rss-flat-${workload}`,
        description: `Berth peak RSS in ${workload} flat over rounds (last within ${FLAT_TOLERANCE * 100}% of the earlier rounds' highest)`,
        met: growth <= FLAT_TOLERANCE,
        measured: `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%`,
      });
    }
  }
  const direct = results.get('shim-status-cached-p99');
  if (direct && direct.subject.length > 0 && direct.baseline.length > 0) {
    const added = median(direct.subject) - median(direct.baseline);
    targets.push({ id: 'shim-status-cached', description: 'shim: cached rewrite adds <= 1 ms to ImageStatus p99', met: added <= 1, measured: `${added >= 0 ? '+' : ''}${fmt(added, 3)} ms` });
  } else {
    targets.push({ id: 'shim-status-cached', description: 'shim: cached rewrite adds <= 1 ms to ImageStatus p99', met: undefined, measured: 'not measured' });
  }
  targets.push(ratioAtMost(results, 'shim-pull', 1.05, 'shim: PullImage through the shim <= 1.05x direct'));
  targets.push(ratioAtMost(results, 's3-push-big', 1.0, 'S3: big push: Berth/distribution time <= 1.0'));
  targets.push(ratioAtMost(results, 's3-pull-big', 1.0, 'S3: big pull: Berth/distribution time <= 1.0'));
  targets.push(ratioAtLeast(results, 's3-blob-get', 1.0, 'S3: blob GET streamed: >= 1.0x distribution throughput'));
  targets.push(ratioAtLeast(results, 's3-blob-get-redirect', 1.0, 'S3: blob GET redirected: >= 1.0x distribution throughput'));
  targets.push(subjectAtMost(results, 'rss-peak-s3-push-parallel', 256, 'MiB', 'S3: Berth peak RSS during 8 parallel big pushes < 256 MiB'));
  return targets;
}
