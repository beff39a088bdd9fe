import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { Readable } from "node:stream";
import { StorageError } from "./errors.js";
import { formatPath, parsePath, safeBaseName } from "./paths.js";
import type { ObjectData, Storage, TransferOptions } from "./storage.js";

/** What input files and output targets need from the runtime. */
export interface TaskFilesContext {
  /** The task's storage, created on first use (a task that touches no object needs no credentials). */
  storage(): Storage;
  /** Where downloads go by default. */
  workdir: string;
  signal?: AbortSignal;
  /** Records an output the tool produced: the runtime reports it in the output map. */
  onUpload(name: string, path: string): void;
}

/** One path of an input group, with storage helpers. */
export interface InputFile {
  /** The path as the platform sent it, e.g. `s3://bucket/data/x.csv`. */
  readonly path: string;
  /** Its base name, e.g. `x.csv`. */
  readonly name: string;
  /** The bucket of `path`. */
  readonly bucket: string;
  /** The key of `path` in its bucket. */
  readonly key: string;
  /** Downloads it into `dir` (default: the task's workdir) under its base name; returns the local path. */
  download(dir?: string, options?: TransferOptions): Promise<string>;
  /** Opens it as a stream. */
  open(options?: TransferOptions): Promise<Readable>;
  /** Reads it as UTF-8 text (small objects only: up to 64 MiB). */
  text(): Promise<string>;
}

/** Where the tool writes one output, with storage helpers. */
export interface OutputTarget {
  /** The output's name, as declared in `outputs` and in the task's outputs. */
  readonly name: string;
  /** The path the task asks for (a file, or a folder prefix ending in "/"); "" when it did not ask. */
  readonly path: string;
  /**
   * Uploads a local file, a local folder (every file under the target prefix) or a stream to the
   * target path, and records it in the task's output. When the target ends with "/", a file is
   * uploaded under it with its own name. Returns the path written.
   */
  upload(source: string | Readable, options?: TransferOptions & { contentType?: string }): Promise<string>;
  /** Writes data (a string or bytes) as the target object and records it. */
  write(data: ObjectData, options?: TransferOptions & { contentType?: string }): Promise<string>;
}

/** An input file of a task: its path plus download/open/text. */
export function createInputFile(path: string, ctx: TaskFilesContext): InputFile {
  const name = basename(path.replace(/\/+$/, ""));
  const location = () => parsePath(path, { requireKey: true });
  let parsed: { bucket: string; key: string } | undefined;
  try {
    parsed = location();
  } catch {
    // A path the store cannot read (e.g. https://…) is still handed to the tool as a string.
  }
  return {
    path,
    name,
    bucket: parsed?.bucket ?? "",
    key: parsed?.key ?? "",
    download: (dir, options) => ctx.storage().downloadInto(location(), dir ?? ctx.workdir, withSignal(ctx, options)),
    open: (options) => ctx.storage().open(location(), withSignal(ctx, options)),
    text: () => ctx.storage().getText(location(), withSignal(ctx, {})),
  };
}

/** An output target of a task: its path plus upload/write, recording what was produced. */
export function createOutputTarget(name: string, path: string, ctx: TaskFilesContext): OutputTarget {
  const target = () => {
    if (!path) {
      throw new StorageError("NoTarget", `the task gives no path for output "${name}": add it to the task's "outputs"`);
    }
    return parsePath(path);
  };
  return {
    name,
    path,
    async upload(source, options = {}) {
      const t = target();
      const storage = ctx.storage();
      const opts = withSignal(ctx, options);
      // A path that cannot be read is left to upload(), which names it in a local-file error.
      const folder = typeof source === "string" && (await stat(source).catch(() => undefined))?.isDirectory();
      if (typeof source === "string" && folder) {
        await storage.uploadFolder(source, t, opts);
        ctx.onUpload(name, path);
        return path;
      }
      let key = t.key;
      if (key === "" || key.endsWith("/")) {
        const file = typeof source === "string" ? safeBaseName(source.replace(/\\/g, "/")) : undefined;
        if (!file)
          throw new StorageError(
            "BadPath",
            `output "${name}" is a folder (${path}): upload a file or a folder to it, not a stream`,
          );
        key += file;
      }
      const written = await storage.upload({ bucket: t.bucket, key }, source, opts);
      ctx.onUpload(name, key === t.key ? path : written);
      return written;
    },
    async write(data, options = {}) {
      const t = target();
      if (t.key === "" || t.key.endsWith("/")) {
        throw new StorageError("BadPath", `output "${name}" is a folder (${path}): write() needs a file path`);
      }
      const written = await ctx.storage().put(t, data, withSignal(ctx, options));
      ctx.onUpload(name, path);
      return written === formatPath(t) ? path : written;
    },
  };
}

function withSignal<T extends TransferOptions>(ctx: TaskFilesContext, options: T | undefined): T {
  return {
    ...(options ?? ({} as T)),
    ...((options?.signal ?? ctx.signal) ? { signal: options?.signal ?? ctx.signal } : {}),
  };
}
