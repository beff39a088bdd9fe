import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runToolTask } from "klms-local";

const cwd = fileURLToPath(new URL("..", import.meta.url));

test("correlations runs as a KLMS task end to end and writes the matrix", async (t) => {
  const run = await runToolTask({
    cwd,
    files: { series: ["fixtures/weather.csv", "fixtures/field.csv"] },
    outputNames: ["correlations_file"],
    parameters: { method: "spearman" },
  });
  t.after(() => run.stop());
  assert.equal(run.state, "succeeded", run.logs);
  assert.equal(run.exitCode, 0);
  assert.match(String(run.message), /spearman correlations of 4 columns over 60 rows/);
  assert.deepEqual([run.metrics.files, run.metrics.rows, run.metrics.columns], [2, 60, 4]);
  assert.ok(Number(run.metrics.bytes_in) > 0, "bytes read from the store are reported");
  const matrix = await run.readText(run.output.correlations_file!);
  const lines = matrix.trim().split("\n");
  assert.equal(lines[0], ",weather.csv:temperature,weather.csv:humidity,field.csv:soil_moisture,field.csv:ndvi");
  assert.match(
    lines[1]!,
    /^weather\.csv:temperature,1\.000000,-0\.\d+/,
    "temperature and humidity are anti-correlated",
  );
  assert.match(run.logs, /left out non-numeric columns date, station/);
});

test("a CSV without numeric columns fails the task with a clear message", async (t) => {
  const run = await runToolTask({
    cwd,
    files: { series: ["test/fixtures/text-only.csv"] },
    outputNames: ["correlations_file"],
  });
  t.after(() => run.stop());
  assert.equal(run.state, "failed");
  assert.equal(run.exitCode, 0, "the platform recorded the failure, so the Job must not retry");
  assert.match(String(run.message), /text-only\.csv has no numeric column \(its columns: name, city\)/);
});

test("an unknown method is refused before any work, naming the choices", async (t) => {
  const run = await runToolTask({
    cwd,
    files: { series: ["fixtures/field.csv"] },
    outputNames: ["correlations_file"],
    parameters: { method: "kendall" },
  });
  t.after(() => run.stop());
  assert.equal(run.state, "failed");
  assert.match(
    String(run.message),
    /invalid parameters:\n- method: .*"pearson"\|"spearman"|invalid parameters:\n- method: .*pearson.*spearman/,
  );
});
