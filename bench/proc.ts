/** CPU time and peak RSS of a process, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** User + system CPU time so far, in ms; 0 when the process is gone. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The kernel's own high-water mark of the resident set (VmHWM), in MB: the peak, with nothing to sample. */
export function peakRssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** CPU used by a process between two readings. */
export class CpuMeter {
  private start: number;
  constructor(readonly pid: number) { this.start = cpuMs(pid); }
  reset(): void { this.start = cpuMs(this.pid); }
  used(): number { return cpuMs(this.pid) - this.start; }
}
