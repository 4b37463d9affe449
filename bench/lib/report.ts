// Turns a run into its three outputs: results.json (every sample), REPORT.md (medians,
// ratios, targets, method) and chart.svg, and prints the table of medians.
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { explain } from './explanations.js';
import { TUNING } from './notes.js';
import type { QuietReport } from './quiet.js';
import type { Metric, Results } from './results.js';
import { median, round } from './stats.js';
import { renderChart, type MemoryBar, type SpeedupBar } from './svg.js';
import type { TargetResult } from './targets.js';

export interface RunInfo {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly quick: boolean;
  readonly rounds: number;
  readonly commit: string;
  readonly machine: Record<string, string | number>;
  readonly sizes: object;
  readonly quiet: QuietReport;
  readonly workloads: readonly string[];
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

interface Row {
  readonly metric: Metric;
  readonly subject: number;
  readonly baseline: number;
  readonly reference: number;
  readonly ratio: number;
}

function rows(results: Results): Row[] {
  return [...results.metrics.values()].map((metric) => {
    const subject = median(metric.subject);
    const baseline = median(metric.baseline);
    return { metric, subject, baseline, reference: median(metric.reference), ratio: subject / baseline };
  });
}

/** The console table: one line per metric. */
export function formatTable(results: Results): string {
  const header = ['metric', 'unit', 'berth', 'baseline', 'ratio', 'nginx'];
  const lines = rows(results).map((row) => [
    `${row.metric.id}${row.metric.baselineName === 'distribution' ? '' : ` (vs ${row.metric.baselineName})`}`,
    row.metric.unit,
    fmt(row.subject),
    fmt(row.baseline),
    fmt(row.ratio),
    row.metric.reference.length > 0 ? fmt(row.reference) : '',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const render = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(render)].join('\n');
}

/** Metric id -> the speedup its relative target asks for. */
const TARGET_SPEEDUP: Record<string, number> = {
  'push-big': 1,
  'pull-big': 1,
  'push-small-seq': 1,
  'push-small-par': 1,
  'blob-get': 1.2,
  'manifest-get-c16-rate': 100,
  'manifest-get-c128-rate': 100,
  'manifest-head-c16-rate': 100,
  'manifest-head-c128-rate': 100,
  'list-catalog': 5,
  'list-tags': 5,
  'shim-pull': 1 / 1.05,
  'mirror-first-pull': 1 / 1.1,
  'mirror-cached-pull': 1 / 1.05,
};

function chart(results: Results, targets: readonly TargetResult[], title: string): string {
  const metById = new Map(targets.map((t) => [t.id, t.met]));
  const speedups: SpeedupBar[] = rows(results)
    .filter((row) => !row.metric.id.startsWith('rss-') && !row.metric.id.includes('-fixed') && !row.metric.id.startsWith('shim-status'))
    .map((row) => {
      const speedup = row.metric.better === 'lower' ? row.baseline / row.subject : row.subject / row.baseline;
      const target = TARGET_SPEEDUP[row.metric.id];
      return {
        label: `${row.metric.label}${row.metric.baselineName === 'distribution' ? '' : ` (vs ${row.metric.baselineName})`}`,
        speedup,
        ...(target !== undefined ? { target, met: metById.get(row.metric.id === 'blob-get' ? 'blob-get' : row.metric.id) } : {}),
      };
    });
  const memory: MemoryBar[] = rows(results)
    .filter((row) => row.metric.id.startsWith('rss-peak-'))
    .map((row) => ({ label: row.metric.label, berthMiB: row.subject, baselineMiB: row.baseline }));
  return renderChart(title, speedups, memory);
}

function markdownTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join('\n');
}

const METHOD = `## How it was measured

Both registries run as real processes on 127.0.0.1 with their data directories on the same
disk, auth on with the same htpasswd file (bcrypt cost 10, written by \`htpasswd -B -C 10\`),
log level info (distribution with its default access log, Berth with its one JSON line per
request). Berth is \`berth registry serve\` with its default of one worker process per CPU
(2 here), except on S3 (one process, against one docker-registry) and as a mirror (one
process, as Berth runs whenever a mirror is configured);
distribution is Debian's \`docker-registry\` 2.8.2 (one Go process using every core). In every round each workload runs against Berth, then against distribution (A B A B);
the tables show medians over all rounds.

1. **Push/pull**: skopeo copies one image whose single layer is a tar of random bytes
   (gzip -1) from an OCI layout to the registry, then from the registry into a \`dir:\`.
   Fresh random bytes every round.
2. **Small pushes**: N distinct images (one 4 KiB random layer each), one skopeo process
   per image, one after another; then N more with P skopeo processes at a time.
3. **Blob GET**: curl fetches one random blob (64 MiB in the full run) 50 times, 8 at a
   time; throughput = bytes / wall time. nginx (Debian, \`worker_processes auto\`,
   sendfile) serves a hard link to Berth's blob file as the machine's raw limit.
4. **Manifest GET/HEAD** by tag with Basic auth. *Closed loop*: each connection sends its
   next request as soon as the previous answer arrives (GET: wrk, 2 threads; HEAD: hey,
   since wrk waits for the body a HEAD answer announces). The rate is the server's
   capacity and, by Little's law, mean latency = connections / rate, so at 128
   connections p99 cannot be below 128 / rate however fast each request is served, and
   on a 2-core machine the generator takes one of the two cores. *Fixed rate* (Berth
   only: distribution cannot sustain 100x its own rate by definition): \`paced-load.js\`
   sends requests as a Poisson process at 100x distribution's closed-loop rate (measured
   before round 1) over 128 keep-alive connections, and times each from send to last
   byte. This is what the 5 ms p99 target is about; the same at half that rate gives a
   second point of the latency curve. (\`hey -q\` was not used: its workers
   tick together and send synchronised bursts of 128.)
5. **Listing**: a generator writes a store in distribution's layout directly (10,000
   repositories in 50 namespaces, plus one repository with 10,000 tags); each server
   serves its own \`cp -a\` copy. The client (node:http, one keep-alive connection) lists
   everything with \`n\` = page size, following \`Link\` headers, and waits 1.1 s before each
   listing so that Berth's 1 s catalog freshness window has passed: every catalog listing
   includes a walk of the tree. Distribution 2.8 does not paginate tag lists; it answers
   the whole list at once.
6. **Memory**: VmRSS of each server sampled every 50 ms during its turn in each workload
   (and VmHWM after resetting it through /proc/<pid>/clear_refs); idle is VmRSS just
   before the turn. "Flat": Berth's peak in the last round is within 10% of the highest
   peak of the rounds before it (the first round warms up; a leak needs more every round).
7. **Shim**: a CRI client (gRPC over the unix socket) calls containerd 1.6's CRI plugin
   directly and through \`berth shim\`: ImageStatus latency (p50/p99 over sequential calls)
   and PullImage wall time of an image held in the private registry.
8. **Mirror**: a second Berth configured as a pull-through mirror of distribution
   (\`mirrors:\` with distribution as the upstream of docker.io). Each round a fresh image
   with one big layer is pushed to distribution and to the mirror's own storage (a pushed
   image); skopeo then pulls it into a \`dir:\` straight from distribution and, for the
   first time, through the mirror (which fetches, stores and streams at once; the two
   alternate which goes first), then through the mirror again (cached) and the pushed
   copy from the same Berth. Ratios: first pull / direct pull, cached pull / pushed pull.
9. **S3**: Berth and distribution each keep their data on one SeaweedFS (\`weed mini\`, one
   bucket, a prefix each), the same htpasswd. Per round, each in turn: skopeo pushes then
   pulls one image with one big layer; curl fetches one blob 50 times, 8 at a time,
   streamed through the registry and, from a second instance of each in redirect mode,
   following the 307 to a presigned engine URL; then 8 skopeo pushes of one fresh big
   layer at once (each uploads every byte), with the registry's peak RSS sampled.
10. **Access control**: wrk (2 threads, 16 connections, closed loop) sends authenticated
   manifest GETs to two fresh Berth processes that differ only in auth: Basic with no
   policy, and a Bearer token from Berth's own \`/token\` with a policy of 1,000
   repository globs. Reported as cost per request (1 / rate) and its ratio.
`;

export async function writeReport(outDir: string, info: RunInfo, results: Results, targets: readonly TargetResult[]): Promise<void> {
  await mkdir(outDir, { recursive: true });
  const json = {
    info,
    metrics: rows(results).map((row) => ({
      ...row.metric,
      medians: { subject: round(row.subject), baseline: round(row.baseline), reference: round(row.reference) },
      ratio: round(row.ratio, 4),
    })),
    memory: results.memory,
    targets,
    notes: results.notes,
    failures: results.failures,
  };
  await writeFile(path.join(outDir, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  const title = `Berth vs distribution 2.8${info.quick ? ' (quick smoke run: sizes too small for timings)' : ''}`;
  await writeFile(path.join(outDir, 'chart.svg'), chart(results, targets, title));

  const met = targets.filter((t) => t.met === true).length;
  const missed = targets.filter((t) => t.met === false);
  const unmeasured = targets.filter((t) => t.met === undefined);
  const lines: string[] = [];
  lines.push(`# ${title}`, '');
  lines.push(`Run ${info.startedAt} to ${info.finishedAt}, commit \`${info.commit}\`, ${info.rounds} round(s)${info.quick ? ', `--quick`' : ''}.`);
  lines.push(
    `Machine: ${Object.entries(info.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  lines.push(
    `Other processes used ${info.quiet.foreignCpuPercent}% of the machine's CPU on average during the run (peak ${info.quiet.maxForeignCpuPercent}% over a 2 s sample; load average ${info.quiet.loadAverageAtStart.join(' ')} at the start): ${
      info.quiet.foreignCpuPercent < 3 ? 'a quiet machine' : 'NOT a quiet machine; timings are noisy'
    }.`,
  );
  lines.push('', 'Rerun: `npm run bench` (about 30 minutes; `--rounds N`, `--only push-pull,listing,...`), smoke: `npm run bench -- --quick`.', '');
  lines.push(`## Targets: ${met} met, ${missed.length} missed, ${unmeasured.length} not measured`, '');
  lines.push(
    markdownTable(
      ['target', 'measured', 'result'],
      targets.map((t) => [t.description, t.measured, t.met === undefined ? 'not measured' : t.met ? 'met' : '**missed**']),
    ),
  );
  lines.push('', '![chart](chart.svg)', '');
  lines.push('## Medians', '');
  lines.push(
    markdownTable(
      ['workload', 'metric', 'unit', 'Berth', 'baseline', 'ratio Berth/baseline', 'nginx'],
      rows(results).map((row) => [
        row.metric.workload,
        row.metric.label,
        row.metric.unit,
        fmt(row.subject),
        `${fmt(row.baseline)}${row.metric.baselineName === 'distribution' ? '' : ` (${row.metric.baselineName})`}`,
        fmt(row.ratio),
        row.metric.reference.length > 0 ? fmt(row.reference) : '',
      ]),
    ),
  );
  const explanations = [...missed, ...unmeasured].map((t) => ({ target: t, text: explain(t.id) ?? 'no explanation recorded.' }));
  if (explanations.length > 0) {
    lines.push('', '## Missed or unmeasured targets: why', '');
    for (const { target, text } of explanations) lines.push(`- **${target.description}** (${target.measured}): ${text}`);
  }
  if (results.notes.length > 0) lines.push('', '## Notes', '', ...results.notes.map((n) => `- ${n}`));
  if (results.failures.length > 0) lines.push('', '## Failures', '', ...results.failures.map((f) => `- ${f}`));
  lines.push('', METHOD, TUNING);
  await writeFile(path.join(outDir, 'REPORT.md'), `${lines.join('\n')}\n`);
}
