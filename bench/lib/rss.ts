// Resident memory of the servers under test, from /proc/<pid>/status, summed over the
// process and its children (a `--workers` registry is a primary and its workers). The
// peak of a workload is the larger of VmRSS sampled every 50 ms and VmHWM read at the end
// after resetting it at the start (writing 5 to /proc/<pid>/clear_refs resets the
// high-water mark), so a spike between two samples is not missed where the kernel
// allows the reset.
import { readFileSync, writeFileSync } from 'node:fs';

export interface Memory {
  readonly rssKiB: number;
  readonly hwmKiB: number;
}

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length && tree.length < 1024; i++) {
    let children: string;
    try {
      children = readFileSync(`/proc/${tree[i]}/task/${tree[i]}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.trim().split(/\s+/)) if (child !== '') tree.push(Number(child));
  }
  return tree;
}

function readOne(pid: number): Memory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** Summed over the process tree; undefined when the process itself is gone. */
export function readMemory(pid: number): Memory | undefined {
  if (!readOne(pid)) return undefined;
  let rssKiB = 0;
  let hwmKiB = 0;
  for (const member of processTree(pid)) {
    const memory = readOne(member);
    rssKiB += memory?.rssKiB ?? 0;
    hwmKiB += memory?.hwmKiB ?? 0;
  }
  return { rssKiB, hwmKiB };
}

function resetHighWaterMark(pid: number): boolean {
  try {
    for (const member of processTree(pid)) writeFileSync(`/proc/${member}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Tracks the peak RSS of one process from start() to stop(). */
export class PeakSampler {
  private peakKiB = 0;
  private timer: NodeJS.Timeout | undefined;
  private hwmReset = false;

  constructor(private readonly pid: number) {}

  start(): void {
    this.hwmReset = resetHighWaterMark(this.pid);
    this.peakKiB = readMemory(this.pid)?.rssKiB ?? 0;
    this.timer = setInterval(() => this.sample(), 50);
  }

  private sample(): void {
    const memory = readMemory(this.pid);
    if (memory) this.peakKiB = Math.max(this.peakKiB, memory.rssKiB);
  }

  /** The peak in KiB since start(). */
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    const memory = readMemory(this.pid);
    if (this.hwmReset && memory) this.peakKiB = Math.max(this.peakKiB, memory.hwmKiB);
    return this.peakKiB;
  }
}
