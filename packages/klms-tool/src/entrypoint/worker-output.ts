/**
 * Reads the output.json the worker left and checks it against the platform's rules, so that an
 * output the platform would reject (422) or misread is never posted: run.sh posted whatever the
 * file held, and a bad file left the task "running" forever.
 */
import { readFile } from "node:fs/promises";
import { checkTaskOutput, type TaskOutput, type Violation } from "../contract/index.js";

/** What output.json turned out to be. */
export type WorkerOutput =
  | { kind: "missing" }
  | { kind: "unreadable"; reason: string }
  | { kind: "not-json"; reason: string }
  | { kind: "invalid"; violations: Violation[] }
  | { kind: "valid"; output: TaskOutput; state: "succeeded" | "failed"; warnings: Violation[] };

/** Output files larger than this are not read: no valid output is anywhere near (metrics are capped far lower). */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** Reads and checks the worker's output file. */
export async function readWorkerOutput(path: string): Promise<WorkerOutput> {
  let text: string;
  try {
    const buffer = await readFile(path);
    if (buffer.length > MAX_OUTPUT_BYTES) {
      return {
        kind: "unreadable",
        reason: `output.json is ${buffer.length} bytes, over the ${MAX_OUTPUT_BYTES}-byte limit`,
      };
    }
    text = buffer.toString("utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "missing" };
    return { kind: "unreadable", reason: `output.json could not be read (${code ?? (err as Error).message})` };
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
