import assert from "node:assert/strict";
import { truncate, writeFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { checkTaskOutput } from "../../src/contract/index.ts";
import { defineTool, type PlainRun, type RunnableTool, z } from "../../src/index.ts";
import { runWorker } from "../../src/internal.ts";
import { CLI, findSecrets, fixture, runProcess, taskInput, workspace } from "../support.ts";

/** Runs a tool in-process on an input and returns the written output (checked against the platform's rules). */
async function run(tool: RunnableTool | { modulePath: string }, input: unknown = taskInput()) {
  const ws = await workspace(input);
  const lines: string[] = [];
  try {
    const target = "modulePath" in tool ? { modulePath: tool.modulePath } : { tool };
    const result = await runWorker({
      ...target,
      inputPath: ws.inputPath,
      outputPath: ws.outputPath,
      write: (l) => lines.push(l),
    });
    const written = await ws.readOutput();
    assert.deepEqual(written, JSON.parse(JSON.stringify(result.output)), "the file holds what runWorker returned");
    const check = checkTaskOutput(written);
    assert.equal(check.valid, true, `the written output must be valid: ${JSON.stringify(check.violations)}`);
    assert.deepEqual(findSecrets(JSON.stringify(written)), [], "no secret in output.json");
    assert.deepEqual(findSecrets(lines.join("")), [], "no secret in the logs");
    return { output: written, exitCode: result.exitCode, logs: lines.join("") };
  } finally {
    await ws.cleanup();
  }
}

const sum = defineTool({
  name: "sum",
  parameters: z.object({ x: z.number(), y: z.number().default(3), label: z.string().default("total") }),
  inputs: { data: { min: 1, max: 2 } },
  outputs: { result: { optional: true } },
  async run(task) {
    task.metric("z", task.parameters.x + task.parameters.y);
    return { message: `${task.parameters.label} computed` };
  },
});

describe("worker: a tool that succeeds", () => {
  test("parameters validated with defaults; metrics merged with the automatic ones", async () => {
    const { output, exitCode } = await run(sum);
    assert.equal(exitCode, 0);
    assert.equal(output.status, "succeeded");
    assert.equal(output.message, "total computed");
    const metrics = output.metrics as Record<string, number>;
    assert.equal(metrics.z, 5);
    for (const m of ["runtime_seconds", "cpu_time_seconds", "peak_cpu_usage", "memory_allocated"]) {
      assert.equal(typeof metrics[m], "number", m);
    }
    assert.ok(metrics.memory_allocated! > 1_000_000, "peak RSS in bytes");
  });

  test("a string parameter the platform literal-evaluated is read back as a string", async () => {
    const { output, logs } = await run(sum, taskInput({ parameters: { x: 1, label: 123 } }));
    assert.equal(output.message, "123 computed");
    assert.match(logs, /parameter label: the schema asks for text but 123 arrived: .* the tool gets "123"/);
  });

  test("unknown parameters are warned about, not fatal", async () => {
    const { output, logs } = await run(sum, taskInput({ parameters: { x: 1, LLM: "x" } }));
    assert.equal(output.status, "succeeded");
    assert.match(logs, /unknown parameter "LLM" ignored/);
  });

  test("returning nothing is a success with a default message", async () => {
    const tool = defineTool({ name: "quiet", run() {} });
    const { output } = await run(tool);
    assert.deepEqual([output.status, output.message], ["succeeded", "quiet succeeded"]);
  });

  test("autoMetrics: false leaves only the tool's metrics", async () => {
    const tool = defineTool({ name: "bare", autoMetrics: false, run: () => ({ metrics: { a: 1 } }) });
    assert.deepEqual((await run(tool)).output.metrics, { a: 1 });
  });

  test("metrics are made JSON-safe", async () => {
    const tool = defineTool({
      name: "odd-metrics",
      run: (t) => {
        t.metric("nan", Number.NaN);
        t.metric("big", 10n);
        t.metric("when", new Date(0));
      },
    });
    const metrics = (await run(tool)).output.metrics as Record<string, unknown>;
    assert.deepEqual([metrics.nan, metrics.big, metrics.when], [null, 10, "1970-01-01T00:00:00.000Z"]);
  });
});

describe("worker: always writes a valid output.json", () => {
  const failures: { name: string; tool: RunnableTool; input?: unknown; message: RegExp }[] = [
    {
      name: "run throws",
      tool: defineTool({
        name: "tt",
        run() {
          throw new RangeError("boom");
        },
      }),
      message: /^RangeError: boom$/,
    },
    {
      name: "run rejects with a non-Error",
      tool: defineTool({ name: "tt", run: () => Promise.reject("just a string") }),
      message: /non-Error value: just a string/,
    },
    {
      name: "run returns a list",
      tool: defineTool({ name: "tt", run: () => [1] as never }),
      message: /must return an object.*got a list/,
    },
    {
      name: "an output value that is a list",
      tool: defineTool({ name: "tt", run: () => ({ output: { a: ["s3://b/1"] } as never }) }),
      message: /output\.a: must be a path string, got a list/,
    },
    {
      name: "metrics that cannot be serialised",
      tool: defineTool({ name: "tt", run: (t) => t.metric("f", () => 1) }),
      message: /metrics cannot be reported: metrics\.f is a function/,
    },
    {
      name: "a metric cycle",
      tool: defineTool({
        name: "tt",
        run: () => {
          const o: Record<string, unknown> = {};
          o.o = o;
          return { metrics: { o } };
        },
      }),
      message: /refers back to itself/,
    },
    {
      name: "invalid parameters",
      tool: sum,
      input: taskInput({ parameters: { x: "abc", y: "2" } }),
      message: /invalid parameters:\n- x: .*got "abc"\n- y: .*got "2"/,
    },
    { name: "a missing required parameter", tool: sum, input: taskInput({ parameters: {} }), message: /- x: required/ },
    {
      name: "too few inputs",
      tool: sum,
      input: taskInput({ input: { other: ["s3://b/k"] } }),
      message: /input group "data" needs at least 1 path but is missing; the task's input groups: "other" \(1\)/,
    },
    {
      name: "too many inputs",
      tool: sum,
      input: taskInput({ input: { data: ["s3://b/1", "s3://b/2", "s3://b/3"] } }),
      message: /takes at most 2 paths but holds 3/,
    },
    {
      name: "a declared output the task does not ask for",
      tool: defineTool({ name: "tt", outputs: { report: {} }, run() {} }),
      message: /output "report" is declared but the task gives no path for it; the task's outputs: "result"/,
    },
    {
      name: "a declared output never produced",
      tool: defineTool({ name: "tt", outputs: { result: {} }, run() {} }),
      message: /output "result" was not produced: upload it with task\.outputs\.result\.upload/,
    },
    {
      name: "secrets without a verified signature",
      tool: defineTool({ name: "tt", run: (t) => void t.secrets }),
      input: taskInput({ secrets: undefined, signature_verified: undefined }),
      message: /secrets are not available: .*valid signature/,
    },
    {
      name: "secrets that miss a key",
      tool: defineTool({ name: "tt", secrets: z.object({ token: z.string() }), run: (t) => void t.secrets }),
      message: /- token: missing\nsecrets present: "api_key"/,
    },
    {
      name: "a secret in the error message",
      tool: defineTool({
        name: "tt",
        run: (t) => {
          throw new Error(`denied for ${t.secrets.api_key}`);
        },
      }),
      message: /^Error: denied for \*\*\*$/,
    },
    { name: "an input that is not JSON", tool: sum, input: "{not json", message: /is not valid JSON/ },
    { name: "an input that is a list", tool: sum, input: "[]", message: /must be a JSON object, got a list/ },
    {
      name: "an input group of numbers",
      tool: sum,
      input: taskInput({ input: { data: [1] } }),
      message: /input\.data\[0\] must be a path string/,
    },
    {
      name: "plain run(json) returns nothing",
      tool: (() => undefined) as PlainRun,
      message: /run\(json\) returned nothing/,
    },
    { name: "plain run(json) returns null", tool: (() => null) as PlainRun, message: /returned null/ },
    {
      name: "plain run(json) without status",
      tool: (() => ({ message: "hi" })) as PlainRun,
      message: /status: missing/,
    },
    {
      name: "plain run(json) with an unknown key",
      tool: (() => ({ status: "success", result: 1 })) as PlainRun,
      message: /unknown key "result"/,
    },
    { name: "plain run(json) with status 0", tool: (() => ({ status: 0 })) as PlainRun, message: /running forever/ },
    {
      name: "plain run(json) reports its own failure",
      tool: (() => ({ status: 500, message: "bad csv", error: "Traceback" })) as PlainRun,
      message: /^bad csv$/,
    },
  ];
  for (const f of failures) {
    test(f.name, async () => {
      const { output, exitCode } = await run(f.tool, f.input ?? taskInput());
      assert.equal(output.status, "failed");
      assert.equal(exitCode, 1);
      assert.match(String(output.message), f.message);
      assert.equal(typeof output.error, "string");
    });
  }

  test("a thrown error's stack goes to error, masked", async () => {
    const tool = defineTool({
      name: "tt",
      run: (t) => {
        throw new Error(`key ${t.secrets.api_key}`);
      },
    });
    const { output } = await run(tool);
    assert.match(String(output.error), /Error: key \*\*\*\n\s+at /);
  });

  test("a module that exports no tool", async () => {
    const { output } = await run({ modulePath: fixture("exports-nothing.mjs") });
    assert.match(
      String(output.message),
      /exports neither a defineTool\(\.\.\.\) default export nor a run\(json\) function; its exports: notATool/,
    );
  });

  test("a module that cannot be found", async () => {
    const { output } = await run({ modulePath: "/nonexistent/main.js" });
    assert.match(String(output.message), /could not load the tool/);
  });
});

describe("worker: the seed's plain run(json)", () => {
  test("gets both spellings, its plural outputs become output, status 200 becomes succeeded", async () => {
    const { output } = await run({ modulePath: fixture("plain.mjs") });
    assert.equal(output.status, "succeeded");
    assert.equal(output.message, "got 1 inputs");
    assert.deepEqual(output.output, { result: "s3://klms-bucket/out/result.csv" });
    assert.equal((output.metrics as Record<string, number>).doubled, 4);
    assert.equal(typeof (output.metrics as Record<string, number>).runtime_seconds, "number");
  });
});

describe("worker: as its own process", () => {
  async function runChild(
    name: string,
    env: NodeJS.ProcessEnv = {},
    onStdout?: Parameters<typeof runProcess>[2]["onStdout"],
  ) {
    const ws = await workspace(taskInput());
    try {
      const r = await runProcess(process.execPath, [fixture(name), ws.inputPath, ws.outputPath], { env, onStdout });
      const output = await ws.readOutput();
      assert.equal(checkTaskOutput(output).valid, true);
      assert.deepEqual(findSecrets(r.stdout + r.stderr + JSON.stringify(output)), []);
      return { ...r, output };
    } finally {
      await ws.cleanup();
    }
  }

  test("process.exit(0) in the middle of run is reported as a failure", async () => {
    const r = await runChild("process-exit.mjs");
    assert.equal(r.code, 1);
    assert.match(String(r.output.message), /ended the process \(process\.exit\(0\)\) before returning a result/);
  });

  test("an uncaught error outside run's promise", async () => {
    const r = await runChild("uncaught.mjs");
    assert.equal(r.code, 1);
    assert.match(String(r.output.message), /uncaught error in the tool: Error: thrown from a timer/);
  });

  test("SIGTERM aborts task.signal; a tool that stops is reported cancelled", async () => {
    const r = await runChild("cancellable.mjs", {}, (out, child) => {
      if (out.includes("started")) child.kill("SIGTERM");
    });
    assert.equal(r.code, 1);
    assert.match(String(r.output.message), /^cancelled \(SIGTERM\): Error: stopped early/);
  });

  test("task.signal's reason is an Error: throwIfAborted() is reported as a cancel, not a non-Error throw (attack6 F11)", async () => {
    const r = await runChild("cancellable.mjs", { IDIOM: "1" }, (out, child) => {
      if (out.includes("started")) child.kill("SIGINT");
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^reason: true AbortError Cancelled SIGINT$/m);
    assert.equal(r.output.message, "cancelled (SIGINT): the tool stopped on task.signal");
  });

  test("SIGTERM to a tool that ignores it: cancelled after the grace period", async () => {
    const r = await runChild("cancellable.mjs", { IGNORE: "1", KLMS_GRACE_PERIOD: "0.2" }, (out, child) => {
      if (out.includes("started")) child.kill("SIGTERM");
    });
    assert.equal(r.code, 1);
    assert.match(String(r.output.message), /cancelled: received SIGTERM and the tool did not stop within 0.2 s/);
  });

  test("secrets printed by the tool are masked on stdout and stderr", async () => {
    const r = await runChild("chatty.mjs");
    assert.match(r.stdout, /key=\*\*\*/);
    assert.match(r.stdout, /b64=\*\*\*/);
    assert.match(r.stderr, /"key":"\*\*\*"/);
    assert.match(r.stderr, /url=https:\/\/x\/\?k=\*\*\*/);
    assert.match(String(r.output.message), /request failed with key \*\*\*/);
  });

  for (const [how, argv] of [
    [
      "klms-tool run",
      (ws: { inputPath: string; outputPath: string }) => [
        CLI,
        "run",
        fixture("plain-leaky.mjs"),
        ws.inputPath,
        ws.outputPath,
      ],
    ],
    [
      "node main.js",
      (ws: { inputPath: string; outputPath: string }) => [fixture("plain-leaky.mjs"), ws.inputPath, ws.outputPath],
    ],
  ] as const) {
    test(`${how}: a plain run(json) gets every string of output.json masked, and its prints masked per line`, async () => {
      const ws = await workspace(taskInput());
      try {
        const r = await runProcess(process.execPath, argv(ws));
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^key=\*\*\* printed$/m);
        const output = await ws.readOutput();
        const metrics = output.metrics as Record<string, unknown>;
        assert.deepEqual(
          { message: output.message, key: metrics.key, nested: metrics.nested, output: output.output },
          {
            message: "used ***",
            key: "***",
            nested: [{ again: "***" }],
            output: { result: "s3://klms-bucket/out/***/result.csv" },
          },
        );
      } finally {
        await ws.cleanup();
      }
    });
  }

  for (const [name, prepare, message] of [
    [
      "nested 100,000 levels deep",
      (path: string) => writeFile(path, `{"input":${"[".repeat(100_000)}${"]".repeat(100_000)}}`),
      /^the task input .* is nested more than 500 levels deep$/,
    ],
    [
      "of 300 MB",
      async (path: string) => {
        await writeFile(path, "");
        await truncate(path, 300 * 1000 * 1000);
      },
      /^the task input .* is 300000000 bytes, over the limit of 67108864 bytes, so it was not read$/,
    ],
  ] as const) {
    test(`klms-tool run: an input.json ${name} is a clear failure in output.json`, async () => {
      const ws = await workspace({});
      try {
        await prepare(ws.inputPath);
        const r = await runProcess(process.execPath, [CLI, "run", fixture("plain.mjs"), ws.inputPath, ws.outputPath]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(String((await ws.readOutput()).message), message);
      } finally {
        await ws.cleanup();
      }
    });
  }

  test("a run() awaiting a promise nothing can settle is reported as such, not as process.exit(0)", async () => {
    const r = await runChild("never-settles.mjs");
    assert.equal(r.code, 1);
    assert.match(String(r.output.message), /^run\(\) never settled: /);
  });

  test("2,000 lines then process.exit(0) into a pipe: every line arrives", async () => {
    const r = await runChild("many-lines.mjs");
    assert.equal(r.stdout.match(/^line \d{4} x{100}$/gm)?.length, 2000);
    assert.match(String(r.output.message), /process\.exit\(0\)/);
  });

  test("klms-tool run drives a plain module, and validate-output accepts what it wrote", async () => {
    const ws = await workspace(taskInput());
    try {
      const r = await runProcess(process.execPath, [CLI, "run", fixture("plain.mjs"), ws.inputPath, ws.outputPath]);
      assert.equal(r.code, 0, r.stderr);
      const v = await runProcess(process.execPath, [CLI, "validate-output", ws.outputPath]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /the task would end succeeded/);
    } finally {
      await ws.cleanup();
    }
  });
});
