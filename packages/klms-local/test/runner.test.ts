import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type LocalKlms, startLocalKlms } from "../src/index.js";
import { assertSuccess, call } from "./helpers.js";

const TOOL = fileURLToPath(new URL("./fixtures/tool.mjs", import.meta.url));
const COMMAND = [process.execPath, TOOL];
const REPORT = "s3://klms-bucket/out/report.csv";
/** A task spec the platform accepts, in the local KLMS's dev process. */
const specFor = (klms: LocalKlms) => ({
  process_id: klms.processId,
  name: "runner",
  datasets: {},
  inputs: {},
  outputs: { report: { url: REPORT } },
  parameters: { n: "3", s: "text" },
});

/** Polls until `check` returns a value (a guard against hanging, not a timing assertion). */
async function waitFor<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("gave up waiting");
}

describe("runTask / startTask", () => {
  let klms: LocalKlms;
  before(async () => {
    klms = await startLocalKlms({ objectStore: false, quiet: true });
  });
  after(async () => {
    await klms.stop();
  });

  test("runs the tool with the Job's four arguments; its output becomes the task's logs", async () => {
    const { id } = await klms.createTask(specFor(klms));
    const result = await klms.runTask(id, { command: COMMAND });
    assert.equal(result.exitCode, 0, result.logs);
    assert.equal(result.signal, null);
    assert.match(result.stdout, /^input: 200 keys=input,minio,output,parameters,signature_verified$/m);
    assert.match(result.stdout, /^output: 200$/m);
    assert.match(result.stderr, new RegExp(`^args=4 bearer=true api=${klms.apiUrl}/$`, "m"));
    assert.ok(result.logs.includes(result.stdout.split("\n")[0] as string));
    assert.equal(result.logs.length, result.stdout.length + result.stderr.length);

    const task = await klms.getTask(id);
    assert.equal(task.exec_state, "succeeded");
    assert.equal(task.messages, "echo done");
    assert.deepEqual(task.outputs, {}, "a plain path is not registered in the catalog");
    assert.deepEqual((await klms.getOutcome(id)).output, { report: REPORT });
    assert.deepEqual(task.metrics, { parameters: { n: 3, s: "text" } });

    // One pod per task until the engine keeps one log per run: {<pod name>: <log>}.
    const logs = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/logs`, { token: klms.token });
    assert.deepEqual(Object.values(assertSuccess(logs) as object), [result.logs]);
    assert.equal(readFileSync(join(klms.dataDir, "logs", `${id}.log`), "utf8"), result.logs);
  });

  test("the seed-era three-argument form uses the v1 routes", async () => {
    const { id } = await klms.createTask(specFor(klms));
    const result = await klms.runTask(id, { command: COMMAND, args: 3 });
    assert.equal(result.exitCode, 0, result.logs);
    assert.match(result.stdout, /^input: 200 keys=input,minio,output,parameters$/m);
    assert.match(result.stderr, new RegExp(`^args=3 bearer=true api=${klms.apiUrl}$`, "m"));
    assert.equal((await klms.getTask(id)).exec_state, "succeeded");
  });

  test("the tool gets a minimal environment plus what is configured", async (t) => {
    process.env.KLMS_LEAK = "from-the-test-process";
    t.after(() => delete process.env.KLMS_LEAK);
    const { id } = await klms.createTask(specFor(klms));
    const result = await klms.runTask(id, { command: COMMAND, env: { KLMS_GIVEN: "1" } });
    assert.match(result.stderr, /^env=KLMS_GIVEN$/m);
  });

  test("a tool that exits without an output leaves the task running", async () => {
    const { id } = await klms.createTask(specFor(klms));
    const result = await klms.runTask(id, { command: COMMAND, env: { TOOL_MODE: "no-output" } });
    assert.equal(result.exitCode, 3);
    assert.equal((await klms.getTask(id)).exec_state, "running");
  });

  test("terminate stops the run of a task with a Job and fails the task", async () => {
    // An image makes it a Job's task (an external one is left alone by terminate, as on the platform).
    const { id } = await klms.createTask({ ...specFor(klms), image: "me/tool:1" });
    const { child, done } = klms.startTask(id, { command: COMMAND, env: { TOOL_MODE: "hang" } });
    assert.ok(child.pid);
    await waitFor(async () => ((await klms.getTask(id)).exec_state === "running" ? true : undefined));
    assertSuccess(await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token }));
    const result = await done;
    assert.equal(result.signal, "SIGTERM");
    assert.equal((await klms.getTask(id)).exec_state, "failed");
  });

  test("timeoutMs sends SIGTERM", async () => {
    const { id } = await klms.createTask(specFor(klms));
    const result = await klms.runTask(id, { command: COMMAND, env: { TOOL_MODE: "hang" }, timeoutMs: 200 });
    assert.equal(result.signal, "SIGTERM");
    assert.equal(result.exitCode, null);
  });

  test("a command that cannot start ends with exitCode null and the reason", async () => {
    const { id } = await klms.createTask(specFor(klms));
    const result = await klms.runTask(id, { command: ["/nonexistent/klms-tool-binary"] });
    assert.equal(result.exitCode, null);
    assert.match(result.stderr, /could not start/);
  });

  test("without a command, startTask throws", async () => {
    const { id } = await klms.createTask(specFor(klms));
    assert.throws(() => klms.startTask(id), /no command to run/);
    assert.throws(() => klms.startTask("unknown", { command: COMMAND }), /not found/);
  });
});

describe("the runner option: tasks with a tool or an image run on creation", () => {
  let klms: LocalKlms;
  before(async () => {
    klms = await startLocalKlms({
      objectStore: false,
      quiet: true,
      runner: { command: COMMAND, env: { KLMS_X: "1" } },
    });
  });
  after(async () => {
    await klms.stop();
  });

  test("POST /api/v2/task with an image starts the tool, like the cluster's Job", async () => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
      token: klms.token,
      body: { ...specFor(klms), image: "me/tool:1" },
    });
    const { id, job_id } = assertSuccess(reply) as { id: string; job_id: string };
    assert.notEqual(job_id, "__external__");
    const task = await waitFor(async () => {
      const t = await klms.getTask(id);
      return t.exec_state === "succeeded" ? t : undefined;
    });
    assert.equal(task.messages, "echo done");
    const logs = await waitFor(async () => {
      const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/logs`, { token: klms.token });
      const text = Object.values(assertSuccess(reply) as Record<string, string>).join("");
      // The task succeeds before the tool prints the reply to its POST: wait for that line.
      return text.includes("output: 200") ? text : undefined;
    });
    assert.match(logs, /^env=KLMS_X$/m);
  });

  test("createTask() with a tool starts it too; an external task is not run", async () => {
    const run = await klms.createTask({ ...specFor(klms), image: "my-tool:latest" });
    const external = await klms.createTask(specFor(klms));
    await waitFor(async () => ((await klms.getTask(run.id)).exec_state === "succeeded" ? true : undefined));
    assert.equal((await klms.getTask(external.id)).exec_state, "created");
  });

  test("stop() ends the runs still going", async () => {
    const other = await startLocalKlms({ objectStore: false, quiet: true });
    const { id } = await other.createTask(specFor(other));
    const { done } = other.startTask(id, { command: COMMAND, env: { TOOL_MODE: "hang" } });
    await waitFor(async () => ((await other.getTask(id)).exec_state === "running" ? true : undefined));
    await other.stop();
    assert.equal((await done).signal, "SIGKILL");
  });
});
