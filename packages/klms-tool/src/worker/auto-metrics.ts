import type { AutomaticMetricName } from "../metrics/automatic.js";

/**
 * The runtime's share of the automatic metrics (their registry: metrics/automatic.ts):
 * - `runtime_seconds`: wall-clock time of the tool's run;
 * - `cpu_time_seconds`: user + system CPU time of the worker process;
 * - `peak_cpu_usage`: the highest CPU use seen over one-second windows, in percent of one core
 *   (the Python template's name; above 100 on several cores), or the average for runs shorter than a window;
 * - `memory_allocated`: the peak resident set size of the worker, in bytes (the Python template's name).
 */
export class AutoMetrics {
  readonly #startWall = performance.now();
  readonly #startCpu = process.cpuUsage();
  #lastWall = this.#startWall;
  #lastCpu = this.#startCpu;
  #peakCpu = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(windowMs = 1000) {
    this.#timer = setInterval(() => this.#sample(), windowMs);
    this.#timer.unref();
  }

  #sample(): void {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const usedMicros = cpu.user - this.#lastCpu.user + (cpu.system - this.#lastCpu.system);
    const windowMicros = (wall - this.#lastWall) * 1000;
    if (windowMicros > 0) this.#peakCpu = Math.max(this.#peakCpu, (100 * usedMicros) / windowMicros);
    this.#lastWall = wall;
    this.#lastCpu = cpu;
  }

  /** Stops sampling and returns the metrics. */
  finish(): Record<
    Extract<AutomaticMetricName, "runtime_seconds" | "cpu_time_seconds" | "peak_cpu_usage" | "memory_allocated">,
    number
  > {
    clearInterval(this.#timer);
    const wallMs = performance.now() - this.#startWall;
    const cpu = process.cpuUsage(this.#startCpu);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const average = wallMs > 0 ? (100 * cpuSeconds * 1000) / wallMs : 0;
    return {
      runtime_seconds: round(wallMs / 1000),
      cpu_time_seconds: round(cpuSeconds),
      peak_cpu_usage: round(Math.max(this.#peakCpu, average)),
      memory_allocated: process.resourceUsage().maxRSS * 1024,
    };
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
