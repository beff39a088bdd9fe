/**
 * One run of a task's container, as a pod's container "main" runs on the cluster: a command gets
 * the Job's four positional arguments `["Bearer <jwt>", "<api url>/", <task id>, <signature>]`
 * (or the seed-era three, without the signature), no environment of its own, and what it prints
 * on stdout and stderr becomes the pod's log. Stopping it works like a pod's deletion: SIGTERM,
 * then SIGKILL once the termination grace period is over.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { setPriority } from "node:os";
import { dirname } from "node:path";
import { finished } from "node:stream/promises";
import { Masker } from "klms-tool/internal";

/** How a run ended, with what it printed. `logs` is stdout and stderr interleaved line by line as they came. */
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
  /** Send SIGTERM after this long (then SIGKILL after the grace period), like a terminated Job. */
  timeoutMs?: number;
}

/** What a started run gives back: the child, the promise of its end, and how to stop it. */
export interface StartedRun {
  child: ChildProcess;
  done: Promise<RunResult>;
  /**
   * Stops the run like Kubernetes stops a pod: SIGTERM now, SIGKILL when `graceMs` (default: the
   * run's grace period) has passed and it still runs. Calling it again changes nothing.
   */
  stop(graceMs?: number): void;
  /** SIGKILL now (the local KLMS is stopping). */
  kill(): void;
}

/**
 * A pod's `terminationGracePeriodSeconds` when the spec sets none (Kubernetes' default, 30 s),
 * in milliseconds: the time between SIGTERM and SIGKILL. The platform's Job manifest sets none
 * (data-api src/execution/job.py:309-369).
 */
export const TERMINATION_GRACE_MS = 30_000;

/**
 * The niceness a pod's process runs at unless told otherwise: the lowest CPU priority. The local
 * KLMS runs its pods on its own machine; at the server's priority 50 busy pods left it about a
 * fiftieth of a core, and its answers (the task list, the pods' own input and output calls)
 * waited seconds to minutes. On the cluster the API server has its own node; here it keeps its
 * share of the CPU because the pods yield to it.
 */
export const POD_NICENESS = 19;

/** The variables a local run inherits: enough to find programs, nothing from the caller's session. */
const INHERITED = ["PATH", "HOME", "TMPDIR", "TEMP", "TMP", "SystemRoot", "SYSTEMROOT", "LANG"];

/** Settings of {@link startRun}. */
export interface StartRunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** The whole environment instead of the minimal one plus `env` (for a container engine's client). */
  fullEnv?: boolean;
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL; default {@link TERMINATION_GRACE_MS}. */
  graceMs?: number;
  /** Where the log goes as it comes (appended, mode 0600). */
  logFile: string;
  /**
   * The child's niceness, 0 (the caller's priority) to 19 (the lowest), set as soon as it has
   * started; default 0. Only the child itself: what it starts later inherits it, what it asks
   * another process to start (podman's containers) does not.
   */
  niceness?: number;
  /** Values masked in the log and the result (the token, the signature, the task's secrets). */
  secrets?: unknown[];
  /**
   * The masker to use (and add those values to): the Job's, shared by its pods, so values handed
   * out while the pod runs (the MinIO credentials of its input) are masked too. Default: a new one.
   */
  masker?: Masker;
}

/**
 * Starts `command` with the Job's arguments appended; writes its output, masked line by line,
 * to `logFile` as it comes. The promise never rejects: a command that cannot start ends with
 * `exitCode: null` and the reason in `stderr`.
 */
export function startRun(command: string[], jobArgs: string[], options: StartRunOptions): StartedRun {
  const [program, ...programArgs] = command;
  if (!program) throw new Error("the runner needs a command, e.g. [process.execPath, 'dist/entry.js']");
  const masker = options.masker ?? new Masker();
  for (const secret of [...jobArgs.slice(3), jobArgs[0], ...(options.secrets ?? [])]) masker.addAll(secret);

  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: "a", mode: 0o600 });
  const child = spawn(program, [...programArgs, ...jobArgs], {
    cwd: options.cwd,
    env: runEnvironment(options),
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Right after the exec, before the tool's own start-up; the child began at the caller's
  // priority, which also keeps spawn() short (it waits for the exec) when the cores are busy.
  if (options.niceness && child.pid !== undefined) lowerPriority(child.pid, options.niceness);
  const text = { stdout: "", stderr: "", logs: "" };
  const capture = (name: "stdout" | "stderr") => {
    const masked = child[name].pipe(masker.stream());
    masked.on("data", (chunk: Buffer | string) => {
      const s = chunk.toString();
      text[name] += s;
      text.logs += s;
      log.write(s);
    });
    return finished(masked).catch(() => undefined);
  };
  const captured = Promise.all([capture("stdout"), capture("stderr")]);

  const stopper = gracefulStop(child, options.graceMs ?? TERMINATION_GRACE_MS);
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => stopper.stop(), options.timeoutMs);

  const done = new Promise<RunResult>((resolve) => {
    let settled = false;
    const settle = async (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopper.clear();
      await captured;
      log.end(() => resolve({ exitCode, signal, ...text }));
    };
    child.once("error", (error) => {
      // Only a failure to start ends the run here; later errors (e.g. a failed kill) do not.
      if (child.pid !== undefined) return;
      const line = `klms-local: could not start ${program}: ${error.message}\n`;
      text.stderr += line;
      text.logs += line;
      log.write(line);
      void settle(null, null);
    });
    child.once("close", (code, signal) => void settle(code, signal));
  });
  return { child, done, stop: stopper.stop, kill: () => child.kill("SIGKILL") };
}

/** Lowers a process's CPU priority; where the system refuses (it may, e.g. in some containers), it runs as it is. */
function lowerPriority(pid: number, niceness: number): void {
  try {
    setPriority(pid, niceness);
  } catch {
    // Not fatal: the run only competes with the local KLMS for the CPU.
  }
}

function runEnvironment(options: StartRunOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (options.fullEnv || INHERITED.includes(name))) env[name] = value;
  }
  return Object.assign(env, options.env);
}

/** SIGTERM, then SIGKILL after the grace period unless the child has ended. */
function gracefulStop(child: ChildProcess, defaultGraceMs: number) {
  let killer: NodeJS.Timeout | undefined;
  return {
    stop(graceMs = defaultGraceMs) {
      if (killer !== undefined || child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      killer.unref();
    },
    clear() {
      clearTimeout(killer);
    },
  };
}
