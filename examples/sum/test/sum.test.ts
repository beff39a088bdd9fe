import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runToolTask } from "klms-local";

const cwd = fileURLToPath(new URL("..", import.meta.url));

test("z = x + y, as a KLMS task", async (t) => {
  const run = await runToolTask({ cwd, parameters: { x: 2, y: 40 } });
  t.after(() => run.stop());
  assert.equal(run.state, "succeeded", run.logs);
  assert.equal(run.metrics.z, 42);
});

test("the same in a worker thread of the entrypoint (--worker-thread)", async (t) => {
  const run = await runToolTask({ cwd, workerThread: "dist/main.js", parameters: { x: 2, y: 40 } });
  t.after(() => run.stop());
  assert.equal(run.state, "succeeded", run.logs);
  assert.equal(run.metrics.z, 42);
  assert.match(run.logs, /the worker thread exited with code 0/);
});

test("numbers sent as strings are refused with a clear message", async (t) => {
  // The platform turns "2" into 2 by itself; "two" stays a string and must be refused.
  const run = await runToolTask({ cwd, parameters: { x: "two", y: 1 } });
  t.after(() => run.stop());
  assert.equal(run.state, "failed");
  assert.match(String(run.message), /invalid parameters:\n- x: .*got "two"/);
});
