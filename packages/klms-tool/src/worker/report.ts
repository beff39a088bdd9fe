import { formatViolations, type TaskOutput, type Violation } from "../contract/output.js";
import type { Masker } from "../log/mask.js";

const MAX_ERROR_CHARS = 8000;

/** A failure report the platform accepts: status failed, a one-line message, details in `error`. */
export function failureOutput(
  message: string,
  details: string | undefined,
  metrics: Record<string, unknown>,
  /** Required: a failure report quotes errors, and errors quote secrets. */
  masker: Masker,
): TaskOutput {
  const mask = (s: string) => masker.mask(s);
  const report: TaskOutput = { status: "failed", message: mask(message), metrics };
  const error = details ?? message;
  report.error = mask(error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}\n… (cut)` : error);
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
