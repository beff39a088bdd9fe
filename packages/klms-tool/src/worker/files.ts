import { OptionError } from "../config/options.js";
import { type Env, readOptions } from "../config/read.js";
import type { TaskInput } from "../contract/input.js";
import { minioSettings } from "../contract/minio.js";
import type { Logger } from "../log/logger.js";
import type { AutomaticMetricName } from "../metrics/automatic.js";
import { StorageError } from "../storage/errors.js";
import { progressReporter } from "../storage/progress.js";
import { createStorage, type Storage, type StorageOptions } from "../storage/storage.js";
import { createInputFile, createOutputTarget, type InputFile, type OutputTarget } from "../storage/task-files.js";

/** What the task's files need from the worker. */
export interface FilesContext {
  workdir: string;
  signal: AbortSignal;
  log: Logger;
  /** Filled with output name → path for every output the tool uploads. */
  produced: Record<string, string>;
  /** Where `task.storage`'s tuning is read (`KLMS_S3_*`, see {@link taskStorageOptions}); default the process's. */
  env?: Env;
}

/**
 * `task.storage`'s tuning from the environment (the one table's storage rows: part size, upload
 * and download concurrency, single-PUT limit, range size, ranged-GET minimum, idle timeout,
 * attempts), with the warnings to log (a deprecated variable). A bad value throws a
 * {@link StorageError} `BadOption` naming the variable.
 */
export function taskStorageOptions(env?: Env): { options: StorageOptions; warnings: string[] } {
  try {
    const { values, warnings } = readOptions(
      [
        "partSize",
        "uploadConcurrency",
        "singlePutMaxBytes",
        "downloadConcurrency",
        "downloadRangeSize",
        "rangedGetMinBytes",
        "idleTimeout",
        "maxAttempts",
      ],
      env,
    );
    const { idleTimeout, ...rest } = values;
    return { options: { ...rest, idleTimeoutMs: Math.round(idleTimeout * 1000) }, warnings };
  } catch (error) {
    if (error instanceof OptionError) throw new StorageError("BadOption", error.message);
    throw error;
  }
}

/** The storage glue of one task: input files, output targets and the store, created lazily. */
export interface TaskFiles {
  storage(): Storage;
  inputFile(path: string): InputFile;
  outputTarget(name: string, path: string): OutputTarget;
  /** Bytes moved so far, for the metrics (zero when the store was never used). */
  transferred(): Record<Extract<AutomaticMetricName, "bytes_in" | "bytes_out">, number>;
  close(): void;
}

/**
 * Creates the input files and output targets a task hands to the tool. The store is created on
 * first use: a tool that touches no object needs no credentials.
 */
export function taskFiles(input: TaskInput, ctx: FilesContext): TaskFiles {
  let storage: Storage | undefined;
  const get = () => {
    if (!storage) {
      const { options, warnings } = taskStorageOptions(ctx.env);
      for (const warning of warnings) ctx.log.warn(warning);
      storage = createStorage(minioSettings(input.minio, ctx.env ? { env: ctx.env } : {}), {
        ...options,
        onProgress: progressReporter({ log: ctx.log }),
      });
    }
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
