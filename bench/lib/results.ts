// What a run measured: every sample of every metric, per round, for the subject (Berth,
// or the path through `berth shim`) and its baseline (distribution, or containerd
// called directly), plus the peak and idle memory of each server per workload.
import { median } from './stats.js';

export type Better = 'lower' | 'higher';

export interface MetricDefinition {
  readonly id: string;
  readonly workload: string;
  readonly label: string;
  readonly unit: string;
  readonly better: Better;
  /** Who the subject is compared with: 'distribution' or 'containerd (direct)'. */
  readonly baselineName: string;
  readonly subjectName: string;
  /** A third series shown for scale (nginx for blob GETs). */
  readonly referenceName?: string;
}

export interface Metric extends MetricDefinition {
  readonly subject: number[];
  readonly baseline: number[];
  readonly reference: number[];
}

export type Side = 'subject' | 'baseline' | 'reference';

export interface MemoryRecord {
  readonly workload: string;
  readonly server: string;
  readonly round: number;
  readonly idleKiB: number;
  readonly peakKiB: number;
}

export class Results {
  readonly metrics = new Map<string, Metric>();
  readonly memory: MemoryRecord[] = [];
  readonly notes: string[] = [];
  readonly failures: string[] = [];

  record(definition: MetricDefinition, side: Side, value: number): void {
    let metric = this.metrics.get(definition.id);
    if (!metric) {
      metric = { ...definition, subject: [], baseline: [], reference: [] };
      this.metrics.set(definition.id, metric);
    }
    if (!Number.isFinite(value)) throw new Error(`${definition.id}: not a number (${value})`);
    metric[side].push(value);
  }

  get(id: string): Metric | undefined {
    return this.metrics.get(id);
  }

  /** median(subject) / median(baseline), as the issue asks ("ratio Berth/distribution"). */
  ratio(id: string): number {
    const metric = this.metrics.get(id);
    if (!metric) return Number.NaN;
    return median(metric.subject) / median(metric.baseline);
  }
}

/** What results.json keeps of a run: enough to rebuild its Results (see `--report-only`). */
export interface SavedResults {
  readonly metrics: ReadonlyArray<Metric & { readonly medians?: unknown; readonly ratio?: unknown }>;
  readonly memory: readonly MemoryRecord[];
  readonly notes: readonly string[];
  readonly failures: readonly string[];
}

export function resultsFromSaved(saved: SavedResults): Results {
  const results = new Results();
  for (const { medians: _medians, ratio: _ratio, ...metric } of saved.metrics) {
    results.metrics.set(metric.id, { ...metric, subject: [...metric.subject], baseline: [...metric.baseline], reference: [...metric.reference] });
  }
  results.memory.push(...saved.memory);
  results.notes.push(...saved.notes);
  results.failures.push(...saved.failures);
  return results;
}
