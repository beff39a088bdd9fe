/**
 * The one table of the kit's settings: for each option of the entrypoint, the worker, the logger
 * and the task's object storage, its flag, its environment variable, its unit, its default and
 * its words. The entrypoint's parser and help text (src/entrypoint/args.ts), the worker, the
 * logger, `task.storage` and the README's configuration table are all made from it, so an option
 * is added here once (see CONTRIBUTING.md, "add an entrypoint option").
 *
 * Units: a person types every duration in seconds and every size in bytes (a plain integer, or
 * with a KiB/MiB/GiB suffix); the code converts to milliseconds where Node wants them.
 */

import { KlmsError } from "../errors.js";

/** The parts of the kit an option reaches. */
export type OptionPart = "entrypoint" | "worker" | "logger" | "storage";

/** How an option's text is read. */
export type OptionUnit = "seconds" | "bytes" | "count" | "command" | "module" | "choice" | "url";

/** One row of the table. */
export interface OptionSpec {
  /** Who reads the value; the README's table groups by the first. */
  parts: readonly OptionPart[];
  /** The `klms-tool exec` flag, when the entrypoint takes it on its command line. */
  flag?: string;
  /** The environment variable (the flag wins over it). */
  env: string;
  unit: OptionUnit;
  /** The value when neither the flag nor the variable is set; undefined: none. */
  default: string | number | undefined;
  /** The smallest accepted number; `exclusive` refuses the bound itself. */
  min?: { value: number; exclusive?: boolean };
  /** The largest accepted number (a limit of S3, or past which a value only costs memory). */
  max?: { value: number; why: string };
  /** The accepted words of a `choice`. */
  choices?: readonly string[];
  /**
   * Older variables, read (in this order) only when the option's own is not set, with a warning;
   * in `unit` when given, else in the option's own unit (a renamed variable). Set beside the
   * option's own, one is ignored, and a warning says so.
   */
  deprecated?: readonly { env: string; unit?: "milliseconds" }[];
  /** What it does: one or more sentences, shown in `--help` and in the README. */
  doc: string;
}

const MiB = 1024 * 1024;

