/**
 * The failure matrix: the real entrypoint (`node dist/cli/main.js exec …`), started the way the
 * cluster's Job starts it, against the local KLMS, for every failure the platform contract lists
 * on the tool's side and every way a worker can go wrong. Each row asserts the exit code, the
 * task's final state and message in the local KLMS, and that no credential reached the logs.
 * Needs a build (`npm run build`): it runs dist, as an image would.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type Fault,
  type LocalKlms,
  type RunResult,
  startLocalKlms,
  type TaskOutcome,
  type TaskRecord,
} from "../../klms-local/src/index.ts";

/**
 * A well-formed JWT that no server can verify (its MAC is made up): made here, not committed as a
 * token. Its header names a key (`kid`), as every token of the platform's Keycloak does: without
 * one the platform's auth.py fails with a KeyError (500), not with the 401 these rows are about.
 */
function unverifiableJwt(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "HS256", typ: "JWT", kid: "klms-local" })}.${part({ sub: "x" })}.not-a-valid-mac`;
}

/** klms-tool's folder: the matrix runs its built CLI. */
const PACKAGE = resolve(import.meta.dirname, "../../klms-tool");
const CLI = join(PACKAGE, "dist/cli/main.js");
/** The workers' folder, the cwd of every run; the thread rows' tool modules are klms-tool's own fixtures. */
const WORKERS = resolve(import.meta.dirname, "fixtures/workers");
const TOOLS = "../../../../klms-tool/test/fixtures/tools";
/** Short waits everywhere: the matrix is about outcomes, not about production timings. */
const FAST = ["--retries", "3", "--retry-delay", "0.01", "--request-timeout", "2", "--grace-period", "1"];
const UNKNOWN_TASK = "00000000-0000-4000-8000-000000000000";

interface Task {
  id: string;
  signature: string;
  secrets: Record<string, string>;
}

/** What a row can change, and what it expects. */
interface Row {
  name: string;
  worker?: string;
  /** Run this tool module with --worker-thread instead of a --worker command. */
  thread?: string;
  /** Run this tool module with --worker-module (its own process, started ahead of the input). */
  module?: string;
  /** Options of the entrypoint's own Node (before the script). */
  nodeFlags?: string[];
  flags?: string[];
  env?: Record<string, string>;
  /** Faults for this task only (they match its own paths, so rows can run side by side). */
  faults?: (task: Task) => Fault[];
  /** The Job's arguments, when they are not the right four (wrong count, bad token, …). */
  jobArgs?: (klms: LocalKlms, task: Task) => string[];
  /** The seed-era form: three arguments, v1 routes. */
  seedForm?: boolean;
  /** The task's image: a task with one has a Job, which terminate fails (an external task is left alone). */
  image?: string;
  /** Secrets of the task besides the two random ones every row has (they are checked in the logs too). */
  secrets?: () => Record<string, string>;
  /** Acts on the run while it goes (send a signal, terminate the task, …). */
  during?: (run: Running, klms: LocalKlms, task: Task) => Promise<void>;
  /** Changes to the task's spec (its datasets, outputs, tags), made against the running local KLMS. */
  spec?: (klms: LocalKlms) => Promise<Record<string, unknown>>;
  /** Acts on the local KLMS once the task exists, before its run starts (e.g. purges a dataset it names). */
  prepare?: (klms: LocalKlms, spec: Record<string, unknown>) => Promise<void>;
  /** Assertions that read the local KLMS after the run (e.g. the catalog). */
  verify?: (klms: LocalKlms, task: Task, spec: Record<string, unknown>) => Promise<void>;
  /** Further assertions on the finished run and the task's record. */
  check?: (result: RunResult, record: TaskRecord | undefined, task: Task, posted?: TaskOutcome) => void;
  expect: {
    exit: number;
    state: "created" | "running" | "succeeded" | "failed" | "none";
    message?: RegExp;
    error?: RegExp;
    stderr?: RegExp;
    stdout?: RegExp;
    notStderr?: RegExp;
    /** Metrics the task must have recorded (a subset). */
    metrics?: Record<string, unknown>;
  };
}

/** One call to the local KLMS's Data API as the dev user; the reply's `result`. */
async function api(k: LocalKlms, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const reply = await fetch(`${k.apiUrl}${path}`, {
    method,
    headers: { authorization: k.token, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await reply.json()) as { result?: Record<string, unknown> };
  assert.ok(reply.ok, `${method} ${path}: HTTP ${reply.status} ${JSON.stringify(json)}`);
  return json.result ?? {};
}

interface Running {
  child: import("node:child_process").ChildProcess;
  done: Promise<RunResult>;
  /** Resolves when the entrypoint's stdout or stderr has matched. */
  waitFor(pattern: RegExp): Promise<void>;
  /**
   * Everything the entrypoint wrote, as it wrote it: the local KLMS's runner masks a pod's log
   * with the secrets it knows, and a pod on the platform has no such masker, so the check for
   * credentials reads this.
   */
  raw(): string;
}

/** A `during` step: SIGTERM to the entrypoint once its output has matched `pattern`. */
function sigtermOnce(pattern: RegExp): NonNullable<Row["during"]> {
  return async (run) => {
    await run.waitFor(pattern);
    run.child.kill("SIGTERM");
  };
}

const rows: Row[] = [
  // The platform side (the contract's failure table).
  {
    name: "success; the endpoint carries the cluster's trailing slash",
    expect: { exit: 0, state: "succeeded", message: /^done$/, stderr: /task output recorded/ },
  },
  {
    name: "success with an endpoint without the trailing slash",
    jobArgs: (k, t) => [k.token, k.apiUrl, t.id, t.signature],
    expect: { exit: 0, state: "succeeded", message: /^done$/ },
  },
  {
    name: "the seed's 3-argument form uses the v1 routes",
    seedForm: true,
    expect: { exit: 0, state: "succeeded", message: /^done$/, stderr: /api=v1/ },
  },
  {
    name: "a wrong argument count prints the usage and exits 2",
    jobArgs: (k) => [k.token, k.apiUrl],
    expect: { exit: 2, state: "created", stderr: /expected 4 arguments[\s\S]*Usage: klms-tool exec/ },
  },
  {
    name: "401 on input (token refused): exit 3, and the failure is reported with the signature",
    jobArgs: (k, t) => [`Bearer ${unverifiableJwt()}`, `${k.apiUrl}/`, t.id, t.signature],
    expect: { exit: 3, state: "failed", message: /could not be fetched: .*HTTP 401.*token/i, stderr: /401/ },
  },
  {
    name: "404 on input (unknown task): exit 3",
    jobArgs: (k, t) => [k.token, `${k.apiUrl}/`, UNKNOWN_TASK, t.signature],
    expect: { exit: 3, state: "created", stderr: /HTTP 404/ },
  },
  {
    name: "5xx on every input attempt: exit 3, the task is left to the Job's next pod",
    faults: (t) => [{ match: `/${t.id}/${t.signature}/input`, status: 503, times: 10 }],
    expect: { exit: 3, state: "created", stderr: /failed after 4 attempts: HTTP 503/ },
  },
  {
    name: "5xx on input, then success: retried",
    faults: (t) => [{ match: `/${t.id}/${t.signature}/input`, status: 502, times: 2 }],
    expect: { exit: 0, state: "succeeded", stderr: /HTTP 502.*retrying/ },
  },
  {
    name: "connection dropped on input and on output, then success: retried",
    faults: (t) => [
      { match: `/${t.id}/${t.signature}/input`, drop: true },
      { match: `/${t.id}/${t.signature}/output`, drop: true },
    ],
    expect: { exit: 0, state: "succeeded", stderr: /network error[\s\S]*network error[\s\S]*task output recorded/ },
  },
  {
    name: "409 on a retried POST: the outcome is already recorded, exit 0",
    // The first post fails (503); while the retry is held by the server, the same output is
    // recorded through the plural route, as if the first post had landed and its reply was lost.
    faults: (t) => [
      { match: `/task/${t.id}/${t.signature}/output`, status: 503 },
      { match: `/task/${t.id}/${t.signature}/output`, delayMs: 1500 },
    ],
    during: async (run, k, t) => {
      await run.waitFor(/HTTP 503.*retrying/);
      const reply = await fetch(`${k.apiUrl}/api/v2/tasks/${t.id}/${t.signature}/output`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ status: "succeeded", message: "done" }),
      });
      assert.equal(reply.status, 200);
    },
    expect: { exit: 0, state: "succeeded", stderr: /already recorded \(HTTP 409 after a lost reply\)/ },
  },
  {
    name: "409 on the first POST (task terminated from the console meanwhile): exit 0, said clearly",
    worker: "node hang.mjs",
    image: "me/tool:1",
    during: async (run, k, t) => {
      await run.waitFor(/worker: started/);
      const reply = await fetch(`${k.apiUrl}/api/v2/task/${t.id}/terminate`, {
        method: "POST",
        headers: { authorization: k.token },
      });
      assert.equal(reply.status, 200);
    },
    // The platform fails the task and records no message (`tasks.py:1331-1367`).
    expect: { exit: 0, state: "failed", stderr: /HTTP 409 on the first post/ },
  },
  {
    name: "5xx on every POST: the output is not posted twice, the failure report in its place fails too: exit 4 with a recovery record",
    faults: (t) => [{ match: `/${t.id}/${t.signature}/output`, status: 500, times: 10 }],
    expect: {
      exit: 4,
      state: "running",
      stdout: /^\{"status":"succeeded","message":"done".*\}$/m,
      stderr:
        /could not be posted: .*HTTP 500.*not retried[\s\S]*in place of the refused output[\s\S]*could not be posted either: .*after 4 attempts: HTTP 500/,
    },
  },
  {
    name: "503 on every POST (nothing applied): the same output is retried, then a failure report in its place",
    faults: (t) => [{ match: `/${t.id}/${t.signature}/output`, status: 503, times: 4 }],
    expect: {
      exit: 0,
      state: "failed",
      message:
        /ended with status "succeeded", but the platform did not accept its output: .*after 4 attempts: HTTP 503/,
      stdout: /^\{"status":"succeeded","message":"done".*\}$/m,
      stderr: /failure report posted/,
    },
  },
  {
    name: "an output the catalog refuses (its dataset was purged): a failure report in its place, exit 0",
    spec: async (k) => {
      const dataset = await api(k, "POST", "/api/v2/dataset", {
        name: `gone-${randomBytes(4).toString("hex")}`,
        owner_org: "stelar-klms",
      });
      return {
        datasets: { d0: dataset.id },
        outputs: {
          report: { url: "s3://klms-bucket/out/report.csv", dataset: "d0", resource: { name: "r", relation: "owned" } },
        },
      };
    },
    prepare: async (k, spec) => {
      await api(k, "DELETE", `/api/v2/dataset/${(spec.datasets as { d0: string }).d0}?purge=true`);
    },
    expect: {
      exit: 0,
      state: "failed",
      message: /did not accept its output: .*HTTP 404/,
      stdout: /^\{"status":"succeeded","message":"done".*\}$/m,
    },
  },
  {
    name: 'a 500 after the outputs were registered (a user tag "log" breaks save_output): the outputs are registered once',
    spec: async (k) => {
      const dataset = await api(k, "POST", "/api/v2/dataset", {
        name: `once-${randomBytes(4).toString("hex")}`,
        owner_org: "stelar-klms",
      });
      return {
        tags: { log: "x" },
        datasets: { d0: dataset.id },
        outputs: {
          report: { url: "s3://klms-bucket/out/report.csv", dataset: "d0", resource: { name: "r", relation: "owned" } },
        },
      };
    },
    verify: async (k, _t, spec) => {
      const dataset = await api(k, "GET", `/api/v2/dataset/${(spec.datasets as { d0: string }).d0}`);
      const names = (dataset.resources as { name: string }[]).map((r) => r.name);
      assert.deepEqual(names, ["r"], "one run registers its output once");
    },
    // The platform cannot take any output with a message for such a task: the outcome cannot land.
    expect: { exit: 4, state: "running", stderr: /HTTP 500.*not retried/ },
  },
  {
    name: "a wrong option in the image's environment: the platform is told why, exit 2",
    env: { KLMS_TIMEOUT: "30m" },
    expect: {
      exit: 2,
      state: "failed",
      message: /could not start the task: KLMS_TIMEOUT must be a number of seconds.*"30m"\. Fix that option/,
      stderr: /failure report posted/,
    },
  },
  {
    name: "403 on output (wrong signature): exit 4 with a recovery record",
    jobArgs: (k, t) => [k.token, `${k.apiUrl}/`, t.id, "0".repeat(64)],
    expect: { exit: 4, state: "running", stdout: /^\{"status":"succeeded".*\}$/m, stderr: /refused: HTTP 403/ },
  },
  // The worker side.
  {
    name: "worker throws",
    worker: "node throws.mjs",
    expect: {
      exit: 0,
      state: "failed",
      message: /exited with code 1 without writing output\.json/,
      error: /boom: the analysis failed/,
    },
  },
  {
    name: "worker calls process.exit(1) without an output",
    worker: "node exit-1.mjs",
    expect: {
      exit: 0,
      state: "failed",
      message: /exited with code 1 without writing output\.json/,
      error: /cannot continue/,
    },
  },
  {
    name: "worker runs out of heap",
    worker: "node --max-old-space-size=32 oom.mjs",
    expect: { exit: 0, state: "failed", message: /out of memory: .*heap out of memory/ },
  },
  {
    name: "worker writes nothing and exits 0",
    worker: "node silent.mjs",
    expect: { exit: 0, state: "failed", message: /exited with code 0 without writing output\.json/ },
  },
  {
    name: "worker writes garbage (not JSON)",
    worker: "node garbage.mjs",
    expect: { exit: 0, state: "failed", message: /output\.json is not valid JSON/ },
  },
  {
    name: "worker writes an output with a list value: never posted (no 422), reported failed",
    worker: "node list-output.mjs",
    expect: {
      exit: 0,
      state: "failed",
      message: /breaks the platform's rules[\s\S]*output\.files: must be a path string, got a list/,
      // "422" standing alone: a port such as 34229 or a task id may hold the digits.
      notStderr: /\b422\b/,
    },
  },
  {
    name: "worker writes null",
    worker: "node null-output.mjs",
    expect: { exit: 0, state: "failed", message: /must be a JSON object, got null/ },
  },
  {
    name: "worker exits 1 but wrote a valid failed output: its own report is posted",
    worker: "node fail-with-report.mjs",
    expect: { exit: 0, state: "failed", message: /^no rows in the input$/, error: /ValueError: empty frame/ },
  },
  {
    name: "worker writes a success output, then is killed by a signal: failed",
    worker: "node succeed-then-crash.mjs",
    expect: { exit: 0, state: "failed", message: /killed by signal SIGKILL.*said succeeded/ },
  },
  {
    name: "worker command not found",
    worker: "no-such-interpreter main.x",
    expect: { exit: 0, state: "failed", message: /could not be started \(spawn no-such-interpreter ENOENT\)/ },
  },
  {
    name: "worker hangs past the overall timeout",
    worker: "node hang.mjs",
    flags: ["--timeout", "1"],
    expect: { exit: 0, state: "failed", message: /timed out after 1 s/ },
  },
  {
    name: "SIGTERM to the entrypoint mid-run: the worker is stopped, the task failed (cancelled)",
    worker: "node hang.mjs",
    during: sigtermOnce(/worker: started/),
    expect: { exit: 0, state: "failed", message: /cancelled by SIGTERM: the worker was killed by signal SIGTERM/ },
  },
  {
    name: "SIGTERM, and the worker ignores it: killed after the grace period",
    worker: "node hang.mjs",
    env: { IGNORE_SIGTERM: "1" },
    during: sigtermOnce(/worker: started/),
    expect: {
      exit: 0,
      state: "failed",
      message: /cancelled by SIGTERM: the worker was killed by signal SIGKILL after the grace period/,
    },
  },
  {
    name: "worker prints every secret: all masked, in the logs and in the posted message",
    worker: "node leak-secrets.mjs",
    expect: {
      exit: 0,
      state: "succeeded",
      message: /^used key \*\*\*$/,
      stdout: /minio id=\*\*\* key=\*\*\* skey=\*\*\*/,
    },
  },
  {
    name: "the worker runs in the image's WORKDIR with absolute paths to a private folder, removed after",
    worker: "node inspect-workspace.mjs",
    expect: {
      exit: 0,
      state: "succeeded",
      // The worker posts the modes as the strings "700" and "600"; the platform reads every metric
      // back through ast.literal_eval (data-api src/sql_utils.py:1621-1638), so they come back as ints.
      metrics: { absolute_paths: true, same_folder: true, folder_mode: 700, input_mode: 600, cwd: WORKERS },
    },
  },
  {
    name: "a Python worker (python3 -u main.py) succeeds",
    worker: "python3 -u main.py",
    expect: { exit: 0, state: "succeeded", message: /^python worker done$/, stdout: /python worker: starting/ },
  },
  // The tool in a worker thread of the entrypoint (--worker-thread): the same guarantees.
  {
    name: "worker thread: success off the main thread, every credential masked",
    thread: `${TOOLS}/thread-ok.mjs`,
    expect: {
      exit: 0,
      state: "succeeded",
      message: /^used key \*\*\*$/,
      stdout: /tool: started; minio id=\*\*\* key=\*\*\* skey=\*\*\*/,
      stderr: /worker="[^"]*\/tools\/thread-ok\.mjs \(worker thread\)"[\s\S]*the worker thread exited with code 0/,
      metrics: { main_thread: false, groups: 1 },
    },
  },
  {
    name: "worker thread: the tool throws with a secret in its message",
    thread: `${TOOLS}/chatty.mjs`,
    expect: { exit: 0, state: "failed", message: /request failed with key \*\*\*/ },
  },
  {
    name: "worker thread: the tool calls process.exit mid-run; the entrypoint carries on",
    thread: `${TOOLS}/process-exit.mjs`,
    expect: { exit: 0, state: "failed", message: /ended the process \(process\.exit\(0\)\) before returning a result/ },
  },
  {
    name: "worker thread: an error thrown from a timer",
    thread: `${TOOLS}/uncaught.mjs`,
    expect: { exit: 0, state: "failed", message: /uncaught error in the tool: .*thrown from a timer/ },
  },
  {
    name: "worker thread: the tool runs out of heap; the entrypoint survives and reports it",
    thread: `${TOOLS}/thread-oom.mjs`,
    nodeFlags: ["--max-old-space-size=64"],
    expect: {
      exit: 0,
      state: "failed",
      message: /^The worker thread exited with code 1 \(out of memory: .*memory limit/,
    },
    // The entrypoint's report carries the automatic metrics in thread mode too (of the whole process; attack6 F15).
    check: (_r, record) => {
      const metrics = (record?.metrics ?? {}) as Record<string, unknown>;
      for (const name of ["runtime_seconds", "cpu_time_seconds", "memory_allocated"]) {
        assert.equal(typeof metrics[name], "number", `${name} in ${JSON.stringify(metrics)}`);
        assert.ok((metrics[name] as number) > 0, name);
      }
    },
  },
  {
    name: "worker thread: the module fails to load",
    thread: `${TOOLS}/broken-import.mjs`,
    expect: {
      exit: 0,
      state: "failed",
      message:
        /worker thread "[^"]*\/tools\/broken-import\.mjs" could not be started \(the module failed to load: .*JSON/,
    },
  },
  {
    name: "worker thread: a module that never calls main() is refused with the fix",
    thread: `${TOOLS}/plain.mjs`,
    expect: { exit: 0, state: "failed", message: /did not call main\(import\.meta, tool\).*--worker/ },
  },
  {
    name: "worker thread: SIGTERM mid-run reaches the tool's task.signal",
    thread: `${TOOLS}/cancellable.mjs`,
    during: sigtermOnce(/started/),
    expect: {
      exit: 0,
      state: "failed",
      // Whether the thread has finished exiting when the grace period ends depends on the machine's
      // load (CI, stop 19): either ending is right, so long as the tool's task.signal stopped it.
      message:
        /cancelled by SIGTERM: the worker thread (exited with code 1|was stopped after the grace period).*stopped early/,
    },
  },
  {
    name: "worker thread: SIGTERM, and the tool ignores it: the runtime reports it at the grace period",
    thread: `${TOOLS}/cancellable.mjs`,
    env: { IGNORE: "1" },
    during: sigtermOnce(/started/),
    expect: {
      exit: 0,
      state: "failed",
      // The runtime reports at its grace period (1 s); the entrypoint stops the thread 1 s later.
      // On a loaded machine the thread may not have finished exiting by then (CI stop 18): either
      // ending is right, so long as the runtime's own report is what the message carries.
      message:
        /cancelled by SIGTERM: the worker thread (exited with code 1|was stopped after the grace period)\. The worker's own report said status "failed": "cancelled: received SIGTERM and the tool did not stop within 1 s"/,
    },
  },
  {
    name: "worker thread: SIGTERM, and the tool blocks its event loop: stopped after the grace period",
    thread: `${TOOLS}/cancellable.mjs`,
    env: { BUSY: "1" },
    during: sigtermOnce(/started/),
    expect: {
      exit: 0,
      state: "failed",
      message: /cancelled by SIGTERM: the worker thread was stopped after the grace period/,
    },
  },
  {
    name: "worker thread: the token is refused; the loading thread does not keep the entrypoint alive",
    thread: `${TOOLS}/thread-ok.mjs`,
    jobArgs: (k, t) => [`Bearer ${unverifiableJwt()}`, `${k.apiUrl}/`, t.id, t.signature],
    expect: { exit: 3, state: "failed", message: /could not be fetched: .*HTTP 401/ },
  },
  // The tool's own process started ahead of its input (--worker-module): a process's guarantees.
  {
    name: "worker module: success in its own process, started ahead of the input, every credential masked",
    module: `${TOOLS}/thread-ok.mjs`,
    expect: {
      exit: 0,
      state: "succeeded",
      message: /^used key \*\*\*$/,
      stdout: /tool: started; minio id=\*\*\* key=\*\*\* skey=\*\*\*/,
      stderr:
        /worker starting command="node [^"]*\/tools\/thread-ok\.mjs" spawned="before the input"[\s\S]*the worker exited with code 0/,
      metrics: { main_thread: true, groups: 1 },
    },
    check: (r) => assert.match(r.stdout, /tool: start pipe variable: none/),
  },
  {
    name: "worker module: the module fails to load",
    module: `${TOOLS}/broken-import.mjs`,
    expect: {
      exit: 0,
      state: "failed",
      message: /worker "node [^"]*\/tools\/broken-import\.mjs" could not be started \(the module failed to load/,
      error: /JSON/,
    },
  },
  {
    name: "worker module: a module that never calls main() is refused with the fix",
    module: `${TOOLS}/plain.mjs`,
    expect: { exit: 0, state: "failed", message: /did not call main\(import\.meta, tool\).*--worker "node / },
  },
  // A module started ahead of its input that never calls main(), in both modes that start one so.
  ...(["thread", "module"] as const).flatMap((mode): Row[] => [
    {
      name: `worker ${mode}: a module that exits while loading, saying nothing, is reported as such`,
      ...tool(mode, "exit-while-loading.mjs"),
      expect: {
        exit: 0,
        state: "failed",
        message:
          /could not be started \(the module failed to load: it exited with code 3 before calling main\(import\.meta, tool\), and wrote nothing on its standard error\)/,
      },
    },
    {
      name: `worker ${mode}: a module that never calls main() and stays alive: the timeout says it was still loading`,
      ...tool(mode, "no-main-alive.mjs"),
      flags: ["--timeout", "2"],
      expect: {
        exit: 0,
        state: "failed",
        // A thread is terminated (exit code 1, or stopped at the grace period's end when a loaded
        // machine makes the termination slow); a process gets SIGTERM, which it does not handle.
        message:
          /timed out.*: the worker (thread exited with code 1|thread was stopped after the grace period|was killed by signal SIGTERM) while its module was loading \(it had not called main\(import\.meta, tool\)\)/,
      },
    },
  ]),
  {
    name: "worker module: the token is refused; the process started ahead is stopped, nothing is left running",
    module: `${TOOLS}/thread-ok.mjs`,
    env: { ROW_MARK: "klms-matrix-module-refused" },
    jobArgs: (k, t) => [`Bearer ${unverifiableJwt()}`, `${k.apiUrl}/`, t.id, t.signature],
    expect: { exit: 3, state: "failed", message: /could not be fetched: .*HTTP 401/ },
    check: () => assert.deepEqual(processesMarked("ROW_MARK=klms-matrix-module-refused"), []),
  },
  {
    name: "worker module: SIGTERM while the input is fetched: reported, the waiting process stopped",
    module: `${TOOLS}/thread-ok.mjs`,
    env: { ROW_MARK: "klms-matrix-module-early" },
    faults: (t) => [{ match: `/${t.id}/${t.signature}/input`, delayMs: 20_000 }],
    during: sigtermOnce(/task starting/),
    expect: { exit: 0, state: "failed", message: /cancelled by SIGTERM before the worker started/ },
    check: () => assert.deepEqual(processesMarked("ROW_MARK=klms-matrix-module-early"), []),
  },
  // Fault classes (issue 12): each row failed before its fix.
  ...(["process", "module", "thread"] as const).flatMap((mode): Row[] => [
    {
      name: `${mode}: 2,000 lines then process.exit(0): every line reaches the log`,
      ...tool(mode, "many-lines.mjs"),
      expect: { exit: 0, state: "failed", message: /ended the process \(process\.exit\(0\)\)/ },
      check: (r) => assert.equal(countLines(r.stdout), 2000),
    },
    {
      name: `${mode}: 2,000 lines then a rejected promise: every line reaches the log`,
      ...tool(mode, "many-lines.mjs"),
      env: { END: "reject" },
      expect: { exit: 0, state: "failed", message: /uncaught error in the tool: Error: left behind/ },
      check: (r) => assert.equal(countLines(r.stdout), 2000),
    },
    {
      name: `${mode}: secrets printed on descriptors 1 and 2 by subprocesses (every child_process call shape) and fs.write(Sync): masked`,
      ...tool(mode, "inherits-stdio.mjs"),
      expect: { exit: 0, state: "succeeded", message: /^printed$/ },
      check: (r) => {
        // Each way arrives, masked (the matrix's own check finds no secret in any form).
        const ways = [
          "spawn",
          "nullargs",
          "fd3",
          "streams",
          "spawnSync",
          "execSync",
          "execFileSync",
          "fork",
          "forkInherit",
        ];
        for (const how of [...ways, "writeSync", "write"]) {
          assert.match(r.stdout, new RegExp(`^${how} out \\*\\*\\*$`, "m"), how);
          assert.match(r.stderr, new RegExp(`${how} err \\*\\*\\*$`, "m"), how);
        }
        // An inherited stream reads null on the child in every mode, as Node documents.
        assert.match(r.stdout, /^spawn's child\.stdout: null$/m);
      },
    },
    {
      name: `${mode}: a tool blocked in spawnSync on a child ignoring SIGTERM, timed out: the child is killed, the outcome posted (attack7 F16)`,
      ...tool(mode, "blocks-in-spawnsync.mjs"),
      flags: ["--timeout", "2"],
      expect: { exit: 0, state: "failed", message: /^Task timed out after 2 s: the worker/ },
    },
    {
      name: `${mode}: processes the tool leaves running (ignoring SIGTERM) are stopped after it ends`,
      ...tool(mode, "leaves-children.mjs"),
      expect: {
        exit: 0,
        state: "succeeded",
        message: /^done$/,
        stderr:
          /processes it started are still running: stopping them[\s\S]*did not stop within the grace period: killing them/,
      },
      check: (r) => {
        const pids = (/children=([\d,]+)/.exec(r.stdout)?.[1] ?? "").split(",").map(Number);
        assert.equal(pids.length, 3);
        assert.deepEqual(pids.filter(isRunning), []);
      },
    },
    {
      name: `${mode}: a run() awaiting a promise nothing can settle is reported as such`,
      ...tool(mode, "never-settles.mjs"),
      expect: { exit: 0, state: "failed", message: /run\(\) never settled/, notStderr: /process\.exit\(0\)/ },
    },
    {
      name: `${mode}: --grace-period 8 reaches the tool, which needs 5.5 s to clean up`,
      ...tool(mode, "slow-cleanup.mjs"),
      flags: ["--grace-period", "8"],
      during: sigtermOnce(/started/),
      expect: {
        exit: 0,
        state: "failed",
        message:
          // A thread still exiting at the grace period's end on a loaded machine is stopped then:
          // the tool's own report is what shows the grace period reached it.
          /^Task cancelled by SIGTERM: the worker (thread )?(exited with code 0|was stopped after the grace period)\. The worker's own report said status "succeeded": "cleaned up in 5\.5 s"\.$/,
      },
    },
    {
      name: `${mode}: text and a secret written one byte at a time arrive whole, the secret masked`,
      ...tool(mode, "bytewise.mjs"),
      secrets: () => ({ unicode: `pässwörd-${randomBytes(6).toString("hex")}` }),
      expect: {
        exit: 0,
        state: "succeeded",
        stdout: /^text: ≤ café µm Ελληνικά$[\s\S]*^split across writes: \*\*\*$/m,
        stderr: /^secret: \*\*\*$/m,
        notStderr: /\uFFFD/,
      },
      check: (r) => assert.doesNotMatch(r.stdout, /\uFFFD/),
    },
    {
      name: `${mode}: metrics nested 2,000 deep are refused before the platform's parser fails on them`,
      ...tool(mode, "deep-metrics.mjs"),
      expect: { exit: 0, state: "failed", message: /nested more than 500 levels deep/ },
    },
  ]),
  {
    name: "a Python worker without -u, cancelled: its lines were not held in a buffer (PYTHONUNBUFFERED)",
    worker: "python3 hang-unbuffered.py",
    during: sigtermOnce(/python: line 4/),
    expect: { exit: 0, state: "failed", message: /cancelled by SIGTERM/, stdout: /python: started\npython: line 0/ },
  },
  {
    name: "a Python worker writing one byte per flush: the text arrives whole, the secret cut inside ä masked",
    worker: "python3 bytewise.py",
    secrets: () => ({ unicode: `pässwörd-${randomBytes(6).toString("hex")}` }),
    expect: { exit: 0, state: "succeeded", stdout: /^text: ≤ café µm Ελληνικά$/m, stderr: /^secret: \*\*\*$/m },
  },
  {
    name: "secrets printed through Python's encoders (quote, quote_plus, lower case, JSON fields) are masked",
    worker: "python3 encoders.py",
    secrets: () => ({
      db_password: `p@ss w/rd!(${randomBytes(6).toString("hex")})`,
      service: JSON.stringify({
        type: "service_account",
        client_secret: `cs-${randomBytes(9).toString("hex")}`,
        note: "ünïcode",
      }),
    }),
    expect: { exit: 0, state: "succeeded", message: /^printed 11 forms$/ },
    check: (r) => {
      const printed = r.stdout.split("\n").filter((line) => /^[a-z_0-9]+=/.test(line));
      assert.equal(printed.length, 11, r.stdout);
      for (const line of printed) assert.match(line, /^[a-z_0-9]+=("?)\*\*\*\1$/, `not masked: ${line}`);
    },
  },
  {
    name: "secrets in metrics values and output paths are masked in the post",
    worker: "node leak-in-output.mjs",
    // A numeric secret (a PIN) reported as a number: masked too (attack6 F12).
    secrets: () => ({ pin: String(10_000_000 + Math.floor(Math.random() * 89_999_999)) }),
    expect: { exit: 0, state: "succeeded", message: /^done$/ },
    check: (_r, record, task, outcome) => {
      assert.equal(record?.metrics?.leaked, "***");
      assert.deepEqual(record?.metrics?.nested, { list: ["pw=***"] });
      assert.equal(record?.metrics?.pin, "***");
      assert.deepEqual(record?.metrics?.pins, ["***"]);
      // The record lists only outputs registered in the catalog; the posted paths are in the outcome.
      const posted = JSON.stringify({ record, outcome });
      for (const value of Object.values(task.secrets)) assert.ok(!posted.includes(value), `a secret in ${posted}`);
      assert.match(posted, /s3:\/\/klms-bucket\/out\/\*\*\*\/report\.csv/);
    },
  },
  {
    name: "the token and the signature are not in /proc/<pid>/cmdline of the entrypoint",
    worker: "node hang.mjs",
    during: async (run, k, t) => {
      await run.waitFor(/worker: started/);
      const cmdline = readFileSync(`/proc/${run.child.pid}/cmdline`, "latin1");
      run.child.kill("SIGTERM");
      assert.equal(cmdline.replace(/\0+$/, ""), `klms-tool exec task ${t.id}`);
      for (const secret of [k.token.replace(/^Bearer /, ""), t.signature]) assert.ok(!cmdline.includes(secret));
    },
    expect: { exit: 0, state: "failed", message: /cancelled by SIGTERM/ },
  },
  {
    name: "descendants that ignore SIGTERM are killed, also once the worker itself has exited",
    worker: "node spawn-ignorers.mjs",
    during: sigtermOnce(/worker: started children=/),
    expect: { exit: 0, state: "failed", message: /cancelled by SIGTERM: the worker was killed by signal SIGTERM/ },
    check: (r) => {
      const pids = (/children=([\d,]+)/.exec(r.stdout)?.[1] ?? "").split(",").map(Number);
      assert.equal(pids.length, 20);
      assert.deepEqual(pids.filter(isRunning), []);
    },
  },
  {
    name: "invalid UTF-8 in output.json is a clear failure, never repaired",
    worker: "node bad-output.mjs",
    env: { MODE: "utf8" },
    expect: {
      exit: 0,
      state: "failed",
      message: /output\.json is not valid UTF-8 text \(first bad byte at offset 36\)/,
    },
  },
  {
    name: "output.json with metrics 2,000 deep is refused (the platform's Python parser fails on it)",
    worker: "node bad-output.mjs",
    env: { MODE: "deep", DEPTH: "2000" },
    expect: { exit: 0, state: "failed", message: /metrics: nested more than 500 levels deep/ },
  },
  {
    name: "output.json 100,000 deep: refused, no stack overflow",
    worker: "node bad-output.mjs",
    env: { MODE: "deep", DEPTH: "100000" },
    expect: { exit: 0, state: "failed", message: /metrics: nested more than 500 levels deep/, notStderr: /call stack/ },
  },
  {
    name: "output.json as a named pipe is refused, not waited on",
    worker: "node bad-output.mjs",
    env: { MODE: "fifo" },
    expect: { exit: 0, state: "failed", message: /output\.json is a named pipe \(FIFO\), not a regular file/ },
  },
  {
    name: "output.json of 300 MB is refused before it is read",
    worker: "node bad-output.mjs",
    env: { MODE: "huge" },
    expect: { exit: 0, state: "failed", message: /output\.json is 314572800 bytes, over the limit of 16777216 bytes/ },
  },
  {
    name: "output.json as a symbolic link is refused",
    worker: "node bad-output.mjs",
    env: { MODE: "symlink" },
    expect: { exit: 0, state: "failed", message: /output\.json is a symbolic link/ },
  },
  {
    name: "SIGTERM during the worker, then a post that does not answer: given up 15 s after the signal",
    worker: "node hang.mjs",
    faults: (t) => [{ match: `/${t.id}/${t.signature}/output`, delayMs: 20_000, status: 503 }],
    flags: ["--request-timeout", "60"],
    during: sigtermOnce(/worker: started/),
    expect: {
      exit: 4,
      state: "running",
      stdout: /^\{"status":"failed","message":"Task cancelled by SIGTERM.*\}$/m,
      stderr: /cancelled and the post did not finish within 15 s of the signal/,
    },
  },
  {
    name: "SIGTERM while the output POST waits on a server that does not answer: given up 15 s after the signal",
    // The server holds the post 20 s, then fails it; a retry would be recorded (the fault is used up).
    faults: (t) => [{ match: `/${t.id}/${t.signature}/output`, delayMs: 20_000, status: 503 }],
    flags: ["--request-timeout", "60"],
    during: sigtermOnce(/posting the task output/),
    expect: {
      exit: 4,
      state: "running",
      stdout: /^\{"status":"succeeded","message":"done".*\}$/m,
      stderr: /cancelled and the post did not finish within 15 s of the signal/,
    },
  },
];

describe("entrypoint failure matrix (real entrypoint, local KLMS)", { concurrency: 4 }, () => {
  let klms: LocalKlms;
  let minio: Record<string, string> = {};

  before(async () => {
    assertBuilt();
    klms = await startLocalKlms({ quiet: true });
    // The object store credentials every task input carries, read the way a tool reads them.
    const probe = await klms.createTask({
      process_id: klms.processId,
      name: "probe",
      datasets: {},
      inputs: {},
      outputs: {},
    });
    const sig = probe.signature;
    const reply = await fetch(`${klms.apiUrl}/api/v2/task/${probe.id}/${sig}/input`, {
      headers: { authorization: klms.token },
    });
    minio = ((await reply.json()) as { result: { minio: Record<string, string> } }).result.minio;
  });
  after(async () => {
    await klms?.stop();
  });

  for (const row of rows) {
    it(row.name, async () => {
      const secrets = {
        api_key: `sk-live-${randomBytes(12).toString("hex")}`,
        db_password: `pw-${randomBytes(9).toString("base64url")}`,
        ...row.secrets?.(),
      };
      const spec = (await row.spec?.(klms)) ?? {};
      const created = await klms.createTask({
        process_id: klms.processId,
        name: "matrix",
        datasets: {},
        inputs: { data: ["s3://klms-bucket/in/a.csv", "s3://klms-bucket/in/b.csv"] },
        outputs: { report: { url: "s3://klms-bucket/out/report.csv" } },
        parameters: { method: "pearson", rows: 10 },
        secrets,
        ...(row.image ? { image: row.image } : {}),
        ...spec,
      });
      const task: Task = { id: created.id, signature: created.signature, secrets };
      for (const fault of row.faults?.(task) ?? []) klms.faults.add(fault);
      await row.prepare?.(klms, spec);

      const command = [
        process.execPath,
        ...(row.nodeFlags ?? []),
        CLI,
        "exec",
        ...FAST,
        ...(row.thread
          ? ["--worker-thread", row.thread]
          : row.module
            ? ["--worker-module", row.module]
            : ["--worker", row.worker ?? "node succeed.mjs"]),
        ...(row.flags ?? []),
      ];
      const run = start(klms, task, command, row);
      await row.during?.(run, klms, task);
      const result = await run.done;
      const logs = `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;

      assert.equal(result.exitCode, row.expect.exit, `exit code\n${logs}`);
      const record = row.expect.state === "none" ? undefined : await klms.getTask(task.id);
      // The posted error is not part of the platform's task record: read it from what the tool posted.
      const posted = record ? await klms.getOutcome(task.id) : undefined;
      if (record) {
        assert.equal(record.exec_state, row.expect.state, `task state\n${logs}`);
        if (row.expect.message) assert.match(record.messages ?? "", row.expect.message, `task message\n${logs}`);
        if (row.expect.error) assert.match(String(posted?.error ?? ""), row.expect.error, `task error\n${logs}`);
        for (const [key, value] of Object.entries(row.expect.metrics ?? {})) {
          assert.deepEqual((record.metrics as Record<string, unknown>)?.[key], value, `metric ${key}\n${logs}`);
        }
      }
      if (row.expect.stderr) assert.match(result.stderr, row.expect.stderr, logs);
      if (row.expect.stdout) assert.match(result.stdout, row.expect.stdout, logs);
      if (row.expect.notStderr) assert.doesNotMatch(result.stderr, row.expect.notStderr, logs);
      row.check?.(result, record, task, posted);
      await row.verify?.(klms, task, spec);

      // The private folder holding the input (credentials included) is gone, however the run ended.
      const workspace = /workspace=(\S+)/.exec(result.stdout)?.[1];
      if (workspace) assert.ok(!existsSync(workspace), `the workspace ${workspace} was not removed`);

      // No credential, in any form a careless print would give it, in anything the pod logs.
      const jwt = klms.token.replace(/^Bearer /, "");
      const credentials = {
        token: klms.token,
        jwt,
        "jwt signature part": jwt.split(".")[2] as string,
        signature: task.signature,
        "minio.id": minio.id as string,
        "minio.key": minio.key as string,
        "minio.skey": minio.skey as string,
        ...Object.fromEntries(Object.entries(secrets).map(([k, v]) => [`secrets.${k}`, v])),
      };
      const captured = `${run.raw()}\n${result.stdout}\n${result.stderr}`;
      for (const [name, value] of Object.entries(credentials)) {
        assert.ok(value && value.length >= 4, `${name} is known`);
        for (const form of [value, Buffer.from(value).toString("base64")]) {
          assert.ok(!captured.includes(form), `${name} appears in the logs:\n${logs}`);
        }
      }
      if (record) {
        for (const [name, value] of Object.entries(credentials)) {
          assert.ok(!`${record.messages} ${posted?.error}`.includes(value), `${name} appears in the task's message`);
        }
      }
    });
  }
});

