// `npm run bench`: Berth against distribution 2.8 (and nginx, and containerd's CRI
// plugin for the shim) on this machine. Rounds alternate the servers (A B A B);
// results go to bench/results/ as JSON, a markdown report and an SVG chart.
//   --quick           every workload at small sizes, one round: checks only that each
//                     completes without errors (CI); results go to bench/work/quick-results
//   --rounds N        rounds (default 3; at least 3 for a report)
//   --only a,b        run only these workloads (push-pull, small-push, blob-get, manifest, listing, shim, s3)
//   --out DIR         where to write results (default bench/results)
//   --keep            keep the scratch directory (bench/work/run-*)
//   --profile         run Berth under `node --cpu-prof` (profiles land in the scratch dir)
//   --report-only     run nothing: rewrite REPORT.md and chart.svg from the results.json in
//                     --out (after editing the explanations or the targets)
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import path from 'node:path';
import { FULL_SIZES, QUICK_SIZES, type Context, type Sizes, type Workload } from './lib/context.js';
import { run, stopAll } from './lib/proc.js';
import { QuietMonitor } from './lib/quiet.js';
import { formatTable, writeReport, type RunInfo } from './lib/report.js';
import { Results, resultsFromSaved, type SavedResults } from './lib/results.js';
import { makeHtpasswd, startBerth, startDistribution, type Credentials } from './lib/servers.js';
import { evaluateTargets, MEMORY_WORKLOADS } from './lib/targets.js';
import { BENCH_PEERS, ensurePeers, PROJECT_ROOT } from './lib/tools.js';
import { blobGetWorkload } from './workloads/blob-get.js';
import { listingWorkload } from './workloads/listing.js';
import { manifestWorkload } from './workloads/manifest.js';
import { pushPull } from './workloads/push-pull.js';
import { shimWorkload } from './workloads/shim.js';
import { s3Workload } from './workloads/s3.js';
import { smallPush } from './workloads/small-push.js';

interface Options {
  readonly quick: boolean;
  readonly rounds: number | undefined;
  readonly only: readonly string[] | undefined;
  readonly out: string;
  readonly keep: boolean;
  readonly profile: boolean;
  readonly reportOnly: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  let quick = false;
  let rounds: number | undefined;
  let only: string[] | undefined;
  let out: string | undefined;
  let keep = false;
  let profile = false;
  let reportOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') quick = true;
    else if (arg === '--rounds') rounds = Number(value());
    else if (arg === '--only') only = value().split(',');
    else if (arg === '--out') out = path.resolve(value());
    else if (arg === '--keep') keep = true;
    else if (arg === '--profile') profile = true;
    else if (arg === '--report-only') reportOnly = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (rounds !== undefined && (!Number.isInteger(rounds) || rounds < 1 || rounds > 50)) throw new Error('--rounds takes 1..50');
  const defaultOut = quick ? path.join(PROJECT_ROOT, 'bench', 'work', 'quick-results') : path.join(PROJECT_ROOT, 'bench', 'results');
  return { quick, rounds, only, out: out ?? defaultOut, keep, profile, reportOnly };
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

const CREDENTIALS: Credentials = { user: 'bench', password: 'bench-passw0rd' };
const BCRYPT_COST = 10;

/** Peak and idle RSS samples become metrics like any other (MiB). */
function memoryMetrics(results: Results): void {
  for (const workload of MEMORY_WORKLOADS) {
    const records = results.memory.filter((m) => m.workload === workload);
    if (records.length === 0) continue;
    const base = { workload: '6 memory', unit: 'MiB', better: 'lower', baselineName: 'distribution', subjectName: 'berth' } as const;
    for (const record of records) {
      const side = record.server === 'berth' ? 'subject' : 'baseline';
      results.record({ ...base, id: `rss-peak-${workload}`, label: `peak RSS, ${workload}` }, side, record.peakKiB / 1024);
      results.record({ ...base, id: `rss-idle-${workload}`, label: `idle RSS before ${workload}` }, side, record.idleKiB / 1024);
    }
  }
}

/** Rewrites the report of a finished run from its results.json. */
async function rewriteReport(outDir: string): Promise<void> {
  const saved = JSON.parse(await readFile(path.join(outDir, 'results.json'), 'utf8')) as SavedResults & { info: RunInfo };
  const results = resultsFromSaved(saved);
  await writeReport(outDir, saved.info, results, evaluateTargets(results, saved.info.rounds));
  log(`rewrote ${path.join(outDir, 'REPORT.md')} from results.json`);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.reportOnly) return rewriteReport(options.out);
  const base: Sizes = options.quick ? QUICK_SIZES : FULL_SIZES;
  const sizes: Sizes = { ...base, rounds: options.rounds ?? base.rounds };
  const all: Workload[] = [pushPull, smallPush, blobGetWorkload(), manifestWorkload(), listingWorkload(), shimWorkload(), s3Workload()];
  const workloads = options.only ? all.filter((w) => options.only!.includes(w.id)) : all;
  if (options.only && workloads.length !== options.only.length) throw new Error(`unknown workload in --only; known: ${all.map((w) => w.id).join(', ')}`);

