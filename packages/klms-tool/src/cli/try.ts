/**
 * `klms-tool try`: runs the project's tool on local files as a real KLMS task, in one command.
 * It uses the local KLMS that `klms-tool dev` runs for the project (or the one `--url` names),
 * else starts an embedded one (klms-local, embedded object store); uploads the files, creates the
 * task, runs it through the real entrypoint with the cluster's four arguments, prints the state,
 * metrics, logs and a preview of each output, and downloads the outputs into a folder. With
 * `--watch` it rebuilds and runs again when the sources change; every run is a new task, listed
 * by `--list`.
 */
import { existsSync, watch } from "node:fs";
import { resolve } from "node:path";
import type { Writable } from "node:stream";
import { ExitCode } from "../exit-codes.js";
import { type Command, type CommandIO, line, parse } from "./command.js";
import { removeAtExit } from "./interrupt.js";
import { connectRunningKlms, type RunningKlms, runningDevServer } from "./try-remote.js";
import { type OutputReport, printTryResult, type ToolTaskResultLike } from "./try-report.js";
import { buildTryRequest, type TryOptions, type TryRequest, TryUsageError } from "./try-request.js";
import { formatRuns, readRuns, recordRun } from "./try-runs.js";

const help = `usage: klms-tool try [options]

Runs this project's tool on local files as a KLMS task: uploads the files, creates the task,
runs it through the real entrypoint as the cluster's Job does, prints the state, metrics, logs
and a preview of each output, and downloads the outputs into --out-dir. Every run is a new task,
recorded in .klms/try-runs.jsonl (--list shows them).

The KLMS: the one \`klms-tool dev\` runs in this project (it leaves .klms/dev.json while it
runs; its console then shows the task), or the one --url names, else a local KLMS started for
the run (task API and object store on 127.0.0.1; needs klms-local, a dev dependency of every
scaffolded tool). A running one is used as the user KLMS_TOKEN, else KLMS_USERNAME and
KLMS_PASSWORD, else dev/dev (the dev server's default user).

options:
  --from <input.json>       a task input in the platform's shape (e.g. fixtures/input.json):
                            its input groups (local files are uploaded, s3:// paths kept),
                            output names, parameters and secrets; the options below add to it
  --input <group>=<file>    a local file (or an s3:// path) in an input group; repeatable
  --param <name>=<value>    a parameter; the value is read as JSON when it is JSON (2, true,
                            [1,2]), else as a string; repeatable
  --secret-file <file>      secrets from KEY=VALUE lines (a .env file); never printed
  --output <name>           an output to ask for; repeatable (default: the outputs the tool
                            declares, read from --tool)
  --tool <main.js>          the built module (default dist/main.js)
  --worker <command>        the worker command (default "node dist/main.js"), e.g.
                            "python3 -u main.py"
  --out-dir <dir>           where the outputs are downloaded (default try-output)
  --watch                   rebuild (npm run build) and run again when src/ changes
  --watch-dir <dir>         the folder --watch follows (default src)
  --url <api url>           use the local KLMS running there (e.g. http://127.0.0.1:8080)
  --fresh                   start a local KLMS for the run even when klms-tool dev runs
  --list                    list this project's runs (task, state, start, seconds, output
                            folder, KLMS) and exit
  --json                    with --list: the runs as a JSON array; with a run: the run as one
                            JSON object on stdout ({task, state, message, metrics, outputs:
                            {name: {path, files, missing?}}, outDir, klms}), the logs and
                            the report on stderr. Not with --watch
  -h, --help                this help

exit codes: 0 the task succeeded; 1 it failed; 2 usage (a missing file, a bad option).
With --watch it runs until Ctrl-C (exit 130; SIGTERM: 143).
Interrupted (Ctrl-C, SIGTERM, a closed stdout), it tells the entrypoint it runs (SIGTERM: the
task is reported cancelled) and stops the local KLMS it started.`;

const OPTIONS = {
  from: { type: "string" },
  input: { type: "string", multiple: true },
  param: { type: "string", multiple: true },
  "secret-file": { type: "string" },
  output: { type: "string", multiple: true },
  tool: { type: "string" },
  worker: { type: "string" },
  "out-dir": { type: "string" },
  watch: { type: "boolean" },
  "watch-dir": { type: "string" },
  url: { type: "string" },
  fresh: { type: "boolean" },
  list: { type: "boolean" },
  json: { type: "boolean" },
} as const;

/** What `try` needs from klms-local (typed here: klms-local depends on this package, not back). */
interface KlmsLocalModule {
  startLocalKlms(options: { quiet?: boolean }): Promise<{ stop(): Promise<void>; dataDir: string }>;
  runToolTask(options: Record<string, unknown>): Promise<ToolTaskResultLike>;
}