/** A row's worker: the tool module as a process (`node <module>`), started ahead of its input, or in a worker thread. */
function tool(mode: "process" | "module" | "thread", module: string): Pick<Row, "worker" | "thread" | "module"> {
  if (mode === "thread") return { thread: `${TOOLS}/${module}` };
  if (mode === "module") return { module: `${TOOLS}/${module}` };
  return { worker: `node ${TOOLS}/${module}` };
}

/** The processes whose environment holds `mark` (a row's own variable): what a run left running. */
function processesMarked(mark: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(mark) && isRunning(Number(pid)))
        found.push(Number(pid));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/** The "line NNNN" lines of many-lines.mjs that reached the log, each whole. */
function countLines(text: string): number {
  return text.match(/^line \d{4} x{100}$/gm)?.length ?? 0;
}

/** True while a process runs (a zombie, dead but not reaped, does not count). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/** Starts a run: through the local KLMS's runner (the Job's own arguments), or by hand for odd arguments. */
function start(klms: LocalKlms, task: Task, command: string[], row: Row): Running {
  let started: { child: import("node:child_process").ChildProcess; done: Promise<RunResult> };
  if (row.jobArgs) {
    started = spawnRun([...command, ...row.jobArgs(klms, task)], row.env);
  } else {
    started = klms.startTask(task.id, { command, cwd: WORKERS, args: row.seedForm ? 3 : 4, env: row.env ?? {} });
  }
  let seen = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const watch = (chunk: Buffer) => {
    seen += chunk.toString();
    for (const w of [...waiters]) {
      if (w.pattern.test(seen)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  started.child.stdout?.on("data", watch);
  started.child.stderr?.on("data", watch);
  return {
    ...started,
    raw: () => seen,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(seen)) return resolve();
        waiters.push({ pattern, resolve });
        started.done.then(() => reject(new Error(`the run ended before ${pattern} appeared:\n${seen}`)));
      }),
  };
}

/** Like the local KLMS's runner (same minimal environment), with arguments of our choosing. */
function spawnRun(argv: string[], env: Record<string, string> = {}) {
  const [program, ...args] = argv as [string, ...string[]];
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG"])
    if (process.env[name]) base[name] = process.env[name] as string;
  const child = spawn(program, args, { cwd: WORKERS, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<RunResult>((resolve) => {
    child.once("close", (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr, logs: stdout + stderr }));
  });
  return { child, done };
}

/** The matrix runs dist, as an image does: refuse to test a missing or stale build. */
function assertBuilt(): void {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  for (const dir of ["entrypoint", "platform"]) {
    for (const file of readdirSync(join(PACKAGE, "src", dir)).filter((f) => f.endsWith(".ts"))) {
      const built = join(PACKAGE, "dist", dir, file.replace(/\.ts$/, ".js"));
      const fresh = existsSync(built) && statSync(built).mtimeMs >= statSync(join(PACKAGE, "src", dir, file)).mtimeMs;
      assert.ok(
        fresh,
        `dist/${dir}/${file.replace(/\.ts$/, ".js")} is missing or older than its source: run \`npm run build\` first`,
      );
    }
  }
}
