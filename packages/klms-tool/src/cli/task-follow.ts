/**
 * Following a task: its state until it ends, the new part of each pod's log as it grows, and the
 * summary printed at the end (state, run time, message, metrics, outputs).
 */
import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { KlmsClient, TaskRecord } from "../client/index.js";
import { say } from "./cluster-io.js";

/** Prints what each pod's log gained since the last call; true when anything was new. */
export function logPrinter(stream: Writable): (logs: Record<string, string>) => boolean {
  const seen = new Map<string, number>();
  return (logs) => {
    let changed = false;
    for (const [pod, text] of Object.entries(logs)) {
      const from = seen.get(pod);
      if (from === undefined && Object.keys(logs).length > 1) say(stream, `--- pod ${pod} ---`);
      // A pending pod's placeholder is not a log (kubernetes.py: "Pod is in Pending status…").
      if (text.startsWith("Pod is in Pending status")) continue;
      const start = from ?? 0;
      if (text.length > start) {
        stream.write(text.slice(start));
        changed = true;
      }
      seen.set(pod, text.length);
    }
    return changed;
  };
}

/**
 * Waits for the task to end (backoff 0.5 s to 5 s); with `logs`, prints its pods' logs as they
 * grow, and after the end waits (a few polls) for its pods to stop so the last lines are printed.
 */
export async function follow(
  client: KlmsClient,
  id: string,
  options: { logs?: Writable; signal: AbortSignal; onState?: (s: string) => void },
): Promise<TaskRecord> {
  const print = options.logs ? logPrinter(options.logs) : undefined;
  let state = "";
  const task = await client.tasks.wait(id, {
    signal: options.signal,
    onPoll: async (t) => {
      const moved = t.exec_state !== state;
      if (moved) options.onState?.(t.exec_state);
      state = t.exec_state;
      return (print ? print(await client.tasks.logs(id)) : false) || moved;
    },
  });
  if (print) {
    // The tool reports before its process exits: the pod's last lines come a moment later.
    for (let i = 0, delay = 200; i < 8; i++, delay = Math.min(2000, delay * 2)) {
      const jobs = await client.tasks.jobs(id);
      print(Object.fromEntries(Object.entries(jobs).map(([pod, j]) => [pod, j.logs])));
      if (!Object.values(jobs).some((j) => j.status === "Running" || j.status === "Pending")) break;
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
  return task;
}

/** The run time of an ended task, in seconds (the platform's dates are naive local ISO times of one clock). */
export function runtimeSeconds(task: TaskRecord): number | undefined {
  if (!task.end_date) return undefined;
  return (Date.parse(task.end_date) - Date.parse(task.start_date)) / 1000;
}

/** The end-of-task summary for people. */
export function summary(task: TaskRecord): string {
  const lines = [`task ${task.id} ${task.exec_state}`];
  const runtime = runtimeSeconds(task);
  if (runtime !== undefined) lines.push(`  run time  ${runtime.toFixed(1)} s`);
  if (task.messages) lines.push(`  message   ${task.messages}`);
  for (const [k, v] of Object.entries(task.metrics ?? {})) lines.push(`  metric    ${k} = ${JSON.stringify(v)}`);
  for (const [k, v] of Object.entries(task.outputs ?? {}))
    lines.push(`  output    ${k}  ${v.url}  (resource ${v.resource_id})`);
  return lines.join("\n");
}
