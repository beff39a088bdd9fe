/**
 * The one registry of automatic metrics (src/metrics/automatic.ts): every producer's names are
 * in it, the merge rule is the same for all, and the README's table is made from it.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { withUsage } from "../../src/entrypoint/usage.ts";
import { defineTool } from "../../src/index.ts";
import { runWorker } from "../../src/internal.ts";
import { AUTOMATIC_METRICS, metricsTableMarkdown, withAutomaticMetrics } from "../../src/metrics/automatic.ts";
import { AutoMetrics } from "../../src/worker/auto-metrics.ts";
import { taskInput, workspace } from "../support.ts";

const NAMES = Object.keys(AUTOMATIC_METRICS);

describe("automatic metrics", () => {
  test("a defineTool tool's output carries every runtime metric of the registry, bytes_in/bytes_out included", async () => {
    const ws = await workspace(taskInput());
    try {
      const tool = defineTool({
        name: "quiet",
        async run(task) {
          task.metric("own", 1);
        },
      });
      const { output } = await runWorker({ tool, inputPath: ws.inputPath, outputPath: ws.outputPath, write: () => {} });
      const runtime = NAMES.filter((n) =>
        (AUTOMATIC_METRICS as Record<string, { producers: readonly string[] }>)[n]?.producers.includes("runtime"),
      );
      const metrics = output.metrics as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(metrics)
          .filter((k) => k !== "own")
          .sort(),
        [...runtime].sort(),
      );
      assert.equal(metrics.bytes_in, 0);
      assert.equal(metrics.bytes_out, 0);
    } finally {
      await ws.cleanup();
    }
  });

  test("the runtime's and the entrypoint's producers only use registered names", () => {
    const auto = new AutoMetrics();
    for (const name of Object.keys(auto.finish())) assert.ok(NAMES.includes(name), name);
    const merged = withUsage({ metrics: {} }, { runtime_seconds: 1, cpu_time_seconds: 0.5, memory_allocated: 10 });
    for (const name of Object.keys(merged.metrics)) assert.ok(NAMES.includes(name), name);
  });

  test("one merge rule: the tool's own value wins", () => {
    assert.deepEqual(withAutomaticMetrics({ runtime_seconds: 9, z: 1 }, { runtime_seconds: 1, bytes_in: 3 }), {
      runtime_seconds: 9,
      bytes_in: 3,
      z: 1,
    });
    assert.deepEqual(
      withUsage({ metrics: { memory_allocated: 5 } }, { runtime_seconds: 2, memory_allocated: 7 }).metrics,
      {
        runtime_seconds: 2,
        memory_allocated: 5,
      },
    );
  });

  test("the README's metrics table is the registry's (rewrite it: node --import tsx scripts/readme-tables.ts)", async () => {
    const readme = await readFile(new URL("../../../../README.md", import.meta.url), "utf8");
    const start = "<!-- metrics table: made by scripts/readme-tables.ts -->\n";
    const at = readme.indexOf(start);
    assert.ok(at >= 0, "the README marks its metrics table");
    assert.equal(readme.slice(at + start.length, readme.indexOf("<!-- end -->", at)), metricsTableMarkdown());
  });
});
