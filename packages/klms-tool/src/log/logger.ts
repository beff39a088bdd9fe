import { type Env, readOptionsLeniently } from "../config/read.js";
import type { Masker } from "./mask.js";

/** Log levels, in order. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A logger that writes one line per entry, with a level, and masks every registered secret. */
export interface Logger {
  /** A detail, written only with `KLMS_LOG_LEVEL=debug`; `fields` end the line as `k=v`. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** A step worth a line in the task's log (written by default). */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Something that did not stop the task but may surprise. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A failure. */
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry another source name (e.g. `tool`, `entrypoint`). */
  child(source: string): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Name shown on each line, e.g. `entrypoint`. */
  source: string;
  /** Required, so that no logger of the kit can skip masking (`new Masker()` when nothing is secret yet). */
  masker: Masker;
  /**
   * Minimum level written. Default `info`. The logger reads no environment: the entrypoint and
   * the worker pass `KLMS_LOG_LEVEL` from the one configuration table (see {@link logSettings}).
   */
  level?: LogLevel;
  /** `text` (default) or `json` lines; `KLMS_LOG_FORMAT` through {@link logSettings}. */
  format?: "text" | "json";
  /** Where lines go. Default: standard error, so that standard output stays the tool's. */
  write?: (line: string) => void;
}

/**
 * Creates a logger. Text lines look like
 * `2026-11-25T10:00:00.000Z INFO  [entrypoint] input fetched task=… bytes=812`,
 * easy to grep in `kubectl logs`; JSON lines carry the same fields.
 */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "text";
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const mask = (s: string) => options.masker.mask(s);

  const log = (source: string, lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const time = new Date().toISOString();
    let line: string;
    if (format === "json") {
      line = JSON.stringify({ time, level: lvl, source, msg: message, ...fields });
    } else {
      const extra = fields
        ? Object.entries(fields)
            .map(([k, v]) => ` ${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
            .join("")
        : "";
      line = `${time} ${lvl.toUpperCase().padEnd(5)} [${source}] ${message}${extra}`;
    }
    write(`${mask(line)}\n`);
  };

  const make = (source: string): Logger => ({
    debug: (m, f) => log(source, "debug", m, f),
    info: (m, f) => log(source, "info", m, f),
    warn: (m, f) => log(source, "warn", m, f),
    error: (m, f) => log(source, "error", m, f),
    child: (s) => make(s),
  });
  return make(options.source);
}

/**
 * The logger's settings from an environment (`KLMS_LOG_LEVEL`, `KLMS_LOG_FORMAT`): a bad value
 * falls back to the default with a warning to log, since a log setting must not stop a task.
 */
export function logSettings(env?: Env): { level: LogLevel; format: "text" | "json"; warnings: string[] } {
  const { values, warnings } = readOptionsLeniently(["logLevel", "logFormat"], env);
  return { level: values.logLevel, format: values.logFormat, warnings };
}