/** Every option of the kit. Keys are the options' names in code. */
export const OPTIONS = {
  worker: {
    parts: ["entrypoint"],
    flag: "--worker",
    env: "KLMS_WORKER",
    unit: "command",
    default: "node dist/main.js",
    doc:
      'The worker command, split like a shell would (quotes allowed, no expansion), run in the current directory. "node" means this Node. ' +
      'e.g. --worker "python3 -u main.py"',
  },
  workerThread: {
    parts: ["entrypoint"],
    flag: "--worker-thread",
    env: "KLMS_WORKER_THREAD",
    unit: "module",
    default: undefined,
    doc:
      "Run the tool module (which ends with main(import.meta, tool)) in a worker thread of this process instead of a second Node: " +
      "it loads while the input is fetched, and no second Node starts (BENCHMARKS.md measures each mode). A crash in native code " +
      "then ends the entrypoint too, so the platform learns nothing. In a thread process.chdir() throws, the tool's own " +
      'process.on("SIGTERM") never fires (task.signal does), and what reaches descriptors 1 and 2 by ways the runtime cannot ' +
      "guard (native code, a Worker of the tool's) is not masked. Keep a process (--worker-module) for such tools. " +
      "e.g. --worker-thread bundle/tool/main.mjs",
  },
  workerModule: {
    parts: ["entrypoint"],
    flag: "--worker-module",
    env: "KLMS_WORKER_MODULE",
    unit: "module",
    default: undefined,
    doc:
      "Run the tool module (built with klms-tool: it ends with main(import.meta, tool)) as a child Node process that starts " +
      "while the input is fetched, rather than after it as --worker does: the two Node starts overlap. The process " +
      "keeps every guarantee of --worker. The image's run.sh sets it to bundle/tool/main.mjs unless KLMS_WORKER or " +
      "KLMS_WORKER_THREAD is set. e.g. --worker-module bundle/tool/main.mjs",
  },
  gracePeriod: {
    parts: ["entrypoint", "worker"],
    flag: "--grace-period",
    env: "KLMS_GRACE_PERIOD",
    unit: "seconds",
    default: 10,
    min: { value: 0 },
    doc:
      "After SIGTERM/SIGINT or the timeout, how long the worker may take to stop. The worker gets it too (KLMS_GRACE_PERIOD): " +
      "a Node tool is reported cancelled by its runtime when it ends; 1 s later whatever still runs of the worker's process " +
      "group is killed (SIGKILL). Keep it well under the pod's terminationGracePeriodSeconds (30 s).",
  },
  timeout: {
    parts: ["entrypoint"],
    flag: "--timeout",
    env: "KLMS_TIMEOUT",
    unit: "seconds",
    default: undefined,
    min: { value: 0 },
    doc:
      "Overall time limit of the task, counted from the start; when it is reached the worker is stopped and the task reported " +
      "failed. 0: none.",
  },
  requestTimeout: {
    parts: ["entrypoint"],
    flag: "--request-timeout",
    env: "KLMS_REQUEST_TIMEOUT",
    unit: "seconds",
    default: 30,
    min: { value: 0, exclusive: true },
    doc: "Time limit of each request to the Data API.",
  },
  retries: {
    parts: ["entrypoint"],
    flag: "--retries",
    env: "KLMS_RETRIES",
    unit: "count",
    default: 5,
    min: { value: 0 },
    doc:
      "Retries of a request after a network error, a timeout, 408, 429 or 5xx (exponential backoff with full jitter; " +
      "Retry-After respected).",
  },
  retryDelay: {
    parts: ["entrypoint"],
    flag: "--retry-delay",
    env: "KLMS_RETRY_DELAY",
    unit: "seconds",
    default: 1,
    min: { value: 0 },
    doc: "First backoff ceiling; it doubles on each retry, up to 30 s.",
  },
  logLevel: {
    parts: ["logger"],
    env: "KLMS_LOG_LEVEL",
    unit: "choice",
    choices: ["debug", "info", "warn", "error"],
    default: "info",
    doc: "The lowest level of the lines the entrypoint and the tool's runtime write.",
  },
  logFormat: {
    parts: ["logger"],
    env: "KLMS_LOG_FORMAT",
    unit: "choice",
    choices: ["text", "json"],
    default: "text",
    doc: "`text`: one readable line per entry (`<time> INFO  [tool] message k=v`); `json`: one JSON object per line.",
  },
  endpoint: {
    parts: ["storage"],
    env: "KLMS_S3_ENDPOINT",
    unit: "url",
    default: undefined,
    doc:
      "The object store endpoint `task.storage` uses, instead of the task's `minio.internal_url` (in a pod) or " +
      "`minio.endpoint_url` (elsewhere), e.g. http://127.0.0.1:9000.",
  },
  partSize: {
    parts: ["storage"],
    env: "KLMS_S3_PART_SIZE",
    unit: "bytes",
    default: 8 * MiB,
    min: { value: 5 * MiB },
    max: { value: 5 * 1024 * MiB, why: "S3 takes parts of at most 5 GiB" },
    doc:
      "Part size of `task.storage`'s multipart uploads (at least 5 MiB). Each part in flight holds one buffer of this size: " +
      "memory per upload ≈ part size × upload concurrency.",
  },
  uploadConcurrency: {
    parts: ["storage"],
    env: "KLMS_S3_UPLOAD_CONCURRENCY",
    unit: "count",
    default: 4,
    min: { value: 1 },
    max: { value: 64, why: "more parts in flight than this only hold more part-size buffers" },
    // KLMS_S3_CONCURRENCY set both concurrencies, as the storage option `concurrency` still does.
    deprecated: [{ env: "KLMS_S3_QUEUE_SIZE" }, { env: "KLMS_S3_CONCURRENCY" }],
    doc: "Parts of one multipart upload (a file at or over the single-PUT limit, or a stream) sent at once by `task.storage`.",
  },
  singlePutMaxBytes: {
    parts: ["storage"],
    env: "KLMS_S3_SINGLE_PUT_MAX",
    unit: "bytes",
    // One PUT measured faster than parts on this kit's benchmark machine, on radosgw and between
    // network namespaces alike (BENCHMARKS.md, "Transfers"), so parts are kept for what one PUT
    // cannot carry: S3 takes at most 5 GiB in one PUT.
    default: 5 * 1024 * MiB,
    min: { value: 0 },
    max: { value: 5 * 1024 * MiB, why: "S3 takes at most 5 GiB in one PUT" },
    doc:
      "Files smaller than this go up in one streamed PUT (one stream, as curl -T; S3 takes at most 5 GiB so); others in " +
      "parts of the part size, upload concurrency at once. Parts are retried one by one: lower it where a failed " +
      "multi-GiB PUT would cost more than parts do.",
  },
  downloadConcurrency: {
    parts: ["storage"],
    env: "KLMS_S3_DOWNLOAD_CONCURRENCY",
    unit: "count",
    default: 4,
    min: { value: 1 },
    max: { value: 64, why: "more ranges in flight than this only add connections" },
    deprecated: [{ env: "KLMS_S3_CONCURRENCY" }],
    doc:
      "Ranges of one download in flight at once in `task.storage`, for objects of at least the ranged-GET minimum " +
      "(1: one GET, one stream). Ranges are streamed to the file, so memory stays about flat.",
  },
  downloadRangeSize: {
    parts: ["storage"],
    env: "KLMS_S3_DOWNLOAD_RANGE_SIZE",
    unit: "bytes",
    default: 8 * MiB,
    min: { value: 64 * 1024 },
    max: { value: 5 * 1024 * MiB, why: "a range is read into no buffer, but over 5 GiB it is one GET in all but name" },
    doc: "Bytes per ranged GET of a parallel download in `task.storage`.",
  },
  rangedGetMinBytes: {
    parts: ["storage"],
    env: "KLMS_S3_RANGED_GET_MIN",
    unit: "bytes",
    default: 64 * MiB,
    min: { value: 0 },
    doc: "Objects of at least this size are downloaded by `task.storage` as parallel ranges (download concurrency at once).",
  },
  idleTimeout: {
    parts: ["storage"],
    env: "KLMS_S3_IDLE_TIMEOUT",
    unit: "seconds",
    default: 60,
    min: { value: 0, exclusive: true },
    deprecated: [{ env: "KLMS_S3_IDLE_TIMEOUT_MS", unit: "milliseconds" }],
    doc:
      "A request to the object store whose connection moves no byte for this long, either way, fails with TimeoutError " +
      "(then retried). Not a limit on a whole transfer. Getting a connection may take twice as long.",
  },
  maxAttempts: {
    parts: ["storage"],
    env: "KLMS_S3_MAX_ATTEMPTS",
    unit: "count",
    default: 5,
    min: { value: 1 },
    doc: "Attempts per request to the object store, with the AWS SDK's backoff on throttling, 5xx and network errors.",
  },
} as const satisfies Record<string, OptionSpec>;

