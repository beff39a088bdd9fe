/**
 * Runs one builder command: arguments as an array (no shell), stdin only when given (the
 * password for `login --password-stdin`), stdout and stderr as lines to `onLine`, the last lines
 * kept for error messages. Every line has the given secrets replaced by "***" before anyone sees it.
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { spawnGroup } from "../cli/interrupt.js";

/** How many output lines an error message may quote. */
const TAIL_LINES = 15;

/** One builder command to run. */
export interface ExecOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Written to the process's stdin, then closed; stdin is /dev/null when absent. */
  stdin?: string;
  /** Strings that must never appear in a line (passwords): replaced by "***". */
  secrets?: string[];
  onLine?: (line: string) => void;
  /** Aborting it sends SIGTERM to the command's whole process group. */
  signal?: AbortSignal;
}

/** The outcome: the exit code (null when killed), the signal if any, the last lines. */
export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  tail: string[];
  /** The spawn error, e.g. ENOENT when the command is not installed. */
  error?: NodeJS.ErrnoException;
}

/** Runs `command args…` to its end; never rejects (the caller turns the result into an ImageError). */
export function execBuilder(o: ExecOptions): Promise<ExecResult> {
  const secrets = (o.secrets ?? []).filter((s) => s.length > 0);
  const clean = (text: string) => secrets.reduce((t, s) => t.split(s).join("***"), text);
  const tail: string[] = [];
  return new Promise((done) => {
    // Its own process group: an abort stops podman's helpers too, not only podman (attack5 F2).
    const child = spawnGroup(o.command, o.args, {
      env: o.env ?? process.env,
      stdio: [o.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      ...(o.signal ? { signal: o.signal } : {}),
    });
    let error: NodeJS.ErrnoException | undefined;
    const take = (raw: string) => {
      const text = clean(raw);
      tail.push(text);
      if (tail.length > TAIL_LINES) tail.shift();
      o.onLine?.(text);
    };
    const ends = [child.stdout, child.stderr]
      .flatMap((stream) => (stream ? [stream] : []))
      .map(
        (stream) =>
          new Promise<void>((end) => {
            const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
            lines.on("line", take);
            lines.on("close", end);
          }),
      );
    if (o.stdin !== undefined && child.stdin) {
      child.stdin.on("error", () => {}); // a command that exits before reading: its exit code tells
      child.stdin.end(o.stdin);
    }
    child.on("error", (e) => {
      error = e;
    });
    child.on("close", (code, signal) => {
      void Promise.all(ends).then(() => done({ code, signal, tail, ...(error ? { error } : {}) }));
    });
  });
}

/** Whether `command` is an executable file in one of env.PATH's folders. */
export async function onPath(command: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}