/** `klms-tool try`: one command to run a tool on local files. */
export const tryCommand: Command = {
  name: "try",
  summary: "run this project's tool on local files as a KLMS task (--watch: again on change)",
  help,
  async run(argv, io) {
    const args = parse(argv, OPTIONS, help, { min: 0, max: 0 }, io);
    if ("exit" in args) return args.exit;
    const v = args.values as Record<string, unknown>;
    if (v.list) return listRuns(io, Boolean(v.json));
    if (v.json && v.watch) {
      line(io.stderr, "klms-tool try: --json does not go with --watch (one JSON result per run: run try --json)");
      return ExitCode.Usage;
    }
    const options: TryOptions = {
      inputs: (v.input as string[] | undefined) ?? [],
      params: (v.param as string[] | undefined) ?? [],
      outputs: (v.output as string[] | undefined) ?? [],
      ...(v.from ? { from: v.from as string } : {}),
      ...(v["secret-file"] ? { secretFile: v["secret-file"] as string } : {}),
      ...(v.tool ? { tool: v.tool as string } : {}),
    };
    let local: KlmsLocalModule;
    try {
      local = (await import(KLMS_LOCAL)) as KlmsLocalModule;
    } catch {
      line(io.stderr, "klms-tool try needs the klms-local package: npm install --save-dev klms-local");
      return ExitCode.Usage;
    }
    // --json: stdout holds the one JSON result; every human line goes to stderr (attack5 F6).
    const human: CommandIO = v.json ? { ...io, stdout: io.stderr } : io;
    let running: RunningKlms | undefined;
    try {
      running = await runningKlms(v, human);
    } catch (error) {
      line(io.stderr, `klms-tool try: ${(error as Error).message}`);
      return ExitCode.Failure;
    }
    const session: Session = {
      io: human,
      ...(v.json ? { json: io.stdout } : {}),
      local,
      options,
      worker: (v.worker as string | undefined) ?? "node dist/main.js",
      outDir: resolve(io.cwd, (v["out-dir"] as string | undefined) ?? "try-output"),
      ...(running ? { running } : {}),
    };
    if (!v.watch) return runOnce(session, running);
    const dir = resolve(io.cwd, (v["watch-dir"] as string | undefined) ?? "src");
    if (!existsSync(dir)) {
      line(io.stderr, `klms-tool try: --watch follows ${dir}, which does not exist (--watch-dir sets it)`);
      return ExitCode.Usage;
    }
    return watchAndRun(session, dir);
  },
};

// In a variable so that TypeScript does not resolve it at build time (see delegated.ts).
const KLMS_LOCAL = "klms-local";

interface Session {
  io: CommandIO;
  local: KlmsLocalModule;
  options: TryOptions;
  worker: string;
  outDir: string;
  /** A KLMS that was running before `try` (klms-tool dev, --url): used, never stopped. */
  running?: RunningKlms;
  /** --json: where the run's JSON result goes (the real stdout; `io.stdout` is then stderr). */
  json?: Writable;
}

/**
 * The running KLMS to use: --url's, else the dev server of .klms/dev.json (unless --fresh);
 * undefined to start one. Throws when --url's does not answer or refuses the user.
 */
async function runningKlms(v: Record<string, unknown>, io: CommandIO): Promise<RunningKlms | undefined> {
  if (typeof v.url === "string") {
    const klms = await connectRunningKlms(v.url, io.env, undefined, io.signal).catch((error: Error) => {
      throw new Error(
        `the KLMS at --url ${v.url} cannot be used (${error.message}): start it (klms-tool dev) or fix the URL`,
      );
    });
    line(io.stdout, `Using the local KLMS at ${klms.apiUrl}`);
    return klms;
  }
  const dev = v.fresh ? undefined : runningDevServer(io.cwd);
  if (!dev) return undefined;
  try {
    const klms = await connectRunningKlms(dev.apiUrl, io.env, dev.caFile, io.signal);
    line(
      io.stdout,
      `Using the local KLMS of klms-tool dev at ${klms.apiUrl} (pid ${dev.pid}; --fresh starts a new one)`,
    );
    return klms;
  } catch (error) {
    line(
      io.stderr,
      `klms-tool try: klms-tool dev at ${dev.apiUrl} cannot be used (${(error as Error).message}); starting a local KLMS for this run`,
    );
    return undefined;
  }
}

/** `--list`: the project's runs, as a table or JSON. */
async function listRuns(io: CommandIO, json: boolean): Promise<number> {
  const runs = await readRuns(io.cwd);
  line(io.stdout, json ? JSON.stringify(runs, null, 2) : formatRuns(runs));
  return ExitCode.Success;
}

