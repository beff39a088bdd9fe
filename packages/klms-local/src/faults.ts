/**
 * Test-only fault injection: the next N requests that match fail with a status (in the
 * platform's error envelope), wait first, or lose their connection without a reply. Lets the
 * tests of a tool's entrypoint reproduce a flaky cluster on demand.
 */
import { isObject } from "klms-tool/internal";
import { ApiError } from "./envelope.js";

/**
 * One fault. `match`: `"input"` (the input GETs), `"output"` (the output POSTs), `"any"` (every
 * task API request), or any other string: a substring of the request path.
 */
export interface Fault {
  match: "input" | "output" | "any" | string;
  /** How many matching requests it hits; default 1. */
  times?: number;
  /** Reply with this status and the platform's error envelope. */
  status?: number;
  /** Wait this long first (then fail, drop, or serve the request normally). */
  delayMs?: number;
  /** Destroy the socket without a reply. */
  drop?: boolean;
  /**
   * Serve the request first, then fail or drop the reply: the server has acted (e.g. recorded
   * the output) but the client sees a failure, as when a reply is lost. Default: before.
   */
  after?: boolean;
}

/** The faults in force, consumed in the order they were added. */
export class FaultList {
  #faults: Array<Required<Pick<Fault, "match" | "times">> & Fault> = [];

  /** Adds a fault after checking its shape (a 422 on a bad one, for the HTTP route). */
  add(fault: Fault): void {
    this.#faults.push({ ...checkFault(fault), times: fault.times ?? 1 });
  }

  /** Removes every fault. */
  clear(): void {
    this.#faults = [];
  }

  /** The faults still armed. */
  list(): Fault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  /** Takes one hit of the first fault matching the request, if any. */
  take(method: string, path: string): Fault | undefined {
    const index = this.#faults.findIndex((f) => matches(f.match, method, path));
    if (index < 0) return undefined;
    const fault = this.#faults[index]!;
    fault.times -= 1;
    if (fault.times <= 0) this.#faults.splice(index, 1);
    return { ...fault };
  }
}

function matches(match: string, method: string, path: string): boolean {
  if (match === "any") return true;
  if (match === "input") return method === "GET" && path.endsWith("/input");
  if (match === "output") return method === "POST" && path.endsWith("/output");
  return path.includes(match);
}

function checkFault(fault: unknown): Fault {
  const problems: Record<string, string[]> = {};
  const bad = (key: string, message: string) => {
    problems[key] = [message];
  };
  if (!isObject(fault)) throw new ApiError(422, "Validation error", { json: { _schema: ["Invalid input type."] } });
  if (typeof fault.match !== "string" || fault.match === "") bad("match", "Must be a non-empty string.");
  if (fault.times !== undefined && !(Number.isInteger(fault.times) && (fault.times as number) > 0)) {
    bad("times", "Must be a positive integer.");
  }
  if (
    fault.status !== undefined &&
    !(Number.isInteger(fault.status) && (fault.status as number) >= 400 && (fault.status as number) <= 599)
  ) {
    bad("status", "Must be an HTTP error status (400-599).");
  }
  if (fault.delayMs !== undefined && !(typeof fault.delayMs === "number" && fault.delayMs >= 0)) {
    bad("delayMs", "Must be a number of milliseconds >= 0.");
  }
  for (const key of ["drop", "after"]) {
    if (fault[key] !== undefined && typeof fault[key] !== "boolean") bad(key, "Must be a boolean.");
  }
  for (const key of Object.keys(fault)) {
    if (!["match", "times", "status", "delayMs", "drop", "after"].includes(key)) bad(key, "Unknown field.");
  }
  if (Object.keys(problems).length > 0) throw new ApiError(422, "Validation error", { json: problems });
  return fault as unknown as Fault;
}
