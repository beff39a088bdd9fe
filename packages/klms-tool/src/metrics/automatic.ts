/**
 * The one registry of the metrics the kit adds to a task's output without the tool asking. The
 * worker's runtime (worker/auto-metrics.ts, worker/files.ts), the entrypoint (entrypoint/usage.ts,
 * entrypoint/report.ts) and the README's metrics table (scripts/readme-tables.ts, checked by
 * test/metrics/automatic.test.ts) all read it: a new automatic metric is one row here plus its producer.
 *
 * One merge rule for the runtime's and the entrypoint's measures: a metric the tool reported
 * itself under the same name wins ({@link withAutomaticMetrics}). The `worker_*` metrics of a
 * failure report the entrypoint writes are facts about the worker's end that the worker cannot
 * know, so there the entrypoint's value wins (entrypoint/report.ts).
 */

/** Who adds a metric: the worker's runtime (JavaScript tools), or the entrypoint (every tool). */
export type MetricProducer = "runtime" | "entrypoint" | "failure report";

/** One automatic metric. */
export interface AutomaticMetric {
  /** The value's unit, as the README shows it. */
  unit: string;
  /** Who adds it; the first is the preferred source. */
  producers: readonly MetricProducer[];
  /** What it measures. */
  doc: string;
}

/** Every automatic metric, by its name in the posted output (the Python template's names where it had one). */
export const AUTOMATIC_METRICS = {
  runtime_seconds: {
    unit: "seconds",
    producers: ["runtime", "entrypoint"],
    doc: "wall-clock time of the tool's run (the runtime), or of the worker process (the entrypoint)",
  },
  cpu_time_seconds: {
    unit: "seconds",
    producers: ["runtime", "entrypoint"],
    doc: "user + system CPU time of the worker (the entrypoint counts its children too)",
  },
  peak_cpu_usage: {
    unit: "percent of one core",
    producers: ["runtime"],
    doc: "highest CPU use over one-second windows (above 100 on several cores), or the average for shorter runs (the Python template's name)",
  },
  memory_allocated: {
    unit: "bytes",
    producers: ["runtime", "entrypoint"],
    doc: "peak resident set size of the worker (the Python template's name); the entrypoint samples it every 200 ms",
  },
  bytes_in: {
    unit: "bytes",
    producers: ["runtime"],
    doc: "bytes read from the object store through `task.storage` and the input files of a defineTool tool (0 when unused)",
  },
  bytes_out: {
    unit: "bytes",
    producers: ["runtime"],
    doc: "bytes written to the object store through `task.storage` and the output targets of a defineTool tool (0 when unused)",
  },
  worker_exit_code: {
    unit: "exit code",
    producers: ["failure report"],
    doc: "the worker's exit code, in a failure report the entrypoint wrote (null when killed by a signal)",
  },
  worker_signal: {
    unit: "signal name",
    producers: ["failure report"],
    doc: "the signal that ended the worker, in a failure report the entrypoint wrote",
  },
  worker_seconds: {
    unit: "seconds",
    producers: ["failure report"],
    doc: "how long the worker ran, in a failure report the entrypoint wrote",
  },
} as const satisfies Record<string, AutomaticMetric>;

/** The name of an automatic metric. */
export type AutomaticMetricName = keyof typeof AUTOMATIC_METRICS;

/** Some automatic metrics, by name. */
export type AutomaticMetrics<K extends AutomaticMetricName = AutomaticMetricName> = Partial<
  Record<K, number | string | null | undefined>
>;

/**
 * Adds automatic metrics to `own` (the tool's): a name the tool reported itself keeps the tool's
 * value. The one merge rule of the runtime and the entrypoint.
 */
export function withAutomaticMetrics(
  own: Record<string, unknown> | undefined,
  automatic: AutomaticMetrics,
): Record<string, unknown> {
  return { ...automatic, ...(own ?? {}) };
}

/** The README's table of automatic metrics (Markdown). */
export function metricsTableMarkdown(): string {
  const rows = ["| metric | unit | added by | meaning |", "|---|---|---|---|"];
  for (const [name, m] of Object.entries(AUTOMATIC_METRICS) as [string, AutomaticMetric][]) {
    rows.push(`| \`${name}\` | ${m.unit} | ${m.producers.join(", ")} | ${m.doc} |`);
  }
  return `${rows.join("\n")}\n`;
}
