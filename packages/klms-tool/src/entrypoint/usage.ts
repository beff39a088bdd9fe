/**
 * The worker's resource use, measured from outside, so that a tool in any language (a Python
 * `main.py` included) reports the Python template's metrics without a line of its own: wall time, CPU time
 * and peak memory. A JavaScript tool measures itself (more precisely) and its figures win.
 *
 * Linux only, through /proc: the CPU time of reaped children (`cutime`, `cstime` of
 * /proc/self/stat), and the worker's peak resident set (`VmHWM` of /proc/<pid>/status), sampled
 * while it runs since the figure is gone once it has exited. Elsewhere only the wall time is known.
 */
import { readFileSync } from "node:fs";
import { type AutomaticMetrics, withAutomaticMetrics } from "../metrics/automatic.js";

/** The automatic metrics measured from outside (names from the one registry, metrics/automatic.ts). */
export type WorkerUsage = { runtime_seconds: number } & AutomaticMetrics<"cpu_time_seconds" | "memory_allocated">;

/** How often the peak memory is sampled: a peak reached in the last interval before exit is missed. */
const SAMPLE_MS = 200;

/** Starts measuring a worker process; `stop()` once it has exited and been reaped. */
export function measureWorker(pid: number | undefined): { stop(): WorkerUsage } {
  const started = performance.now();
  const cpuBefore = childrenCpuSeconds();
  let peakBytes = pid === undefined ? undefined : peakRss(pid);
  const timer =
    pid === undefined
      ? undefined
      : setInterval(() => {
          const now = peakRss(pid);
          if (now !== undefined) peakBytes = Math.max(peakBytes ?? 0, now);
        }, SAMPLE_MS);
  timer?.unref();
  return {
    stop() {
      if (timer) clearInterval(timer);
      const usage: WorkerUsage = { runtime_seconds: round((performance.now() - started) / 1000) };
      const cpuAfter = childrenCpuSeconds();
      if (cpuBefore !== undefined && cpuAfter !== undefined) usage.cpu_time_seconds = round(cpuAfter - cpuBefore);
      if (peakBytes !== undefined) usage.memory_allocated = peakBytes;
      return usage;
    },
  };
}

/**
 * Starts measuring a worker thread: the same figures, of this whole process (a thread's own CPU
 * time and memory are not apart from the entrypoint's), as the thread's failure reports say.
 */
export function measureThisProcess(): { stop(): WorkerUsage } {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  return {
    stop() {
      const cpu = process.cpuUsage(cpuBefore);
      return {
        runtime_seconds: round((performance.now() - started) / 1000),
        cpu_time_seconds: round((cpu.user + cpu.system) / 1e6),
        memory_allocated: process.resourceUsage().maxRSS * 1024,
      };
    },
  };
}

/** User + system CPU seconds of this process's reaped children, or undefined without /proc. */
function childrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 16 and 17 (cutime, cstime) are the 14th and 15th after the name.
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS : undefined;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc's times: 100 on every Linux Node runs on (USER_HZ). */
const CLOCK_TICKS = 100;

function peakRss(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Adds the measured figures to an output's metrics where the worker reported none of its own
 * under the same names.
 */
export function withUsage<T extends { metrics?: Record<string, unknown> }>(output: T, usage: WorkerUsage): T {
  return { ...output, metrics: withAutomaticMetrics(output.metrics, usage) };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
