/**
 * runEntrypoint in process, for what the child-process matrix cannot reach: the help and usage
 * paths, the log summary, and cancellation through an injected signal source at moments a real
 * signal could not be aimed at (during the input fetch, twice in a row).
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { type LocalKlms, startLocalKlms } from "../../klms-local/src/index.ts";
import { runEntrypoint } from "../../klms-tool/src/entrypoint/index.ts";
import { ExitCode } from "../../klms-tool/src/exit-codes.ts";

const WORKERS = resolve(import.meta.dirname, "fixtures/workers");
const FAST = ["--retries", "2", "--retry-delay", "0.01", "--request-timeout", "5"];

/** A Writable that keeps what it is given. */
function sink() {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

/** Calls runEntrypoint with captured output and an injectable signal source. */
async function run(argv: string[], options: { env?: NodeJS.ProcessEnv; signals?: EventEmitter } = {}) {
  const out = sink();
  const err = sink();
  const code = await runEntrypoint(argv, {
    stdout: out.stream,
    stderr: err.stream,
    cwd: WORKERS,
    env: options.env ?? { PATH: process.env.PATH },
    signals: options.signals ?? new EventEmitter(),
    setTitle: () => {},
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe("runEntrypoint: arguments", () => {
  it("prints help on stdout for --help", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, ExitCode.Success);
    assert.match(r.stdout, /^Usage: klms-tool exec/);
    assert.equal(r.stderr, "");
  });

  it("prints the usage on stderr and exits 2 on a wrong count", async () => {
    const r = await run(["Bearer x.y.z"]);
    assert.equal(r.code, ExitCode.Usage);
    assert.match(r.stderr, /got 1[\s\S]*Usage: klms-tool exec/);
    assert.equal(r.stdout, "");
  });

  it("exits 2 for an endpoint that is not a URL", async () => {
    const r = await run(["Bearer x.y.z", "stelarapi", "id", "sig"]);
    assert.equal(r.code, ExitCode.Usage);
    assert.match(r.stderr, /not a URL/);
  });
});

describe("runEntrypoint against the local KLMS", () => {
  let klms: LocalKlms;
  before(async () => {
    klms = await startLocalKlms({ quiet: true });
  });
  after(async () => {
    await klms?.stop();
  });

  const createTask = () =>
    klms.createTask({
      process_id: klms.processId,
      name: "in-process",
      datasets: {},
      inputs: { data: ["s3://klms-bucket/a.csv", "s3://klms-bucket/b.csv"] },
      outputs: { report: { url: "s3://klms-bucket/out/report.csv" } },
      // A value no timestamp, port or duration can contain by chance (0.75 once matched a time).
      parameters: { method: "kendall-tau-b", threshold: 0.6180339887 },
      secrets: { api_key: "sk-live-0123456789abcdef" },
    });

  it("logs a summary of the input with names and counts, never values", async () => {
    const task = await createTask();
    const r = await run([
      ...FAST,
      "--worker",
      "node succeed.mjs",
      klms.token,
      `${klms.apiUrl}/`,
      task.id,
      task.signature,
    ]);
    assert.equal(r.code, ExitCode.Success);
    assert.match(
      r.stderr,
      /INFO {2}\[entrypoint\] input fetched inputs=data:2 outputs=report parameters=method,threshold secrets=1 signature_verified=true/,
    );
    for (const value of ["kendall-tau-b", "0.6180339887", "sk-live-0123456789abcdef", "s3://klms-bucket/a.csv"]) {
      assert.ok(!r.stderr.includes(value), `${value} appears in the entrypoint's log`);
    }
    for (const line of r.stderr.trim().split("\n")) {
      assert.match(line, /^\S+Z (DEBUG|INFO |WARN |ERROR) \[entrypoint\] /, "every entrypoint line has a level");
    }
    assert.equal((await klms.getTask(task.id)).exec_state, "succeeded");
  });

  it("a worker that measures nothing gets the seed's metrics, measured from outside (Python)", async () => {
    const task = await createTask();
    const r = await run([...FAST, "--worker", "python3 -u main.py", klms.token, klms.apiUrl, task.id, task.signature]);
    assert.equal(r.code, ExitCode.Success, r.stderr);
    const { metrics, exec_state } = await klms.getTask(task.id);
    assert.equal(exec_state, "succeeded");
    const m = metrics as Record<string, unknown>;
    assert.equal(m.files, 2, "the worker's own metrics are kept");
    assert.ok(typeof m.runtime_seconds === "number" && m.runtime_seconds > 0, `runtime_seconds ${m.runtime_seconds}`);
    assert.ok(typeof m.cpu_time_seconds === "number" && m.cpu_time_seconds >= 0, `cpu ${m.cpu_time_seconds}`);
    // A Python interpreter holds several MB; the figure is the worker's peak, not the entrypoint's.
    assert.ok(typeof m.memory_allocated === "number" && m.memory_allocated > 2 ** 20, `memory ${m.memory_allocated}`);
  });

  it("a worker's own figures win over the measured ones, which still count its CPU and memory", async () => {
    const task = await createTask();
    const r = await run([
      ...FAST,
      "--worker",
      "node own-metrics.mjs",
      klms.token,
      klms.apiUrl,
      task.id,
      task.signature,
    ]);
    assert.equal(r.code, ExitCode.Success, r.stderr);
    const m = (await klms.getTask(task.id)).metrics as Record<string, number>;
    assert.equal(m.runtime_seconds, 42);
    // It used 0.3 s of CPU and held 64 MiB: both show, as from outside.
    assert.ok((m.cpu_time_seconds ?? 0) >= 0.2, `cpu ${m.cpu_time_seconds}`);
    assert.ok((m.memory_allocated ?? 0) >= 64 * 2 ** 20, `memory ${m.memory_allocated}`);
  });

  it("a signal during the input fetch reports the task cancelled before the worker started", async () => {
    const task = await createTask();
    klms.faults.add({ match: `/${task.id}/${task.signature}/input`, delayMs: 300 });
    const signals = new EventEmitter();
    const pending = run([...FAST, "--worker", "node succeed.mjs", klms.token, klms.apiUrl, task.id, task.signature], {
      signals,
    });
    setImmediate(() => signals.emit("SIGINT"));
    const r = await pending;
    assert.equal(r.code, ExitCode.Success);
    const record = await klms.getTask(task.id);
    assert.equal(record.exec_state, "failed");
    assert.match(record.messages ?? "", /cancelled by SIGINT before the worker started/);
    assert.doesNotMatch(r.stdout, /worker:/);
  });

  it("a second signal kills a worker that ignores the first, without waiting for the grace period", {
    timeout: 20_000,
  }, async () => {
    const task = await createTask();
    const signals = new EventEmitter();
    const out = sink();
    const err = sink();
    // One SIGTERM once the worker runs, another once it has said it ignores the first.
    let sent = 0;
    const signalAfter = (text: string, pattern: RegExp, nth: number) => {
      if (sent === nth - 1 && pattern.test(text)) {
        sent = nth;
        signals.emit("SIGTERM");
      }
    };
    const pending = runEntrypoint(
      [...FAST, "--grace-period", "600", "--worker", "node hang.mjs", klms.token, klms.apiUrl, task.id, task.signature],
      {
        stdout: new Writable({
          write(chunk, enc, done) {
            out.stream.write(chunk, enc, done);
            signalAfter(out.text(), /worker: started/, 1);
          },
        }),
        stderr: new Writable({
          write(chunk, enc, done) {
            err.stream.write(chunk, enc, done);
            signalAfter(err.text(), /SIGTERM ignored/, 2);
          },
        }),
        cwd: WORKERS,
        env: { PATH: process.env.PATH, IGNORE_SIGTERM: "1" },
        signals,
      },
    );
    assert.equal(await pending, ExitCode.Success);
    const record = await klms.getTask(task.id);
    assert.equal(record.exec_state, "failed");
    assert.match(
      record.messages ?? "",
      /cancelled by SIGTERM: the worker was killed by signal SIGKILL at a second signal/,
    );
    assert.match(err.text(), /SIGTERM received again: killing the worker now/);
  });
});
