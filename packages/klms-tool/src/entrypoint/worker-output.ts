/**
 * Reads the output.json the worker left and checks it against the platform's rules, so that an
 * output the platform would reject (422) or misread is never posted: run.sh posted whatever the
 * file held, and a bad file left the task "running" forever.
 */
import { decodeUtf8, ReadLimitError, readFileBounded } from "../contract/bounded-read.js";
import { checkTaskOutput, type TaskOutput, type Violation } from "../contract/index.js";
import { MAX_OUTPUT_BYTES } from "../contract/limits.js";

/** What output.json turned out to be. */
export type OutputFile =
  | { kind: "missing" }
  | { kind: "unreadable"; reason: string }
  | { kind: "not-json"; reason: string }
  | { kind: "invalid"; violations: Violation[] }
  | { kind: "valid"; output: TaskOutput; state: "succeeded" | "failed"; warnings: Violation[] };

/**
 * Reads and checks the worker's output file, bounded (a regular file of at most 16 MiB, see
 * bounded-read.ts) and strictly decoded: invalid UTF-8 is "unreadable", never repaired.
 */
export async function readOutputFile(path: string): Promise<OutputFile> {
  let text: string;
  try {
    text = decodeUtf8(await readFileBounded(path, { what: "output.json", maxBytes: MAX_OUTPUT_BYTES }), "output.json");
  } catch (err) {
    if (err instanceof ReadLimitError && err.code === "missing") return { kind: "missing" };
    return {
      kind: "unreadable",
      reason: err instanceof ReadLimitError ? err.message : `output.json could not be read (${(err as Error).message})`,
    };
  }
  if (text.trim() === "") return { kind: "not-json", reason: "output.json is empty" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: "not-json", reason: `output.json is not valid JSON (${(err as Error).message})` };
  }
  const check = checkTaskOutput(value);
  if (!check.valid || (check.state !== "succeeded" && check.state !== "failed")) {
    return { kind: "invalid", violations: check.violations };
  }
  return {
    kind: "valid",
    output: value as TaskOutput,
    state: check.state,
    warnings: check.violations.filter((v) => v.severity === "warning"),
  };
}
