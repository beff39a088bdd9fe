/**
 * buildTask: the task object a tool's `run` receives, checked against the tool's declaration
 * (parameters, input group counts, output targets, secrets), with the runtime's real pieces: the
 * input read by readTaskInput, the files of worker/files.ts (no store is contacted: nothing is
 * read or written here), a real logger writing into an array.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readTaskInput } from "../../src/contract/input.ts";
import { defineTool, ParameterError, z } from "../../src/index.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Masker } from "../../src/log/mask.ts";
import { buildTask, SecretsUnavailableError, TaskValidationError } from "../../src/tool/task.ts";
import { taskFiles } from "../../src/worker/files.ts";

const MINIO = { endpoint_url: "http://127.0.0.1:9", id: "AKIAEXAMPLE", key: "secret-key-value" };

const tool = defineTool({
  name: "sorter",
  inputs: { series: { min: 1, max: 2 }, extra: { min: 0 } },
  outputs: { report: {}, log: { optional: true } },
  parameters: z.object({ k: z.number().default(3), mode: z.enum(["asc", "desc"]) }),
  secrets: z.object({ token: z.string() }),
  run: async () => {},
});

/** Builds the task of `raw` (a task input as the platform sends it) for `of`; returns it with the log lines. */
function build(raw: Record<string, unknown>, of = tool) {
  const lines: string[] = [];
  const log = createLogger({ source: "tool", masker: new Masker(), format: "json", write: (l) => lines.push(l) });
  const input = readTaskInput({ minio: MINIO, ...raw }).task;
  const files = taskFiles(input, { workdir: "/tmp/work", signal: new AbortController().signal, log, produced: {} });
  const built = buildTask(of, input, { log, signal: new AbortController().signal, workdir: "/tmp/work", ...files });
  const messages = () => lines.map((l) => JSON.parse(l).msg as string);
  return { ...built, messages };
}

const GOOD = {
  input: { series: ["s3://bucket/data/a.csv"] },
  output: { report: "s3://bucket/out/report.csv" },
  parameters: { mode: "desc" },
};

describe("buildTask", () => {
  it("gives the parameters parsed by the tool's schema, defaults applied", () => {
    const { task, warnings } = build(GOOD);
    assert.deepEqual(task.parameters, { k: 3, mode: "desc" });
    assert.deepEqual(warnings, []);
  });

  it("refuses parameters that do not fit the schema with a ParameterError naming the field", () => {
    assert.throws(
      () => build({ ...GOOD, parameters: { mode: "sideways" } }),
      (e: Error) => {
        assert.ok(e instanceof ParameterError);
        assert.match(e.message, /mode/);
        return true;
      },
    );
  });

  it("gives each input group as a list of files with path, name, bucket and key; an absent group with min 0 is empty", () => {
    const { task } = build(GOOD);
    const [file] = task.inputs.series ?? [];
    assert.deepEqual(
      { path: file?.path, name: file?.name, bucket: file?.bucket, key: file?.key },
      { path: "s3://bucket/data/a.csv", name: "a.csv", bucket: "bucket", key: "data/a.csv" },
    );
    assert.deepEqual(task.inputs.extra, []);
  });

  it("refuses a group with too few or too many paths, naming the group and what the task holds", () => {
    assert.throws(
      () => build({ ...GOOD, input: { other: ["s3://b/x"] } }),
      new TaskValidationError(
        'input group "series" needs at least 1 path but is missing; the task\'s input groups: "other" (1)',
      ),
    );
    assert.throws(
      () => build({ ...GOOD, input: { series: ["s3://b/1", "s3://b/2", "s3://b/3"] } }),
      new TaskValidationError('input group "series" takes at most 2 paths but holds 3'),
    );
  });

  it("passes undeclared input groups and outputs on, with a warning for each", () => {
    const { task, warnings } = build({
      ...GOOD,
      input: { ...GOOD.input, more: ["s3://bucket/m.txt"] },
      output: { ...GOOD.output, bonus: "s3://bucket/out/bonus.txt" },
    });
    assert.deepEqual(
      task.inputs.more?.map((f) => f.path),
      ["s3://bucket/m.txt"],
    );
    assert.equal(task.outputs.bonus?.path, "s3://bucket/out/bonus.txt");
    assert.deepEqual(warnings, [
      'input group "more" is not declared by the tool; it is passed on as is',
      'output "bonus" is not declared by the tool; it is passed on as is',
    ]);
  });

  it("gives each output a target with its path; an optional output the task does not ask for has path ''", () => {
    const { task } = build(GOOD);
    assert.equal(task.outputs.report?.name, "report");
    assert.equal(task.outputs.report?.path, "s3://bucket/out/report.csv");
    assert.equal(task.outputs.log?.path, "");
  });

  it("refuses a declared output the task gives no path for, and says how to fix it", () => {
    assert.throws(
      () => build({ ...GOOD, output: { other: "s3://b/o" } }),
      new TaskValidationError(
        'output "report" is declared but the task gives no path for it; the task\'s outputs: "other". ' +
          'Add it to the task\'s "outputs".',
      ),
    );
  });

  it("records metrics by name and refuses an empty name", () => {
    const { task, metrics } = build(GOOD);
    task.metric("rows", 42);
    task.metric("rows", 43);
    task.metric("quality", { score: 0.9 });
    assert.deepEqual(Object.fromEntries(metrics), { rows: 43, quality: { score: 0.9 } });
    assert.throws(() => task.metric("", 1), new TypeError("task.metric: the name must be a non-empty string"));
  });

  it("logs progress with counts and percentage, and always the final step", () => {
    const { task, messages } = build(GOOD);
    task.progress(3, 10, "reading files");
    task.progress(4, 10, "reading files");
    task.progress(10, 10, "done");
    assert.deepEqual(messages(), ["progress 3/10 (30%) reading files", "progress 10/10 (100%) done"]);
  });

  it("gives the secrets checked by the tool's schema when the signature was verified", () => {
    const { task } = build({ ...GOOD, secrets: { token: "tok-123456" }, signature_verified: true });
    assert.deepEqual(task.secrets, { token: "tok-123456" });
  });

  it("throws on reading secrets the platform did not send (no signature), saying to pass the signature", () => {
    const { task } = build(GOOD);
    assert.throws(() => task.secrets, SecretsUnavailableError);
    assert.throws(() => task.secrets, /the 4th argument of the entrypoint/);
  });

  it("names the secret keys that do not fit, never their values", () => {
    const { task } = build({
      ...GOOD,
      secrets: { token: 12345678, other: "hidden-value-1" },
      signature_verified: true,
    });
    assert.throws(
      () => task.secrets,
      (e: Error) => {
        assert.ok(e instanceof SecretsUnavailableError);
        assert.match(e.message, /^the task's secrets do not match the tool's schema:\n- token: invalid type\n/);
        assert.match(e.message, /secrets present: "token", "other"$/);
        assert.ok(!e.message.includes("12345678") && !e.message.includes("hidden-value-1"));
        return true;
      },
    );
  });

  it("without a parameters schema, gives the parameters as sent", () => {
    const plain = defineTool({ name: "plain", run: async () => {} });
    const { task } = build({ parameters: { a: 1, b: "two" } }, plain);
    assert.deepEqual(task.parameters, { a: 1, b: "two" });
    assert.equal(task.workdir, "/tmp/work");
  });
});
