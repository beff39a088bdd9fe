import { formatViolations, Status, type TaskOutput, type Violation } from "../contract/output.js";
import type { Masker } from "../log/mask.js";

/** The longest `error` the worker's runtime writes (a stack trace can be huge). */
export const MAX_ERROR_CHARS = 8000;

/**
 * The one builder of a failure report, for the worker's runtime and the entrypoint alike: a task
 * output the platform accepts, with status failed, a one-line `message`, the details in `error`
 * (the message when there are none), and the given metrics. Every string is masked.
 */
export function failureReport(
  message: string,
  details: string | undefined,
  metrics: Record<string, unknown>,
  /** Required: a failure report quotes errors, and errors quote secrets. */
  masker: Masker,
  /** Cut `error` after this many characters (the runtime: {@link MAX_ERROR_CHARS}). Default: no cut. */
  maxErrorChars = Number.POSITIVE_INFINITY,
): TaskOutput {
  const mask = (s: string) => masker.mask(s);
  const report: TaskOutput = { status: Status.Failed, message: mask(message), metrics };
  const error = details ?? message;
  report.error = mask(error.length > maxErrorChars ? `${error.slice(0, maxErrorChars)}\n… (cut)` : error);
  return report;
}

/** A failure message for an output that broke the platform's rules. */
export function invalidOutputMessage(what: string, violations: Violation[]): string {
  return `${what} the platform would reject:\n${formatViolations(violations.filter((v) => v.severity === "error"))}`;
}

/** The message and details of a thrown value (an Error or anything else). */
export function describeThrown(error: unknown): { message: string; details: string } {
  if (error instanceof Error) {
    return { message: `${error.name}: ${error.message}`, details: error.stack ?? `${error.name}: ${error.message}` };
  }
  const text = typeof error === "string" ? error : (JSON.stringify(error) ?? String(error));
  return { message: `the tool threw a non-Error value: ${text}`, details: text };
}
