/**
 * The list of `klms-tool try` runs of a project: one JSON line per run in `.klms/try-runs.jsonl`
 * (the task's id, its final state, when it started, how long it took, where its outputs were
 * downloaded, which KLMS ran it), appended after each run and shown by `klms-tool try --list`.
 * No parameter, secret or token is kept.
 */
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";

/** Where the runs are listed, relative to the project. */
export const RUNS_FILE = join(".klms", "try-runs.jsonl");

/** One run. */
export interface TryRun {
  task: string;
  state: string;
  /** ISO 8601, UTC. */
  started: string;
  /** Wall-clock seconds from upload to the outputs downloaded. */
  seconds: number;
  /** The output folder, relative to the project when inside it. */
  outDir: string;
  /** The KLMS's API URL, or "embedded" for one started for the run. */
  klms: string;
}

/** Appends a run to the project's list. */
export async function recordRun(cwd: string, run: Omit<TryRun, "outDir"> & { outDir: string }): Promise<void> {
  const file = join(cwd, RUNS_FILE);
  await mkdir(dirname(file), { recursive: true });
  const rel = relative(cwd, run.outDir);
  const outDir = rel.startsWith("..") ? run.outDir : rel || ".";
  await appendFile(file, `${JSON.stringify({ ...run, outDir })}\n`, { mode: 0o600 });
}

/** The project's runs, oldest first; [] when there are none. Unreadable lines are skipped. */
export async function readRuns(cwd: string): Promise<TryRun[]> {
  const text = await readFile(join(cwd, RUNS_FILE), "utf8").catch(() => "");
  const runs: TryRun[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      runs.push(JSON.parse(line) as TryRun);
    } catch {
      // a line cut by a crash mid-write: the others still count
    }
  }
  return runs;
}

/** The runs as a table: task, state, started, seconds, output folder, KLMS. */
export function formatRuns(runs: TryRun[]): string {
  if (runs.length === 0) return "No runs yet: klms-tool try runs the tool and lists each run here.";
  const rows = [
    ["TASK", "STATE", "STARTED", "SECONDS", "OUTPUTS", "KLMS"],
    ...runs.map((r) => [
      r.task,
      r.state,
      r.started.replace("T", " ").replace(/\.\d+Z$/, "Z"),
      r.seconds.toFixed(1),
      r.outDir,
      r.klms,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
