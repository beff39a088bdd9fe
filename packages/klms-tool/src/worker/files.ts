import type { TaskInput } from "../contract/input.js";
import { minioSettings } from "../contract/minio.js";
import type { Logger } from "../log/logger.js";
import { progressReporter } from "../storage/progress.js";
import { createStorage, type Storage } from "../storage/storage.js";
import { createInputFile, createOutputTarget, type InputFile, type OutputTarget } from "../storage/task-files.js";

/** What the task's files need from the worker. */
export interface FilesContext {
  workdir: string;
  signal: AbortSignal;
  log: Logger;
  /** Filled with output name → path for every output the tool uploads. */
  produced: Record<string, string>;
}

/** The storage glue of one task: input files, output targets and the store, created lazily. */
export interface TaskFiles {
  storage(): Storage;
  inputFile(path: string): InputFile;
  outputTarget(name: string, path: string): OutputTarget;
  /** Bytes moved so far, for the metrics (zero when the store was never used). */
  transferred(): { bytes_in: number; bytes_out: number };
  close(): void;
}

/**
 * Creates the input files and output targets a task hands to the tool. The store is created on
 * first use: a tool that touches no object needs no credentials.
 */
export function taskFiles(input: TaskInput, ctx: FilesContext): TaskFiles {
  let storage: Storage | undefined;
  const get = () => {
    storage ??= createStorage(minioSettings(input.minio), { onProgress: progressReporter({ log: ctx.log }) });
    return storage;
  };
  const filesCtx = {
    storage: get,
    workdir: ctx.workdir,
    signal: ctx.signal,
    onUpload: (name: string, path: string) => {
      ctx.produced[name] = path;
    },
  };
  return {
    storage: get,
    inputFile: (path) => createInputFile(path, filesCtx),
    outputTarget: (name, path) => createOutputTarget(name, path, filesCtx),
    transferred: () => ({ bytes_in: storage?.bytesIn ?? 0, bytes_out: storage?.bytesOut ?? 0 }),
    close: () => storage?.close(),
  };
}
