// How quiet the machine was: CPU time used by processes that are not this benchmark or
// its children, sampled from /proc every 2 s. Timings are only comparable between runs
// taken on a quiet machine, so the report states this figure next to the results.
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

interface ProcStat {
  readonly ppid: number;
  readonly ticks: number;
}

function readProcesses(): Map<number, ProcStat> {
  const result = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: fields start after the last ')'.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      result.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return result;
}

function totalTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  return line
    .trim()
    .split(/\s+/)
    .slice(1)
    .reduce((sum, value) => sum + Number(value), 0);
}

/** Descendants of `root` (root included). */
function family(processes: Map<number, ProcStat>, root: number): Set<number> {
  const mine = new Set<number>([root]);
  let grew = true;
  for (let pass = 0; grew && pass < 64; pass++) {
    grew = false;
    for (const [pid, stat] of processes) {
      if (!mine.has(pid) && mine.has(stat.ppid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  return mine;
}

export interface QuietReport {
  /** Share of the machine's CPU (all cores) used by other processes, in percent. */
  readonly foreignCpuPercent: number;
  readonly maxForeignCpuPercent: number;
  readonly samples: number;
  readonly loadAverageAtStart: number[];
}

export class QuietMonitor {
  private timer: NodeJS.Timeout | undefined;
  private last: { processes: Map<number, ProcStat>; total: number } | undefined;
  /** Processes we started that got re-parented (containerd shims): counted as ours. */
  private readonly adopted = new Set<number>();
  private foreignTicks = 0;
  private allTicks = 0;
  private maxShare = 0;
  private samples = 0;
  private readonly loadAverageAtStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

  start(): void {
    this.last = { processes: readProcesses(), total: totalTicks() };
    this.timer = setInterval(() => this.sample(), 2000);
    this.timer.unref();
  }

  adopt(pid: number): void {
    this.adopted.add(pid);
  }

  private sample(): void {
    if (!this.last) return;
    const processes = readProcesses();
    const total = totalTicks();
    const mine = family(processes, process.pid);
    for (const pid of this.adopted) for (const member of family(processes, pid)) mine.add(member);
    let foreign = 0;
    for (const [pid, stat] of processes) {
      if (mine.has(pid)) continue;
      const before = this.last.processes.get(pid)?.ticks ?? 0;
      foreign += Math.max(0, stat.ticks - before);
    }
    const elapsed = total - this.last.total;
    if (elapsed > 0) {
      this.foreignTicks += foreign;
      this.allTicks += elapsed;
      this.maxShare = Math.max(this.maxShare, foreign / elapsed);
      this.samples += 1;
    }
    this.last = { processes, total };
  }

  stop(): QuietReport {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return {
      foreignCpuPercent: this.allTicks > 0 ? Math.round((1000 * this.foreignTicks) / this.allTicks) / 10 : 0,
      maxForeignCpuPercent: Math.round(1000 * this.maxShare) / 10,
      samples: this.samples,
      loadAverageAtStart: this.loadAverageAtStart,
    };
  }
}

export const CPU_COUNT = cpus().length;