/** One task: request, run, report, recorded in the runs list. Starts (and stops) its own local KLMS unless given one. */
async function runOnce(session: Session, klms: { stop(): Promise<void> } | undefined): Promise<number> {
  if (klms) return runTask(session, klms);
  // Its own local KLMS, started here rather than by runToolTask so that an interrupted try (Ctrl-C,
  // SIGTERM, a closed stdout) stops it, its runs and its temporary folder with it (attack5 F9, F15).
  const own = await session.local.startLocalKlms({ quiet: true });
  const forget = removeAtExit(own.dataDir); // also when the process is forced to exit first
  const stop = () => void own.stop().catch(() => {});
  session.io.signal.addEventListener("abort", stop, { once: true });
  try {
    return await runTask(session, own);
  } finally {
    session.io.signal.removeEventListener("abort", stop);
    await own.stop();
    forget();
  }
}

/** {@link runOnce} on `klms`: the task run, reported, recorded. */
async function runTask(session: Session, klms: { stop(): Promise<void> }): Promise<number> {
  const { io } = session;
  let request: TryRequest;
  try {
    request = await buildTryRequest(session.options, io.cwd);
  } catch (error) {
    if (!(error instanceof TryUsageError)) throw error;
    line(io.stderr, `klms-tool try: ${error.message}`);
    return ExitCode.Usage;
  }
  const started = new Date();
  let result: ToolTaskResultLike;
  try {
    result = await session.local.runToolTask({ ...request, cwd: io.cwd, worker: session.worker, klms });
  } catch (error) {
    if (!io.signal.aborted) throw error;
    line(io.stderr, "klms-tool try: interrupted: the task was stopped");
    return ExitCode.Failure;
  }
  try {
    const outputs = await printTryResult(result, session.outDir, io);
    if (session.json) printJson(session, result, outputs);
  } finally {
    await result.stop();
    await recordRun(io.cwd, {
      task: result.task.id,
      state: result.state,
      started: started.toISOString(),
      seconds: (Date.now() - started.getTime()) / 1000,
      outDir: session.outDir,
      klms: session.running?.apiUrl ?? "embedded",
    });
  }
  return result.state === "succeeded" ? ExitCode.Success : ExitCode.Failure;
}

/** `--json`: the run as one object on the real stdout. */
function printJson(session: Session, result: ToolTaskResultLike, outputs: Record<string, OutputReport>): void {
  const { state, message, metrics } = result;
  const klms = session.running?.apiUrl ?? "embedded";
  const run = { task: result.task.id, state, message, metrics, outputs, outDir: session.outDir, klms };
  if (session.json) line(session.json, JSON.stringify(run, null, 2));
}

/** Runs, then again after each change under `dir` (rebuilt first), until SIGINT/SIGTERM or `io.signal`. */
async function watchAndRun(session: Session, dir: string): Promise<number> {
  const { io } = session;
  const klms = session.running ?? (await session.local.startLocalKlms({ quiet: true }));
  let timer: NodeJS.Timeout | undefined;
  const watching = () => line(io.stdout, `\nWatching ${dir} (Ctrl-C to stop)`);
  const report = (error: unknown) => line(io.stderr, `klms-tool try: ${(error as Error).message ?? error}`);
  // Runs are chained: a change during a run starts the next one after it, never beside it.
  let running = runOnce(session, klms).then(watching, report);
  const again = () => {
    running = running.then(async () => {
      line(io.stdout, `\n▸ ${new Date().toLocaleTimeString()} change in ${dir}: rebuilding`);
      if ((await build(io)) === 0) await runOnce(session, klms).catch(report);
      watching();
    });
  };
  const watcher = watch(dir, { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(again, 200);
  });
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      io.signal.removeEventListener("abort", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (io.signal.aborted) stop();
    else io.signal.addEventListener("abort", stop);
  });
  watcher.close();
  clearTimeout(timer);
  await running;
  await klms.stop();
  return ExitCode.Success;
}

/** `npm run build` in the project, its output passed through. */
async function build(io: CommandIO): Promise<number> {
  const { spawnGroup } = await import("./interrupt.js");
  const npm = io.env.npm_execpath?.endsWith("npm-cli.js")
    ? [process.execPath, io.env.npm_execpath]
    : [process.platform === "win32" ? "npm.cmd" : "npm"];
  return new Promise((done) => {
    const child = spawnGroup(npm[0] as string, [...npm.slice(1), "run", "build"], {
      cwd: io.cwd,
      env: io.env,
      stdio: ["ignore", "pipe", "pipe"],
      signal: io.signal,
    });
    child.stdout?.on("data", (d) => io.stdout.write(d));
    child.stderr?.on("data", (d) => io.stderr.write(d));
    child.on("error", () => done(127));
    child.on("close", (code) => done(code ?? 1));
  });
}
