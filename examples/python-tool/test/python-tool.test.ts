import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runToolTask } from "klms-local";

const cwd = fileURLToPath(new URL("..", import.meta.url));

test("a Python tool runs through the same entrypoint", async (t) => {
  const run = await runToolTask({ cwd, worker: "python3 -u main.py", parameters: { text: "the quick brown fox" } });
  t.after(() => run.stop());
  assert.equal(run.state, "succeeded", run.logs);
  assert.equal(run.message, "counted 4 words");
  assert.deepEqual([run.metrics.words, run.metrics.longest], [4, 5]);
  // Measured by the entrypoint from outside: the script itself reports only words and longest.
  assert.equal(typeof run.metrics.runtime_seconds, "number");
  assert.equal(typeof run.metrics.cpu_time_seconds, "number");
  assert.ok(Number(run.metrics.memory_allocated) > 2 ** 20, `memory_allocated ${run.metrics.memory_allocated}`);
});

test("a Python crash still reaches the platform as a failure", async (t) => {
  const run = await runToolTask({ cwd, worker: "python3 -u main.py", parameters: { text: 42 } });
  t.after(() => run.stop());
  assert.equal(run.state, "failed");
  assert.match(String(run.message), /exited with code 1|AttributeError/, run.logs);
});
