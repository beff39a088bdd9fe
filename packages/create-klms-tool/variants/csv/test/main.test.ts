import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runToolTask } from "klms-local";
import { cli } from "klms-tool/cli";

// The tool's folder: the test runs `node dist/main.js` there (build first: `npm test` does).
const cwd = fileURLToPath(new URL("..", import.meta.url));

test("the tool summarises a CSV file as a KLMS task, end to end", async (t) => {
  // Starts a local KLMS, uploads the file, creates the task and runs the real entrypoint with
  // the four arguments the cluster passes.
  const run = await runToolTask({ cwd, files: { tables: ["fixtures/readings.csv"] }, outputNames: ["summary"] });
  t.after(() => run.stop());

  assert.equal(run.state, "succeeded", run.logs);
  assert.equal(run.message, "2 numeric columns summarised");
  const summary = await run.readText(run.output.summary as string);
  assert.equal(
    summary,
    "file,column,count,mean,min,max\nreadings.csv,temperature,3,3.1666666666666665,1.75,4.25\nreadings.csv,humidity,4,83.75,79,90\n",
  );
});

test("a bad parameter fails the task with a clear message", async (t) => {
  const run = await runToolTask({ cwd, outputNames: ["summary"], parameters: { delimiter: ";;" } });
  t.after(() => run.stop());
  assert.equal(run.state, "failed");
  assert.match(String(run.message), /invalid parameters:\n- delimiter: /);
});

test("fixtures/input.json (what npm start runs) is an input the tool accepts", async () => {
  // The CLI in-process: `klms-tool validate-input fixtures/input.json --tool dist/main.js`.
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const code = await cli(["validate-input", "fixtures/input.json", "--tool", "dist/main.js"], { cwd, stdout, stderr });
  assert.equal(code, 0, String(stderr.read()));
  assert.match(String(stdout.read()), /valid for __TOOL_NAME__: parameters \{"delimiter":","\}/);
});
