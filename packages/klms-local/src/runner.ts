/**
 * Runs a task the way the cluster's Job does: the tool's command gets the four positional
 * arguments `["Bearer <jwt>", "<api url>/", <task id>, <signature>]` (or the seed-era three,
 * without the signature), no environment of its own, and its stdout and stderr become the
 * task's logs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** How a run ended, with what it printed. `logs` is stdout and stderr interleaved as they came. */
export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  logs: string;
}

/** Per-run settings; each overrides the local KLMS's `runner` option. */
export interface RunOptions {
  /** The program and its own arguments; the Job's arguments are appended. */
  command?: string[];
  /** 4 (default): token, API URL, id, signature. 3: the seed-era form without the signature. */
  args?: 3 | 4;
  cwd?: string;
  /** Added to the minimal environment (PATH, HOME, temp dir), as the cluster sets none. */
  env?: Record<string, string>;
  /** Send SIGTERM after this long (then SIGKILL after a grace period), like a terminated Job. */
  timeoutMs?: number;
}

/** What a started run gives back: the child, and a promise of its end. */
export interface StartedRun {
  child: ChildProcess;
  done: Promise<RunResult>;
}

/** How long a run gets between SIGTERM and SIGKILL, like a pod's termination grace period. */
export const KILL_GRACE_MS = 5_000;

/** The variables a local run inherits: enough to find programs, nothing from the caller's session. */
const INHERITED = ["PATH", "HOME", "TMPDIR", "TEMP", "TMP", "SystemRoot", "SYSTEMROOT", "LANG"];

/**
 * Starts `command` with the Job's arguments appended; writes its output to `logFile` as it comes.
 * The promise never rejects: a command that cannot start ends with `exitCode: null` and the
 * reason in `stderr`.
 */
export function startRun(
  command: string[],
  jobArgs: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; logFile: string },
): StartedRun {
  const [program, ...programArgs] = command;
  if (!program) throw new Error("the runner needs a command, e.g. [process.execPath, 'dist/entry.js']");
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.env);

  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: "a", mode: 0o600 });
  const child = spawn(program, [...programArgs, ...jobArgs], {
    cwd: options.cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let logs = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    logs += chunk.toString();
    log.write(chunk);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    logs += chunk.toString();
    log.write(chunk);
  });

  let timer: NodeJS.Timeout | undefined;
  let killer: NodeJS.Timeout | undefined;
  if (options.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      child.kill("SIGTERM");
      killer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
      killer.unref();
    }, options.timeoutMs);
  }

  const done = new Promise<RunResult>((resolve) => {
    let settled = false;
    const settle = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killer);
      log.end(() => resolve({ exitCode, signal, stdout, stderr, logs }));
    };
    child.once("error", (error) => {
      // Only a failure to start ends the run here; later errors (e.g. a failed kill) do not.
      if (child.pid !== undefined) return;
      const line = `klms-local: could not start ${program}: ${error.message}\n`;
      stderr += line;
      logs += line;
      log.write(line);
      settle(null, null);
    });
    child.once("close", (code, signal) => settle(code, signal));
  });
  return { child, done };
}
