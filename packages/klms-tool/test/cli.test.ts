import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CLI, findSecrets, fixture, runProcess, taskInput, workspace } from "./support.ts";

const cli = (...args: string[]) => runProcess(process.execPath, [CLI, ...args]);

describe("klms-tool CLI", () => {
  test("--help lists every command; no command is a usage error", async () => {
    const help = await cli("--help");
    assert.equal(help.code, 0);
    for (const c of ["exec", "run", "dev", "validate-input", "validate-output", "manifest", "job"])
      assert.match(help.stdout, new RegExp(`\\n  ${c} `));
    const none = await cli();
    assert.equal(none.code, 2);
    const unknown = await cli("frobnicate");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
  });

  for (const command of ["run", "validate-input", "validate-output", "manifest"]) {
    test(`${command} --help`, async () => {
      const r = await cli(command, "--help");
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^usage: klms-tool ${command}`));
    });
  }

  test("a wrong argument count prints the usage and exits 2", async () => {
    const r = await cli("validate-output");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected 1 argument\(s\), got 0/);
  });

  test("--version", async () => {
    const r = await cli("--version");
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

describe("klms-tool validate-output", () => {
  const table: [string, string, number, RegExp][] = [
    ["valid", JSON.stringify({ status: "succeeded", output: { a: "s3://b/k" } }), 0, /the task would end succeeded/],
    ["valid but failed", JSON.stringify({ status: "200" }), 0, /the task would end failed/],
    [
      "every rule listed",
      JSON.stringify({ foo: 1, output: { a: [1] }, message: 1 }),
      1,
      /foo: unknown key[\s\S]*status: missing[\s\S]*message: must be a string[\s\S]*output\.a: must be a path string/,
    ],
    ["not JSON", "{", 1, /is not valid JSON/],
  ];
  for (const [name, body, code, text] of table) {
    test(name, async () => {
      const ws = await workspace(body);
      try {
        const r = await cli("validate-output", ws.inputPath);
        assert.equal(r.code, code);
        assert.match(r.stdout + r.stderr, text);
      } finally {
        await ws.cleanup();
      }
    });
  }
  test("an unreadable file exits 2", async () => {
    const r = await cli("validate-output", "/nonexistent/output.json");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read/);
  });
});

describe("klms-tool validate-input", () => {
  test("shows what a tool receives and never a secret value", async () => {
    const ws = await workspace(taskInput());
    try {
      const r = await cli("validate-input", ws.inputPath);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /input groups: data \(1\)/);
      assert.match(r.stdout, /secrets: api_key \(signature verified\)/);
      assert.match(r.stdout, /with a session token/);
      assert.deepEqual(findSecrets(r.stdout + r.stderr), []);
    } finally {
      await ws.cleanup();
    }
  });
  test("the plural spelling is accepted with a warning", async () => {
    const ws = await workspace({ inputs: { a: ["s3://b/k"] } });
    try {
      const r = await cli("validate-input", ws.inputPath);
      assert.equal(r.code, 0);
      assert.match(r.stderr, /read "inputs" \(plural\)/);
    } finally {
      await ws.cleanup();
    }
  });
  test("an unusable input exits 1 with the reason", async () => {
    const ws = await workspace({ input: { g: [42] } });
    try {
      const r = await cli("validate-input", ws.inputPath);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /input\.g\[0\] must be a path string, got an integer/);
    } finally {
      await ws.cleanup();
    }
  });
});

describe("klms-tool manifest", () => {
  test("prints parameters, inputs and outputs as JSON Schema", async () => {
    const ws = await workspace("{}");
    try {
      const main = join(ws.dir, "main.mjs");
      await writeFile(
        main,
        `import { defineTool, z } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
export default defineTool({ name: "corr", version: "1.2.0", description: "d",
  parameters: z.object({ method: z.enum(["pearson", "spearman"]).default("pearson").describe("the method") }),
  inputs: { series: { min: 1, description: "CSV files" }, extra: { min: 0, max: 3 } },
  outputs: { matrix: { description: "CSV" }, log: { optional: true } },
  secrets: z.object({ token: z.string() }),
  run() {} });`,
      );
      const r = await cli("manifest", main);
      assert.equal(r.code, 0, r.stderr);
      const m = JSON.parse(r.stdout);
      assert.equal(m.name, "corr");
      assert.equal(m.version, "1.2.0");
      assert.equal(m.programming_language, "TypeScript");
      assert.deepEqual(m.parameters.properties.method, {
        default: "pearson",
        description: "the method",
        type: "string",
        enum: ["pearson", "spearman"],
      });
      assert.deepEqual(m.parameters.required ?? [], []);
      assert.deepEqual(m.inputs.required, ["series"]);
      assert.deepEqual(m.inputs.properties.extra, {
        type: "array",
        items: { type: "string", description: "a path, e.g. s3://bucket/key" },
        minItems: 0,
        maxItems: 3,
      });
      assert.deepEqual(m.outputs.required, ["matrix"]);
      assert.deepEqual(m.secrets.required, ["token"]);
    } finally {
      await ws.cleanup();
    }
  });
  test("a plain run(json) module has no manifest", async () => {
    const r = await cli("manifest", fixture("plain.mjs"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no defineTool\(\.\.\.\) export \(its exports: run\)/);
  });
});
