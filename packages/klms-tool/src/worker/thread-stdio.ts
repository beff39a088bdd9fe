/**
 * In a worker thread of the entrypoint (`--worker-thread`), `process.stdout` and `process.stderr`
 * are streams to the entrypoint, which masks every secret in them; descriptors 1 and 2 are the
 * process's own, past the masker (a thread has no descriptors of its own). So, in such a thread
 * only, what would write to descriptor 1 or 2 directly is given to the thread's streams instead:
 * - `node:child_process`: a subprocess's stdio entry naming descriptor 1 or 2 (`"inherit"` at
 *   index 1 or 2, `1`, `2`, `process.stdout`, `process.stderr`, fork's default) is piped for
 *   `spawn` and `fork` (and reads `null` on the child, as an inherited stream does), and goes
 *   through a temporary file for `spawnSync`, `execSync` and `execFileSync`, written out when the
 *   call returns or throws. `exec` and `execFile` pipe already.
 * - `node:fs`: `writeSync` and `write` on descriptor 1 or 2 (what loggers such as pino's
 *   sonic-boom use) write to the thread's streams.
 *
 * What it cannot reach, said in the README: functions taken from these modules before the runtime
 * was loaded (a CommonJS tool destructuring `require("node:child_process")` before it requires
 * klms-tool), a Worker the tool starts itself, and native code. The default process modes mask
 * at the descriptor and have none of these gaps.
 * @internal
 */
