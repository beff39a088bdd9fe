/**
 * What the `klms-tool` executable undoes when it is interrupted (Ctrl-C, SIGINT, SIGTERM), in one
 * place for every command:
 * - {@link interruptible}: the process's SIGINT/SIGTERM abort the `io.signal` the command received,
 *   and the command ends with 130 (SIGINT) or 143 (SIGTERM) once it has cleaned up;
 * - {@link spawnGroup}: an external tool (podman, docker, npm, an entrypoint) started in its own
 *   process group, the whole group stopped when the command is aborted, and killed when the CLI exits;
 * - {@link makePrivateDir}: a private temporary folder (auth files) removed by its owner, and in any
 *   case when the process exits, also when it is forced to.
 * Without a handler Node dies at once on SIGINT: `finally` blocks never run, so a registry password
 * stayed in /tmp and `podman push` went on as an orphan (attack5 F2).
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How long an interrupted command may take to clean up before the process exits anyway: 10 s. */
export const INTERRUPT_GRACE_MS = 10_000;

/** Private folders not yet removed, and process groups not yet ended: what the exit hook undoes. */
const privateDirs = new Set<string>();
const groups = new Set<number>();
let exitHookInstalled = false;

/** Once: at process exit (normal, process.exit, or after a signal we handle) undo what is left. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pgid of groups) killGroup(pgid, "SIGKILL");
    // Synchronous on purpose: an exit hook cannot wait for a promise.
    for (const dir of privateDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** The exit code of a command ended by `signal`: 128 + its number (130 SIGINT, 143 SIGTERM). */
export function interruptedExitCode(signal: NodeJS.Signals): number {
  return 128 + (signal === "SIGINT" ? 2 : 15);
}

/** What {@link interruptible} gives the command runner. */
export interface Interruption {
  /** Aborted by SIGINT/SIGTERM, {@link Interruption.interrupt}, or when `parent` aborts. Hand it to the command as `io.signal`. */
  signal: AbortSignal;
  /**
   * Interrupts the command as a signal does: aborts `signal`, arms the grace timer; a second call
   * (or signal) exits at once. `exitCode` is what the command then ends with (141 for a closed stdout).
   */
  interrupt(exitCode: number, reason: string): void;
  /** The exit code of the interruption, if there was one: 130 SIGINT, 143 SIGTERM, or what `interrupt` was given. */
  exitCode(): number | undefined;
  /** Removes the signal handlers (the exit hook stays). */
  dispose(): void;
}

/**
 * Wires the process's SIGINT and SIGTERM to an AbortSignal, for one command run by the executable.
 * The first signal aborts (the command stops its children and removes its files, then returns) and
 * arms a {@link INTERRUPT_GRACE_MS} timer that exits anyway; a second signal exits at once. Either
 * way the exit hook kills the process groups and removes the private folders still registered.
 * @param parent a signal that also aborts (the caller's own `io.signal`)
 * @param onSignal told of the first signal, e.g. to print "interrupted"
 */
export function interruptible(
  parent: AbortSignal,
  onSignal: (signal: NodeJS.Signals) => void,
  graceMs = INTERRUPT_GRACE_MS,
): Interruption {
  installExitHook();
  const controller = new AbortController();
  const forward = () => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener("abort", forward, { once: true });
  let code: number | undefined;
  const interrupt = (exitCode: number, reason: string) => {
    if (code !== undefined) process.exit(code); // the second Ctrl-C: now
    code = exitCode;
    // Also when the command has already returned (a closed stdout noticed after its last write).
    process.exitCode = exitCode;
    controller.abort(new Error(reason));
    // unref: a command that cleans up in time ends the process itself, without waiting for the timer.
    setTimeout(() => process.exit(exitCode), graceMs).unref();
  };
  const handler = (signal: NodeJS.Signals) => {
    if (code === undefined) onSignal(signal);
    interrupt(interruptedExitCode(signal), `interrupted by ${signal}`);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: controller.signal,
    interrupt,
    exitCode: () => code,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
      parent.removeEventListener("abort", forward);
    },
  };
}

/** Sends `signal` to every process of group `pgid`; a group already gone is not an error. */
function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: every process of the group has ended
  }
}

/**
 * Starts `command args…` as the leader of a new process group (no shell). When `signal` aborts the
 * whole group gets SIGTERM (podman's helpers, npm's scripts, not only the first process); a group
 * still alive when the CLI exits gets SIGKILL. The child's "close" event comes as usual.
 * @param options spawn's options; `detached` is set here (Windows: a plain spawn)
 */
export function spawnGroup(
  command: string,
  args: string[],
  options: Omit<SpawnOptions, "detached" | "signal"> & { signal?: AbortSignal },
): ChildProcess {
  const { signal, ...rest } = options;
  const grouped = process.platform !== "win32";
  const child = spawn(command, args, { ...rest, detached: grouped });
  const pgid = child.pid;
  if (!grouped || pgid === undefined) return child; // spawn failed: its "error" event tells
  installExitHook();
  groups.add(pgid);
  const stop = () => killGroup(pgid, "SIGTERM");
  if (signal?.aborted) stop();
  else signal?.addEventListener("abort", stop, { once: true });
  child.on("exit", () => {
    groups.delete(pgid);
    signal?.removeEventListener("abort", stop);
  });
  return child;
}

/** A private temporary folder (mode 0700) and how to remove it. */
export interface PrivateDir {
  path: string;
  /** Removes the folder and everything in it; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Registers a folder someone else made (a temporary local KLMS's data) to be removed when the
 * process exits, in case its owner cannot remove it first. Returns the function that unregisters it.
 */
export function removeAtExit(path: string): () => void {
  installExitHook();
  privateDirs.add(path);
  return () => privateDirs.delete(path);
}

/**
 * Creates a private folder under the system's temporary folder, e.g. for an auth file. Its owner
 * removes it with `remove()` in a `finally`; whatever was not removed goes when the process exits.
 * @param prefix the folder name's start, e.g. "klms-push-"
 */
export async function makePrivateDir(prefix: string): Promise<PrivateDir> {
  installExitHook();
  const path = await mkdtemp(join(tmpdir(), prefix));
  privateDirs.add(path);
  return {
    path,
    async remove() {
      await rm(path, { recursive: true, force: true });
      privateDirs.delete(path);
    },
  };
}
