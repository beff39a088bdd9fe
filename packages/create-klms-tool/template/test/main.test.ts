import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runToolTask } from "klms-local";
import { cli } from "klms-tool/cli";

// The tool's folder: the test runs `node dist/main.js` there (build first: `npm test` does).
const cwd = fileURLToPath(new URL("..", import.meta.url));

test("the tool runs as a KLMS task, end to end", async (t) => {
  // Starts a local KLMS, uploads the files, creates the task and runs the real entrypoint with
  // the four arguments the cluster passes.
  const run = await runToolTask({
    cwd,
    files: { data: ["fixtures/data.txt"] },
    outputNames: ["report"],
    parameters: { x: 2, y: 3 },
  });
  t.after(() => run.stop());

  assert.equal(run.state, "succeeded", run.logs);
  assert.equal(run.message, "x + y = 5; 3 lines read");
  assert.equal(run.metrics.z, 5);
  const report = JSON.parse(await run.readText(run.output.report as string));
  assert.deepEqual(report, { sum: 5, lines: 3 });
});

test("a missing parameter fails the task with a clear message", async (t) => {
  const run = await runToolTask({ cwd, outputNames: ["report"], parameters: { y: 3 } });
  t.after(() => run.stop());

  assert.equal(run.state, "failed");
  assert.match(String(run.message), /invalid parameters:\n- x: required/);
});

test("fixtures/input.json (what npm start runs) is an input the tool accepts", async () => {
  // The CLI in-process: `klms-tool validate-input fixtures/input.json --tool dist/main.js`.
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const code = await cli(["validate-input", "fixtures/input.json", "--tool", "dist/main.js"], { cwd, stdout, stderr });
  assert.equal(code, 0, String(stderr.read()));
  assert.match(String(stdout.read()), /valid for __TOOL_NAME__: parameters \{"x":2,"y":3\}/);
});
