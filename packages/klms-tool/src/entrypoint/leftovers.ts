/**
 * Processes a worker leaves behind: a tool's subprocesses that still run once the worker has
 * ended (they would outlive the task, and hold the entrypoint's pipes). For a worker process they
 * are its process group; for a worker thread, the entrypoint's own descendants that carry the
 * thread's mark in their environment. Processes that left both (a new session, a cleared
 * environment, a double fork) are out of reach; in a pod, the container's end stops them.
 * @internal
 */
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "../log/logger.js";

/** Processes that can be asked whether any still runs, and signalled together. */
export interface Leftovers {
  alive(): boolean;
  signal(signal: NodeJS.Signals): void;
}

/** How often leftovers are checked while they are given time to stop. */
const POLL_MS = 50;

/** One process as /proc/<pid>/stat shows it. */
interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
}

/** Every process /proc lists (Linux), or undefined where there is no /proc. */
function processes(): ProcStat[] | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const found: ProcStat[] = [];
  for (const pid of pids) {
    try {
      // Fields after the command (which may hold spaces and parentheses): state ppid pgrp …
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const [state = "", ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      found.push({ pid: Number(pid), state, ppid: Number(ppid), pgrp: Number(pgrp) });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Not a zombie: as a pod's PID 1 the entrypoint inherits orphans that nobody reaps. */
const running = (p: ProcStat) => p.state !== "Z" && p.state !== "X";

/** The worker's process group (its id is the worker's pid, as it was started detached). */
export class ProcessGroup implements Leftovers {
  constructor(readonly id: number) {}

  /**
   * True while any process of the group is alive, the worker or a descendant. A zombie does not
   * count (kill(-id, 0) would still find it). On Linux the group is read from /proc; elsewhere
   * kill(-id, 0) decides.
   */
  alive(): boolean {
    try {
      process.kill(-this.id, 0);
    } catch {
      return false;
    }
    const all = processes();
    return all === undefined || all.some((p) => p.pgrp === this.id && running(p));
  }

  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.id, signal);
    } catch {
      // Gone already.
    }
  }
}

/**
 * The processes a worker thread's tool started: a thread shares the entrypoint's process and
 * group, so they are told apart by a mark in their environment ({@link THREAD_MARK_ENV}, set in
 * the thread's and inherited by what it spawns), among the entrypoint's descendants. Linux only
 * (elsewhere none are found).
 */
export class ThreadSpawned implements Leftovers {
  readonly #entry: string;

  /** `mark`: the value of {@link THREAD_MARK_ENV} in the thread's environment. */
  constructor(mark: string) {
    this.#entry = `${THREAD_MARK_ENV}=${mark}`;
  }

  #pids(): number[] {
    const all = processes()?.filter(running) ?? [];
    const children = new Map<number, number[]>();
    for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
    const found: number[] = [];
    const queue = [...(children.get(process.pid) ?? [])];
    while (queue.length > 0) {
      const pid = queue.shift() as number;
      if (this.#marked(pid)) found.push(pid);
      queue.push(...(children.get(pid) ?? []));
    }
    return found;
  }

  #marked(pid: number): boolean {
    try {
      return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(this.#entry);
    } catch {
      return false;
    }
  }

  alive(): boolean {
    return this.#pids().length > 0;
  }

  signal(signal: NodeJS.Signals): void {
    for (const pid of this.#pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // Gone already.
      }
    }
  }
}

/** The environment variable that marks what a worker thread's tool starts (see {@link ThreadSpawned}). */
export const THREAD_MARK_ENV = "KLMS_WORKER_THREAD_MARK";

/**
 * The worker has ended but processes it started are still running. They get SIGTERM (unless the
 * cancellation already sent it), the grace period to stop, then SIGKILL.
 */
export async function stopLeftovers(
  leftovers: Leftovers,
  run: { log: Logger; gracePeriodMs: number },
  signalled: boolean,
): Promise<void> {
  run.log.warn("the worker exited, but processes it started are still running: stopping them", {
    grace_period_s: run.gracePeriodMs / 1000,
  });
  if (!signalled) leftovers.signal("SIGTERM");
  const deadline = Date.now() + run.gracePeriodMs;
  while (leftovers.alive() && Date.now() < deadline) await delay(POLL_MS);
  if (!leftovers.alive()) return;
  run.log.warn("processes the worker started did not stop within the grace period: killing them");
  leftovers.signal("SIGKILL");
  for (let i = 0; i < 20 && leftovers.alive(); i++) await delay(POLL_MS);
}