import type { ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

type Stdio = unknown[];
type Fn = (...args: unknown[]) => unknown;
type Call = { file: unknown; args: unknown[] | undefined; options: Record<string, unknown> };

let guarded = false;
/** Where the synchronous calls' temporary files go: the task's private folder once it is known. */
let scratch: string | undefined;

/**
 * Puts the synchronous calls' temporary files in `dir` (the task's private folder, which the
 * entrypoint removes however the thread ends), not in the system's temporary folder: a thread
 * stopped in the middle of a call cannot remove them itself, and they hold what the child printed.
 */
export function setThreadScratch(dir: string): void {
  scratch = dir;
}

/** The thread's stream an stdio entry stands for when it names descriptor 1 or 2, else undefined. */
function target(entry: unknown, index: number): Writable | undefined {
  if (entry === 1 || entry === process.stdout || (entry === "inherit" && index === 1)) return process.stdout;
  if (entry === 2 || entry === process.stderr || (entry === "inherit" && index === 2)) return process.stderr;
  return undefined;
}

/** The indexes of `stdio` that name descriptor 1 or 2, with their stream. */
function redirected(stdio: Stdio): Map<number, Writable> {
  const found = new Map<number, Writable>();
  stdio.forEach((entry, index) => {
    const to = index > 0 ? target(entry, index) : undefined;
    if (to) found.set(index, to);
  });
  return found;
}

/**
 * `(file, args?, options?)` read the way child_process reads it: an array is the arguments,
 * `null`/`undefined` stands for none (the options then follow), an object is the options.
 */
function withArgs(file: unknown, rest: unknown[]): Call {
  if (Array.isArray(rest[0]) || rest[0] == null) {
    return { file, args: (rest[0] as unknown[] | null) ?? undefined, options: { ...((rest[1] as object) ?? {}) } };
  }
  return { file, args: undefined, options: { ...(rest[0] as object) } };
}

/** `(command, options?)`: execSync's form. */
function withoutArgs(file: unknown, rest: unknown[]): Call {
  return { file, args: undefined, options: { ...((rest[0] as object) ?? {}) } };
}

/** The stdio array a call means; `expandOne` gives a string form (fork adds its IPC channel). */
function stdioOf(options: Record<string, unknown>, fallback: Stdio, expandOne: (s: string) => Stdio): Stdio {
  const stdio = options.stdio;
  if (typeof stdio === "string") return expandOne(stdio);
  return Array.isArray(stdio) ? [...stdio] : [...fallback];
}

const three = (s: string): Stdio => [s, s, s];

/** An asynchronous call (spawn, fork) with the redirected entries piped to the thread's streams. */
function wrapAsync(original: Fn, fallback: (o: Record<string, unknown>) => Stdio, expandOne = three): Fn {
  return (file: unknown, ...rest: unknown[]) => {
    const call = withArgs(file, rest);
    const stdio = stdioOf(call.options, fallback(call.options), expandOne);
    const streams = redirected(stdio);
    if (streams.size === 0) return original(file, ...rest);
    for (const index of streams.keys()) stdio[index] = "pipe";
    const child = original(call.file, call.args ?? [], { ...call.options, stdio }) as ChildProcess;
    for (const [index, to] of streams) {
      (child.stdio[index] as Readable | null)?.pipe(to, { end: false });
      // An inherited stream reads null on the child: code testing `child.stdout` sees the same.
      (child.stdio as unknown[])[index] = null;
      if (index === 1) (child as { stdout: unknown }).stdout = null;
      if (index === 2) (child as { stderr: unknown }).stderr = null;
    }
    return child;
  };
}

/** A synchronous call with the redirected entries written to temporary files, then to the thread's streams. */
function wrapSync(original: Fn, read: (file: unknown, rest: unknown[]) => Call): Fn {
  return (file: unknown, ...rest: unknown[]) => {
    const call = read(file, rest);
    const stdio = stdioOf(call.options, ["pipe", "pipe", "pipe"], three);
    const streams = redirected(stdio);
    if (streams.size === 0) return original(file, ...rest);
    return throughFiles(stdio, streams, (next) =>
      original(call.file, ...(call.args ? [call.args] : []), { ...call.options, stdio: next }),
    );
  };
}

/**
 * Runs a synchronous call with the entries of `streams` pointed at temporary files, then writes
 * what they caught to the thread's streams, also when the call throws.
 */
function throughFiles(stdio: Stdio, streams: Map<number, Writable>, call: (stdio: Stdio) => unknown): unknown {
  const dir = mkdtempSync(join(scratch ?? tmpdir(), "klms-thread-stdio-"));
  const files = new Map<number, { path: string; fd: number }>();
  try {
    for (const index of streams.keys()) {
      const path = join(dir, String(index));
      files.set(index, { path, fd: openSync(path, "w", 0o600) });
    }
    const next = [...stdio];
    for (const [index, file] of files) next[index] = file.fd;
    return call(next);
  } finally {
    for (const [index, file] of files) {
      closeSync(file.fd);
      const caught = readFileSync(file.path);
      if (caught.length > 0) streams.get(index)?.write(caught);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bytes an `fs.write`/`fs.writeSync` call writes: `(data, offset, length)` or `(string, position, encoding)`. */
function written(data: unknown, rest: unknown[]): Buffer {
  if (typeof data === "string") {
    const encoding = typeof rest[1] === "string" ? (rest[1] as BufferEncoding) : "utf8";
    return Buffer.from(data, encoding);
  }
  const view = data as ArrayBufferView;
  const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  const options = typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as Record<string, number>) : undefined;
  const offset = (options ? options.offset : (rest[0] as number | undefined)) ?? 0;
  const length = (options ? options.length : (rest[1] as number | undefined)) ?? bytes.length - offset;
  return bytes.subarray(offset, offset + length);
}

/** `fs.writeSync` and `fs.write` on descriptor 1 or 2 go to the thread's streams. */
function guardFs(fs: Record<string, unknown>): void {
  const writeSync = fs.writeSync as Fn;
  const write = fs.write as Fn;
  const streamOf = (fd: unknown) => (fd === 1 ? process.stdout : fd === 2 ? process.stderr : undefined);
  fs.writeSync = (fd: unknown, data: unknown, ...rest: unknown[]) => {
    const to = streamOf(fd);
    if (!to) return writeSync(fd, data, ...rest);
    const bytes = written(data, rest);
    to.write(bytes);
    return bytes.length;
  };
  fs.write = (fd: unknown, data: unknown, ...rest: unknown[]) => {
    const to = streamOf(fd);
    if (!to) return write(fd, data, ...rest);
    const callback = rest.findLast((a) => typeof a === "function") as Fn | undefined;
    const bytes = written(
      data,
      rest.filter((a) => typeof a !== "function"),
    );
    to.write(bytes, () => callback?.(null, bytes.length, data));
    return undefined;
  };
}

/**
 * Gives what would write to descriptors 1 and 2 to this thread's streams (see the module's
 * comment). Idempotent; call it in the entrypoint's worker thread only, as early as possible.
 */
export function guardThreadStdio(): void {
  if (guarded) return;
  guarded = true;
  const load = createRequire(import.meta.url);
  const cp = load("node:child_process") as Record<string, Fn>;
  const original = { ...cp };
  // fork's default is the parent's stdio plus the IPC channel, unless `silent`; a string form gets the channel too.
  const forkStdio = (o: Record<string, unknown>) => (o.silent ? ["pipe", "pipe", "pipe", "ipc"] : [0, 1, 2, "ipc"]);
  Object.assign(cp, {
    spawn: wrapAsync(original.spawn as Fn, () => ["pipe", "pipe", "pipe"]),
    fork: wrapAsync(original.fork as Fn, forkStdio, (s) => [s, s, s, "ipc"]),
    spawnSync: wrapSync(original.spawnSync as Fn, withArgs),
    // execSync and execFileSync pipe by default and write a captured stderr themselves: only an
    // explicit entry naming descriptor 1 or 2 is redirected.
    execSync: wrapSync(original.execSync as Fn, withoutArgs),
    execFileSync: wrapSync(original.execFileSync as Fn, withArgs),
  });
  guardFs(load("node:fs") as Record<string, unknown>);
  // ESM's `import { spawn } from "node:child_process"` sees the change too.
  syncBuiltinESMExports();
}
