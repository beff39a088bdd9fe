/**
 * In a worker thread of the entrypoint (`--worker-thread`), `process.stdout` and `process.stderr`
 * are streams to the entrypoint, which masks every secret in them. A subprocess started with
 * inherited stdio would instead get the process's own descriptors 1 and 2, past the masker (a
 * thread has no descriptors of its own). So, in such a thread only, `node:child_process` is
 * changed to give a subprocess's standard output and error, where they would be inherited, to the
 * thread's streams instead: piped for `spawn` and `fork`; through a temporary file for
 * `spawnSync`, `execSync` and `execFileSync`, written out when the call returns or throws.
 * `exec` and `execFile` pipe already.
 *
 * What it cannot reach: a function taken from `require("node:child_process")` before `main()`
 * ran (destructured at load time), and native code writing to descriptor 1 or 2 itself. The
 * default process modes have neither gap.
 * @internal
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

type ChildProcessModule = typeof import("node:child_process");
type Stdio = unknown[];

let guarded = false;

/** What stands for fd 1 and fd 2 when they are inherited. */
const INHERITED = new Set<unknown>(["inherit", 1, 2]);

/** The stdio array a call means: `"inherit"` is `["inherit", "inherit", "inherit"]`. */
function expand(stdio: unknown, fallback: Stdio): Stdio {
  if (stdio === undefined || stdio === null) return [...fallback];
  if (typeof stdio === "string") return [stdio, stdio, stdio];
  return Array.isArray(stdio) ? [...stdio] : [...fallback];
}

/** Splits `(file, args?, options?)` the way child_process reads it. */
function split(rest: unknown[]): { args: unknown[] | undefined; options: Record<string, unknown> } {
  if (Array.isArray(rest[0])) return { args: rest[0], options: { ...((rest[1] as object) ?? {}) } };
  return { args: undefined, options: { ...((rest[0] as object) ?? {}) } };
}

/** The indexes (1, 2) that would be inherited, and the stdio with those piped instead. */
function redirect(stdio: Stdio, to: unknown): { stdio: Stdio; inherited: number[] } {
  const inherited = [1, 2].filter((i) => INHERITED.has(stdio[i]));
  const next = [...stdio];
  for (const i of inherited) next[i] = to;
  return { stdio: next, inherited };
}

const stream = (i: number): Writable => (i === 1 ? process.stdout : process.stderr);

/**
 * Gives inherited standard output and error of subprocesses to this thread's streams (see the
 * module's comment). Idempotent; call it in the entrypoint's worker thread only.
 */
export function guardChildStdio(): void {
  if (guarded) return;
  guarded = true;
  const cp = createRequire(import.meta.url)("node:child_process") as ChildProcessModule;
  const original = {
    spawn: cp.spawn,
    fork: cp.fork,
    spawnSync: cp.spawnSync,
    execSync: cp.execSync,
    execFileSync: cp.execFileSync,
  };
  const wrapAsync =
    (fn: (...a: never[]) => ReturnType<ChildProcessModule["spawn"]>, fallback: (o: Record<string, unknown>) => Stdio) =>
    (file: unknown, ...rest: unknown[]) => {
      const { args, options } = split(rest);
      const { stdio, inherited } = redirect(expand(options.stdio, fallback(options)), "pipe");
      if (inherited.length === 0) return (fn as (...a: unknown[]) => unknown)(file, ...rest);
      const child = (fn as (...a: unknown[]) => ReturnType<ChildProcessModule["spawn"]>)(
        file,
        ...(args ? [args] : []),
        { ...options, stdio },
      );
      for (const i of inherited) (child.stdio[i] as Readable | null)?.pipe(stream(i), { end: false });
      return child;
    };
  // fork's default is the parent's stdio plus the IPC channel, unless `silent`.
  const forkStdio = (o: Record<string, unknown>) => (o.silent ? ["pipe", "pipe", "pipe", "ipc"] : [0, 1, 2, "ipc"]);
  const wrapSync =
    (fn: (...a: never[]) => unknown, fallback: Stdio) =>
    (file: unknown, ...rest: unknown[]) => {
      const { args, options } = split(rest);
      const expanded = expand(options.stdio, fallback);
      if (![1, 2].some((i) => INHERITED.has(expanded[i]))) return (fn as (...a: unknown[]) => unknown)(file, ...rest);
      return throughFiles(expanded, (stdio) =>
        (fn as (...a: unknown[]) => unknown)(file, ...(args ? [args] : []), { ...options, stdio }),
      );
    };
  Object.assign(cp, {
    spawn: wrapAsync(original.spawn, () => ["pipe", "pipe", "pipe"]),
    fork: wrapAsync(original.fork as never, forkStdio),
    spawnSync: wrapSync(original.spawnSync, ["pipe", "pipe", "pipe"]),
    // execSync and execFileSync read their own stdio default (stderr inherited) when none is given,
    // and write a captured stderr themselves: only an explicit inherit needs the files.
    execSync: wrapSync(original.execSync, ["pipe", "pipe", "pipe"]),
    execFileSync: wrapSync(original.execFileSync, ["pipe", "pipe", "pipe"]),
  });
  // ESM's `import { spawn } from "node:child_process"` sees the change too.
  syncBuiltinESMExports();
}

/**
 * Runs a synchronous call with its inherited fd 1 and 2 written to temporary files, then writes
 * what they caught to this thread's streams, also when the call throws.
 */
function throughFiles(stdio: Stdio, call: (stdio: Stdio) => unknown): unknown {
  const dir = mkdtempSync(join(tmpdir(), "klms-thread-stdio-"));
  const files = new Map<number, { path: string; fd: number }>();
  try {
    for (const i of [1, 2].filter((i) => INHERITED.has(stdio[i]))) {
      const path = join(dir, String(i));
      files.set(i, { path, fd: openSync(path, "w", 0o600) });
    }
    const next = [...stdio];
    for (const [i, file] of files) next[i] = file.fd;
    return call(next);
  } finally {
    for (const [i, file] of files) {
      closeSync(file.fd);
      const caught = readFileSync(file.path);
      if (caught.length > 0) stream(i).write(caught);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
