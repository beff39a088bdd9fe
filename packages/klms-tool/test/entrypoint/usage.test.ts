/**
 * measureWorker and withUsage: a worker process's wall time, CPU time and peak memory measured
 * from outside (Linux /proc), and the worker's own figures winning over the measured ones.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { measureWorker, withUsage } from "../../src/entrypoint/usage.ts";

const MIB = 1024 * 1024;

/**
 * A child that touches 64 MiB, burns 300 ms of CPU, says "ready" and then waits for its stdin to
 * close: the parent measures it while its peak memory is already reached.
 */
const CHILD = `
const block = Buffer.alloc(64 * 1024 * 1024, 1);
const start = process.cpuUsage();
while (process.cpuUsage(start).user < 300000) {}
process.stdout.write("ready " + block.length + "\\n");
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
`;

describe("measureWorker", { skip: process.platform !== "linux" && "reads /proc (Linux only)" }, () => {
  it("reports the worker's wall time, its CPU time once reaped, and its peak resident memory", async () => {
    const child = spawn(process.execPath, ["-e", CHILD], { stdio: ["pipe", "pipe", "inherit"] });
    const [first] = (await once(child.stdout, "data")) as [Buffer];
    assert.match(first.toString(), /^ready 67108864/);
    const began = performance.now();
    const meter = measureWorker(child.pid);
    child.stdin.end();
    await once(child, "close");
    const usage = meter.stop();
    const elapsed = (performance.now() - began) / 1000;

    assert.ok(usage.runtime_seconds > 0 && usage.runtime_seconds <= elapsed + 0.001, JSON.stringify(usage));
    // The child's CPU counts once it is reaped: at least the 300 ms it burned (10 ms ticks).
    assert.ok((usage.cpu_time_seconds ?? 0) >= 0.29, `cpu_time_seconds ${usage.cpu_time_seconds}`);
    // VmHWM is the peak, already reached before measuring began: at least the 64 MiB it touched.
    assert.ok((usage.memory_allocated ?? 0) >= 64 * MIB, `memory_allocated ${usage.memory_allocated}`);
    assert.equal(Number.isInteger(usage.memory_allocated), true);
  });

  it("without a process id (a worker thread) reports no memory figure", () => {
    const usage = measureWorker(undefined).stop();
    assert.equal(typeof usage.runtime_seconds, "number");
    assert.equal("memory_allocated" in usage, false);
  });

  it("rounds seconds to milliseconds", () => {
    const usage = measureWorker(undefined).stop();
    assert.equal(usage.runtime_seconds, Math.round(usage.runtime_seconds * 1000) / 1000);
  });
});

describe("withUsage", () => {
  it("adds the measured figures the worker did not report, and keeps the worker's own", () => {
    const output = { status: "succeeded", metrics: { runtime_seconds: 9.5, rows: 3 } };
    const merged = withUsage(output, { runtime_seconds: 1.25, cpu_time_seconds: 0.5, memory_allocated: 2048 });
    assert.deepEqual(merged, {
      status: "succeeded",
      metrics: { runtime_seconds: 9.5, rows: 3, cpu_time_seconds: 0.5, memory_allocated: 2048 },
    });
    assert.deepEqual(output.metrics, { runtime_seconds: 9.5, rows: 3 }, "the input is not changed");
  });

  it("gives an output without metrics the measured ones", () => {
    assert.deepEqual(withUsage({ status: "failed" }, { runtime_seconds: 2 }), {
      status: "failed",
      metrics: { runtime_seconds: 2 },
    });
  });
});
