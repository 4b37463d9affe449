// Resident memory of the servers under test, from /proc/<pid>/status. The peak of a
// workload is the larger of VmRSS sampled every 50 ms and VmHWM read at the end after
// resetting it at the start (writing 5 to /proc/<pid>/clear_refs resets the
// high-water mark), so a spike between two samples is not missed where the kernel
// allows the reset.
import { readFileSync, writeFileSync } from 'node:fs';

export interface Memory {
  readonly rssKiB: number;
  readonly hwmKiB: number;
}

export function readMemory(pid: number): Memory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

function resetHighWaterMark(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
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