/** The name of an option in code. */
export type OptionName = keyof typeof OPTIONS;

/** The value type of each unit once read. */
type ValueOf<U extends OptionUnit> = U extends "seconds" | "bytes" | "count" ? number : string;

/** An option's value once read: a number for seconds, bytes and counts, else text. */
export type OptionValue<K extends OptionName> = ValueOf<(typeof OPTIONS)[K]["unit"]>;

/** A bad value, naming the flag or variable it came from and what it should look like. */
export class OptionError extends KlmsError<"BadOption"> {
  override name = "OptionError";
  constructor(message: string) {
    super("BadOption", message);
  }
}

/** The longest single wait between retries of a Data API request (the `retryDelay` doc's "up to 30 s"). */
export const MAX_RETRY_DELAY_SECONDS = 30;

/** Shows an option's default the way a person would type it (`8 MiB`, `10`, `none`). */
export function formatDefault(spec: OptionSpec): string {
  const value = spec.default;
  if (value === undefined) return "none";
  if (spec.unit === "bytes" && typeof value === "number") return formatByteCount(value);
  return String(value);
}

function formatByteCount(n: number): string {
  for (const [suffix, size] of [
    ["GiB", 1024 * MiB],
    ["MiB", MiB],
    ["KiB", 1024],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${suffix}`;
  }
  return String(n);
}
