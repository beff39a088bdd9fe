/**
 * decideReport: what the entrypoint posts once the worker has ended, from how it ended and the
 * output.json it left (read by the real readWorkerOutput from files written here).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decideReport, describeWorkerEnd } from "../../src/entrypoint/report.ts";
import type { WorkerResult } from "../../src/entrypoint/supervisor.ts";
import { readWorkerOutput, type WorkerOutput } from "../../src/entrypoint/worker-output.ts";

const COMMAND = ["python3", "main.py"];

/** A worker that exited by itself after 1.234 s with nothing on stderr, overridden by `end`. */
function ended(end: Partial<WorkerResult> = {}): WorkerResult {
  return { exitCode: 0, signal: null, stderrTail: "", durationMs: 1234, ...end };
}

describe("decideReport", () => {
  let dir: string;
  let n = 0;
  /** output.json holding `content` (a value as JSON, or raw text), as readWorkerOutput reads it. */
  const left = async (content: unknown): Promise<WorkerOutput> => {
    const path = join(dir, `output-${n++}.json`);
    await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
    return readWorkerOutput(path);
  };
  const missing = () => readWorkerOutput(join(dir, "never-written.json"));
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "klms-report-test-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("posts a valid output of a worker that exited as it is, as the worker's", async () => {
    const own = { status: "succeeded", message: "done", metrics: { rows: 3 }, output: { report: "s3://b/r.csv" } };
    const report = decideReport(ended(), await left(own), COMMAND);
    assert.deepEqual(report, { output: own, source: "worker" });
  });

  it("posts the worker's own failure report as it is (exit code 1)", async () => {
    const own = { status: "failed", message: "bad input", error: "ValueError: x" };
    const report = decideReport(ended({ exitCode: 1 }), await left(own), COMMAND);
    assert.deepEqual(report, { output: own, source: "worker" });
  });

  it("reports a worker that wrote no output.json, with how it ended and its measured figures", async () => {
    const report = decideReport(ended({ exitCode: 1 }), await missing(), COMMAND);
    assert.deepEqual(report, {
      source: "entrypoint",
      output: {
        status: "failed",
        message: "The worker exited with code 1 without writing output.json.",
        error: "The worker exited with code 1 without writing output.json.",
        metrics: { worker_exit_code: 1, worker_signal: null, worker_seconds: 1.234 },
      },
    });
  });

  it("puts the last lines of the worker's stderr in the error", async () => {
    const tail = "Traceback (most recent call last):\nValueError: no rows";
    const report = decideReport(ended({ exitCode: 1, stderrTail: tail }), await missing(), COMMAND);
    assert.equal(report.output.error, `Last lines of the worker's standard error:\n${tail}`);
  });

  it("names a command that could not be started", async () => {
    const report = decideReport(
      ended({ exitCode: null, spawnError: "spawn python3 ENOENT" }),
      await missing(),
      COMMAND,
    );
    assert.equal(report.source, "entrypoint");
    assert.equal(report.output.message, 'The worker "python3 main.py" could not be started (spawn python3 ENOENT).');
  });

  it("says why output.json could not be used: not JSON, empty", async () => {
    const garbage = decideReport(ended(), await left("{oops"), COMMAND);
    assert.match(
      garbage.output.message as string,
      /^The worker exited with code 0, but output\.json is not valid JSON \(/,
    );
    const empty = decideReport(ended(), await left(""), COMMAND);
    assert.equal(empty.output.message, "The worker exited with code 0, but output.json is empty.");
  });

  it("does not post an output that breaks the platform's rules, and lists each broken rule", async () => {
    const report = decideReport(
      ended(),
      await left({ status: "succeeded", message: 42, output: { report: 7 } }),
      COMMAND,
    );
    assert.equal(report.source, "entrypoint");
    const message = report.output.message as string;
    assert.match(
      message,
      /^The worker exited with code 0, but its output\.json breaks the platform's rules, so it was not posted:\n/,
    );
    assert.match(message, /^✗ message: /m);
    assert.match(message, /^✗ output\.report: /m);
  });

  it("does not trust 'succeeded' from a worker killed by a signal, and keeps its metrics", async () => {
    const own = { status: "succeeded", message: "all good", metrics: { rows: 3 } };
    const report = decideReport(ended({ exitCode: null, signal: "SIGKILL" }), await left(own), COMMAND);
    assert.deepEqual(report.output, {
      status: "failed",
      message:
        "The worker was killed by signal SIGKILL (not by this entrypoint: in a pod this is usually the memory limit, OOMKilled). " +
        "Its output.json said succeeded, but a killed worker may not have finished.",
      error:
        "The worker was killed by signal SIGKILL (not by this entrypoint: in a pod this is usually the memory limit, OOMKilled). " +
        "Its output.json said succeeded, but a killed worker may not have finished.",
      metrics: { rows: 3, worker_exit_code: null, worker_signal: "SIGKILL", worker_seconds: 1.234 },
    });
  });

  it("reports a cancelled run as cancelled, quoting the worker's own report", async () => {
    const own = { status: "failed", message: "stopped early", error: "Cancelled" };
    const worker = ended({ exitCode: 1, cancelled: { kind: "signal", signal: "SIGTERM" } });
    const report = decideReport(worker, await left(own), COMMAND);
    assert.equal(
      report.output.message,
      `Task cancelled by SIGTERM: the worker exited with code 1. The worker's own report said status "failed": "stopped early".`,
    );
    assert.equal(report.output.error, "Cancelled", "the worker's own error is kept");
  });

  it("reports a timeout with its budget", async () => {
    const worker = ended({ exitCode: null, signal: "SIGTERM", cancelled: { kind: "timeout", seconds: 5 } });
    const report = decideReport(worker, await missing(), COMMAND);
    assert.equal(report.output.message, "Task timed out after 5 s: the worker was killed by signal SIGTERM.");
  });
});

describe("describeWorkerEnd", () => {
  it("tells a thread stopped at the grace period and an out-of-memory end", () => {
    assert.equal(
      describeWorkerEnd(ended({ thread: true, forceKilled: "grace-period", exitCode: 1 }), COMMAND),
      "the worker thread was stopped after the grace period",
    );
    assert.equal(
      describeWorkerEnd(ended({ exitCode: 134, outOfMemory: "FATAL ERROR: heap limit" }), COMMAND),
      "the worker exited with code 134 (out of memory: FATAL ERROR: heap limit)",
    );
  });

  it("tells a process killed at the grace period or at a second signal", () => {
    const base = {
      exitCode: null,
      signal: "SIGKILL" as const,
      cancelled: { kind: "signal" as const, signal: "SIGTERM" as const },
    };
    assert.equal(
      describeWorkerEnd(ended({ ...base, forceKilled: "grace-period" }), COMMAND),
      "the worker was killed by signal SIGKILL after the grace period",
    );
    assert.equal(
      describeWorkerEnd(ended({ ...base, forceKilled: "second-signal" }), COMMAND),
      "the worker was killed by signal SIGKILL at a second signal",
    );
  });
});
