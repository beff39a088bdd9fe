/**
 * What `klms-tool try` prints after a run: the task's state and message, its metrics, its logs,
 * and for each output where it was downloaded and its first lines.
 */
import { open } from "node:fs/promises";
import { join, relative } from "node:path";
import { type MinioBlock, minioSettings } from "../contract/index.js";
import { createStorage, type Storage, StorageError } from "../storage/index.js";
import { type CommandIO, line } from "./command.js";

/** The part of klms-local's `ToolTaskResult` that `try` reads. */
export interface ToolTaskResultLike {
  state: string;
  message: string | null;
  logs: string;
  output: Record<string, string>;
  metrics: Record<string, unknown>;
  task: { id: string };
  klms: { minio: MinioBlock; ca?: string };
  stop(): Promise<void>;
}

/** One output of the run, as `try --json` reports it. */
export interface OutputReport {
  /** Where the task wrote it, e.g. "s3://klms-bucket/outputs/run-…/report". */
  path: string;
  /** The downloaded files (absolute paths); [] when it was not downloaded. */
  files: string[];
  /** Why it was not downloaded: "not written by the task", or the storage's error message. */
  missing?: string;
}

const PREVIEW_LINES = 8;
const PREVIEW_BYTES = 4096;

/**
 * Prints the run and downloads its outputs into `outDir` (a folder output into `outDir/<name>/`).
 * @returns each output: where it was written and the files downloaded (for `try --json`)
 */
export async function printTryResult(
  result: ToolTaskResultLike,
  outDir: string,
  io: CommandIO,
): Promise<Record<string, OutputReport>> {
  const say = (text: string) => line(io.stdout, text);
  say(`\n▸ Logs of task ${result.task.id}`);
  for (const l of result.logs.trimEnd().split("\n")) say(`  │ ${l}`);
  say(`\n▸ The task`);
  say(`  state     ${result.state}`);
  if (result.message) say(`  message   ${result.message.split("\n").join("\n            ")}`);
  const metrics = Object.entries(result.metrics);
  if (metrics.length > 0) {
    say("  metrics");
    const width = Math.max(...metrics.map(([k]) => k.length));
    for (const [k, v] of metrics) say(`    ${k.padEnd(width)}  ${JSON.stringify(v)}`);
  }
  const outputs = Object.entries(result.output);
  const reports: Record<string, OutputReport> = {};
  if (outputs.length === 0) return reports;
  // As runToolTask reads the store: the external endpoint, and the local CA when it serves https.
  const settings = minioSettings(result.klms.minio, { prefer: "external", env: {} });
  const storage = createStorage(settings, result.klms.ca ? { ca: result.klms.ca } : {});
  try {
    for (const [name, path] of outputs) reports[name] = await showOutput(storage, name, path, outDir, io);
  } finally {
    storage.close();
  }
  return reports;
}

/**
 * Downloads one output and prints its first lines. An output the tool did not write (an optional
 * one) or cannot be fetched is one line, not an error: the task's own state says how it went.
 */
async function showOutput(
  storage: Storage,
  name: string,
  path: string,
  dir: string,
  io: CommandIO,
): Promise<OutputReport> {
  const say = (text: string) => line(io.stdout, text);
  let files: string[];
  try {
    files = path.endsWith("/")
      ? await storage.downloadFolder(path, join(dir, name))
      : [await storage.downloadInto(path, dir)];
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    const notWritten = error.code === "NoSuchKey" || error.code === "NotFound";
    const missing = notWritten ? "not written by the task" : `not downloaded: ${error.message}`;
    say(`\n▸ Output ${name}: ${path}`);
    say(`  ${missing}`);
    return { path, files: [], missing };
  }
  say(`\n▸ Output ${name}: ${path}`);
  for (const file of files) {
    const shown = relative(io.cwd, file);
    say(`  downloaded to ${shown.startsWith("..") ? file : shown}`);
  }
  const first = files[0];
  if (first) for (const l of await preview(first)) say(`  ${l}`);
  return { path, files };
}

/** The first lines of a text file; nothing for a binary one. */
async function preview(file: string): Promise<string[]> {
  const handle = await open(file);
  try {
    const buffer = Buffer.alloc(PREVIEW_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, PREVIEW_BYTES, 0);
    const head = buffer.subarray(0, bytesRead);
    if (head.includes(0)) return ["(binary)"];
    const lines = head.toString("utf8").replace(/\n$/, "").split("\n");
    const shown = lines.slice(0, PREVIEW_LINES);
    return lines.length > PREVIEW_LINES || bytesRead === PREVIEW_BYTES ? [...shown, "…"] : shown;
  } finally {
    await handle.close();
  }
}
