import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runToolTask } from "klms-local";

// The tool's folder: the test runs `python3 -u main.py` there, as the image's run.sh does.
const cwd = fileURLToPath(new URL("..", import.meta.url));
const worker = "python3 -u main.py";

test("the Python tool runs as a KLMS task, end to end", async (t) => {
  // Starts a local KLMS, creates the task and runs the real entrypoint with the four arguments
  // the cluster passes; the entrypoint runs main.py as its worker.
  const run = await runToolTask({ cwd, worker, parameters: { x: 2, y: 3 } });
  t.after(() => run.stop());

  assert.equal(run.state, "succeeded", run.logs);
  assert.equal(run.message, "x + y = 5; 0 input files");
  assert.equal(run.metrics.z, 5);
});

test("a parameter that is not a number fails the task with the tool's message", async (t) => {
  const run = await runToolTask({ cwd, worker, parameters: { x: "two" } });
  t.after(() => run.stop());

  assert.equal(run.state, "failed");
  assert.match(String(run.message), /parameters x and y must be numbers, got x='two'/);
});

test("fixtures/input.json (what npm start runs) gives the tool its numbers", async (t) => {
  const input = (await import("../fixtures/input.json", { with: { type: "json" } })).default;
  const run = await runToolTask({ cwd, worker, parameters: input.parameters });
  t.after(() => run.stop());
  assert.equal(run.message, "x + y = 5; 0 input files");
});
