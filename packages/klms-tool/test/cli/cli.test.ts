import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../cli-io.ts";
import { findSecrets, fixture, runProcess, taskInput, workspace } from "../support.ts";

// In-process: cli(argv, io) with its own streams; one test below starts the bin as users do.
const cli = (...args: string[]) => runCli(args);
const BIN = fileURLToPath(new URL("../../bin/klms-tool.js", import.meta.url));

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

  test("--version is package.json's", async () => {
    const r = await cli("--version");
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8"));
    assert.equal(r.stdout, `${pkg.version}\n`);
  });

  test("the bin, started as a process, passes the exit code and the streams through", async () => {
    const ok = await runProcess(process.execPath, [BIN, "validate-output", "--help"]);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /^usage: klms-tool validate-output/);
    const bad = await runProcess(process.execPath, [BIN, "validate-output", "/nonexistent/output.json"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cannot read \/nonexistent\/output\.json/);
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
    ["not JSON: unreadable, as the help says", "{", 2, /is not valid JSON/],
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

describe("klms-tool validate-input --tool", () => {
  const tool = fixture("declared.mjs");
  test("a fitting input: the parameters the tool would see, defaults applied", async () => {
    const ws = await workspace(taskInput({ parameters: { x: 2, label: 7 } }));
    try {
      const r = await cli("validate-input", ws.inputPath, "--tool", tool);
      assert.equal(r.code, 0, r.stderr);
      // label: the platform's literal_eval turned "7" into 7; the runtime reads it back as a string.
      assert.match(r.stdout, /valid for declared: parameters \{"x":2,"y":1,"label":"7"\}/);
      assert.deepEqual(findSecrets(r.stdout + r.stderr), []);
    } finally {
      await ws.cleanup();
    }
  });
  const table: [string, Record<string, unknown>, RegExp][] = [
    ["a parameter missing", { parameters: { y: 3 } }, /invalid parameters:\n- x: required/],
    ["too many inputs", { input: { data: ["s3://b/1", "s3://b/2", "s3://b/3"] } }, /takes at most 2 paths but holds 3/],
    ["an output without a path", { output: {} }, /output "result" is declared but the task gives no path/],
    ["secrets that break the schema", { secrets: { other: "x" } }, /secrets do not match[\s\S]*- api_key: missing/],
  ];
  for (const [name, overrides, message] of table) {
    test(`${name}: exit 1 with the reason`, async () => {
      const ws = await workspace(taskInput(overrides));
      try {
        const r = await cli("validate-input", ws.inputPath, "--tool", tool);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /✗ not usable by declared/);
        assert.match(r.stderr, message);
      } finally {
        await ws.cleanup();
      }
    });
  }
  test("a TypeScript source is refused with what to give instead", async () => {
    const ws = await workspace(taskInput());
    try {
      const r = await cli("validate-input", ws.inputPath, "--tool", "src/main.ts");
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /src\/main\.ts is TypeScript source; give the compiled JavaScript file instead \(npm run build makes dist\/\)/,
      );
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
        `import { defineTool, z } from ${JSON.stringify(new URL("../../dist/index.js", import.meta.url).href)};
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
  test("the version comes from the project's package.json; a second, different one is flagged", async () => {
    const ws = await workspace("{}");
    try {
      const index = JSON.stringify(new URL("../../dist/index.js", import.meta.url).href);
      await writeFile(join(ws.dir, "package.json"), JSON.stringify({ name: "p", version: "2.3.4" }));
      await mkdir(join(ws.dir, "dist"));
      await writeFile(
        join(ws.dir, "dist", "main.js"),
        `import { defineTool } from ${index};\nexport default defineTool({ name: "p1", run() {} });\n`,
      );
      await writeFile(
        join(ws.dir, "dist", "old.js"),
        `import { defineTool } from ${index};\nexport default defineTool({ name: "p2", version: "0.9.0", run() {} });\n`,
      );
      const one = await runCli(["manifest", "dist/main.js"], { cwd: ws.dir });
      assert.equal(one.code, 0, one.stderr);
      assert.equal(JSON.parse(one.stdout).version, "2.3.4");
      assert.equal(one.stderr, "");
      const two = await runCli(["manifest", "dist/old.js"], { cwd: ws.dir });
      assert.equal(JSON.parse(two.stdout).version, "0.9.0");
      assert.match(two.stderr, /defineTool says version 0\.9\.0 but package\.json says 2\.3\.4/);
    } finally {
      await ws.cleanup();
    }
  });
  test("a .ts path names the built file when it exists", async () => {
    const ws = await workspace("{}");
    try {
      await mkdir(join(ws.dir, "src"));
      await mkdir(join(ws.dir, "dist"));
      await writeFile(join(ws.dir, "dist", "main.js"), "export {};\n");
      const r = await runCli(["manifest", "src/main.ts"], { cwd: ws.dir });
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        "src/main.ts is TypeScript source; give the compiled JavaScript file instead: dist/main.js\n",
      );
    } finally {
      await ws.cleanup();
    }
  });
  test("a dist/ path that is not built says to build", async () => {
    const ws = await workspace("{}");
    try {
      const r = await runCli(["manifest", "dist/main.js"], { cwd: ws.dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^cannot load dist\/main\.js: .*\(not built yet\? run npm run build\)\n$/);
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

describe("help texts and the README agree", () => {
  const readme = readFileSync(fileURLToPath(new URL("../../../../README.md", import.meta.url)), "utf8");
  const rows = [...readme.matchAll(/^\| `klms-tool ([a-z-]+)([^`]*)` \|/gm)];
  test("the README's command table lists every command", () => {
    assert.deepEqual(rows.map((r) => r[1]).sort(), [
      "dev",
      "exec",
      "job",
      "login",
      "logout",
      "manifest",
      "publish",
      "run",
      "task",
      "try",
      "validate-input",
      "validate-output",
      "whoami",
    ]);
  });
  for (const [, name, synopsis] of rows) {
    test(`klms-tool ${name}: the README's arguments and options are the help's`, async () => {
      const r = await cli(name as string, "--help");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: klms-tool ${name}`, "i"));
      for (const word of (synopsis as string).match(/<[^>]+>|--[a-z-]+/g) ?? []) {
        assert.ok(r.stdout.includes(word), `"${word}" of the README is not in \`klms-tool ${name} --help\``);
      }
    });
  }
});

describe("klms-tool job, in-process", () => {
  test("reads KLMS_TOKEN from the environment it is given and writes to its own stdout", async () => {
    const args = ["job", "--task-id", "t-1", "--signature", "sig", "--image", "img:1", "--output", "json"];
    const r = await runCli(args, { env: { KLMS_TOKEN: "tok.en.x" } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).spec.template.spec.containers[0].args, [
      "Bearer tok.en.x",
      "http://stelarapi/",
      "t-1",
      "sig",
    ]);
    const none = await runCli(args, { env: {} });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /missing: --token \(or KLMS_TOKEN\)/);
  });
});