  await ensurePeers(BENCH_PEERS, log);
  await mkdir(path.join(PROJECT_ROOT, 'bench', 'work'), { recursive: true });
  const work = await mkdtemp(path.join(process.env['BERTH_BENCH_WORK'] ?? path.join(PROJECT_ROOT, 'bench', 'work'), 'run-'));
  const startedAt = new Date().toISOString();
  log(`berth bench${options.quick ? ' --quick' : ''}: ${sizes.rounds} round(s), workloads ${workloads.map((w) => w.id).join(', ')}; scratch ${work}`);

  const htpasswd = path.join(work, 'htpasswd');
  await makeHtpasswd(htpasswd, CREDENTIALS, BCRYPT_COST);
  // BERTH_BENCH_NODE_ARGS: extra node flags for Berth while investigating (e.g. --trace-gc).
  const extraNodeArgs = (process.env['BERTH_BENCH_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
  const nodeArgs = [...extraNodeArgs, ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(work, 'profiles')}`] : [])];
  const registryOptions = { work, htpasswd, credentials: CREDENTIALS };
  const berth = await startBerth({ ...registryOptions, dataDir: path.join(work, 'berth-data'), nodeArgs });
  const distribution = await startDistribution({ ...registryOptions, dataDir: path.join(work, 'distribution-data') });
  log(`berth pid ${berth.pid} on ${berth.host}; distribution pid ${distribution.pid} on ${distribution.host}`);

  const results = new Results();
  const ctx: Context = { quick: options.quick, sizes, work, credentials: CREDENTIALS, htpasswd, berth, distribution, results, log };
  const quiet = new QuietMonitor();
  quiet.start();
  const failed = new Set<string>();
  const attempt = async (workload: Workload, what: string, step: () => Promise<void>): Promise<void> => {
    // A failed workload skips its remaining rounds, but its teardown always runs.
    if (failed.has(workload.id) && what !== 'teardown') return;
    try {
      await step();
    } catch (error) {
      failed.add(workload.id);
      const message = `${workload.id} ${what} failed: ${(error as Error).message.split('\n').slice(0, 6).join(' | ')}`;
      results.failures.push(message);
      log(`FAILED ${message}`);
    }
  };
  try {
    for (const workload of workloads) {
      if (!workload.setup) continue;
      log(`setup ${workload.title}`);
      await attempt(workload, 'setup', () => workload.setup!(ctx));
    }
    for (let round = 1; round <= sizes.rounds; round++) {
      for (const workload of workloads) {
        log(`round ${round}/${sizes.rounds}: ${workload.title}`);
        await attempt(workload, `round ${round}`, () => workload.round(ctx, round));
      }
    }
  } finally {
    for (const workload of workloads) if (workload.teardown) await attempt(workload, 'teardown', () => workload.teardown!(ctx));
    await berth.stop();
    await distribution.stop();
  }
  const quietReport = quiet.stop();
  memoryMetrics(results);
  const targets = evaluateTargets(results, sizes.rounds);
  const commit = (await run('git', ['-C', PROJECT_ROOT, 'describe', '--always', '--dirty'], { allowFailure: true })).stdout.trim() || 'unknown';
  await writeReport(
    options.out,
    {
      startedAt,
      finishedAt: new Date().toISOString(),
      quick: options.quick,
      rounds: sizes.rounds,
      commit,
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version },
      sizes,
      quiet: quietReport,
      workloads: workloads.map((w) => w.id),
    },
    results,
    targets,
  );
  log('');
  log(formatTable(results));
  log('');
  if (!options.quick) {
    for (const target of targets) log(`${target.met === undefined ? 'n/a   ' : target.met ? 'met   ' : 'MISSED'}  ${target.description}: ${target.measured}`);
  }
  log(`machine: other processes used ${quietReport.foreignCpuPercent}% CPU on average during the run`);
  log(`results: ${options.out}`);
  if (!options.keep) await rm(work, { recursive: true, force: true });
  if (results.failures.length > 0) {
    log(`${results.failures.length} failure(s):\n${results.failures.join('\n')}`);
    process.exitCode = 1;
  } else if (options.quick) {
    const incomplete = workloads.filter((w) => ![...results.metrics.values()].some((m) => metricBelongs(m.id, w.id) && m.subject.length > 0));
    if (incomplete.length > 0) {
      log(`no results from: ${incomplete.map((w) => w.id).join(', ')}`);
      process.exitCode = 1;
    } else log('quick run: every workload completed without errors');
  }
}

/** Which workload a metric id came from (for the quick run's completeness check). */
function metricBelongs(metricId: string, workloadId: string): boolean {
  const prefixes: Record<string, string[]> = {
    'push-pull': ['push-big', 'pull-big'],
    'small-push': ['push-small'],
    'blob-get': ['blob-get'],
    manifest: ['manifest-'],
    listing: ['list-'],
    shim: ['shim-'],
    s3: ['s3-'],
  };
  return (prefixes[workloadId] ?? []).some((prefix) => metricId.startsWith(prefix));
}

const interrupted = (signal: NodeJS.Signals): void => {
  log(`${signal}: stopping the servers this run started`);
  void stopAll().finally(() => process.exit(130));
};
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

main().catch(async (error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  await stopAll();
  process.exit(1);
});
