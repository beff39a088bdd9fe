import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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
/** The tools the Job tests name: the platform refuses a task for a tool not in its catalog (404). */
const TOOLS = [
  ...["my-tool", "failing", "flaky", "hanging", "unmapped"].map((name) => ({ name, images: ["latest"] })),
  // A tool whose job profile allows no retry (job.py's backoff_limit, 0-10).
  { name: "no-retry", images: ["latest"], profiles: { default: { image: "latest", backoff_limit: 0 } } },
];

/** Polls until `check` returns a value (a guard against hanging, not a timing assertion). */
async function waitFor<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 3000; i++) {
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

    // A hand run is one pod of the task, with the run's output as its log (kept on disk too).
    const pods = klms.pods(id);
    assert.equal(pods.length, 1);
    assert.match(pods[0]?.name ?? "", new RegExp(`^task-${id}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    assert.equal(pods[0]?.phase, "Succeeded");
    assert.equal(pods[0]?.logs, result.logs);
    assert.equal(readFileSync(join(klms.dataDir, "logs", id, `${pods[0]?.name}.log`), "utf8"), result.logs);
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

  test("a tool that exits without an output leaves the task running; its pod failed", async () => {
    const { id } = await klms.createTask(specFor(klms));
    const result = await klms.runTask(id, { command: COMMAND, env: { TOOL_MODE: "no-output" } });
    assert.equal(result.exitCode, 3);
    assert.equal((await klms.getTask(id)).exec_state, "running");
    assert.deepEqual(
      klms.pods(id).map((p) => p.phase),
      ["Failed"],
    );
  });

  test("terminate gives the pod its 30 s grace: a tool that needs 8 s to clean up reports, it is not killed", async () => {
    // An image makes it a Job's task; its pod is started by hand here (no runner in this suite).
    const { id } = await klms.createTask({ ...specFor(klms), image: "me/tool:1" });
    const run = klms.startTask(id, { command: COMMAND, env: { TOOL_MODE: "slow-cleanup" } });
    await waitFor(async () => (klms.pods(id)[0]?.logs.includes("waiting for SIGTERM") ? true : undefined));
    assertSuccess(await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token }));
    const result = await run.done;
    assert.equal(result.signal, null, result.logs);
    assert.equal(result.exitCode, 0);
    assert.match(result.stdout, /^SIGTERM: cleaning up for 8 s$/m);
    // Its report reached the server, which had already failed the task (as the platform's terminate does).
    assert.match(result.stdout, /^cleanup done; output: 409$/m);
    assert.equal((await klms.getTask(id)).exec_state, "failed");
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

describe("the runner option: a task for a tool or an image runs by itself, as the cluster's Job", () => {
  let klms: LocalKlms;
  let scratch: string;
  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), "klms-runner-test-"));
    klms = await startLocalKlms({
      objectStore: false,
      quiet: true,
      runner: { command: COMMAND, env: { KLMS_X: "1" } },
      toolRunners: {
        failing: { command: COMMAND, env: { TOOL_MODE: "no-output" } },
        "no-retry": { command: COMMAND, env: { TOOL_MODE: "no-output" } },
        flaky: { command: COMMAND, env: { TOOL_MODE: "fail-once", TOOL_MARKER: join(scratch, "marker") } },
        hanging: { command: COMMAND, env: { TOOL_MODE: "hang" } },
        unmapped: { none: "no image for it here" },
      },
      backoffLimit: 2,
      retryDelayMs: 0,
      seed: { tools: TOOLS },
      users: [{ username: "alice", password: "alice-pw" }],
    });
  });
  after(async () => {
    await klms.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  const createOverHttp = async (body: Record<string, unknown>) => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
      token: klms.token,
      body: { ...specFor(klms), ...body },
    });
    return assertSuccess(reply) as { id: string; job_id: string };
  };
  const jobEnd = (id: string) => waitFor(async () => klms.job(id)?.condition);

  test("POST /api/v2/task with an image starts it with no other call, and it succeeds in one pod", async () => {
    const { id, job_id } = await createOverHttp({ image: "me/tool:1" });
    assert.notEqual(job_id, "__external__");
    assert.equal(await jobEnd(id), "Complete");
    const task = await klms.getTask(id);
    assert.equal(task.exec_state, "succeeded");
    assert.equal(task.messages, "echo done");
    assert.deepEqual(klms.job(id), { active: 0, succeeded: 1, failed: 0, condition: "Complete" });
    const [pod, ...others] = klms.pods(id);
    assert.equal(others.length, 0);
    assert.equal(pod?.phase, "Succeeded");
    const logs = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/logs`, { token: klms.token });
    assert.deepEqual(assertSuccess(logs), { [pod?.name as string]: pod?.logs });
    assert.match(pod?.logs ?? "", /^env=KLMS_X$/m, "the runner's environment, nothing else");
    assert.match(pod?.logs ?? "", new RegExp(`^args=4 bearer=true api=${klms.apiUrl}/$`, "m"));
    assert.match(pod?.logs ?? "", /^output: 200$/m);
  });

  test("the Job passes the token of the task's creator, as the platform does", async () => {
    const login = await call(klms.apiUrl, "POST", "/api/v1/users/token", {
      body: { username: "alice", password: "alice-pw" },
    });
    const alice = `Bearer ${(assertSuccess(login) as { token: string }).token}`;
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
      token: alice,
      body: { ...specFor(klms), image: "me/tool:1" },
    });
    const { id } = assertSuccess(reply) as { id: string };
    assert.equal(await jobEnd(id), "Complete");
    assert.match(klms.pods(id)[0]?.logs ?? "", /^user=alice$/m);
  });

  test("createTask() with a tool starts it too; an external task has no Job", async () => {
    const run = await klms.createTask({ ...specFor(klms), tool: "my-tool" });
    const external = await klms.createTask(specFor(klms));
    assert.equal(await jobEnd(run.id), "Complete");
    assert.equal((await klms.getTask(run.id)).exec_state, "succeeded");
    assert.equal((await klms.getTask(external.id)).exec_state, "created");
    assert.equal(klms.job(external.id), undefined);
    assert.deepEqual(klms.pods(external.id), []);
  });

  test("a non-zero exit is retried in a new pod, backoffLimit times, then the Job fails", async () => {
    const { id } = await createOverHttp({ tool: "failing" });
    assert.equal(await jobEnd(id), "Failed");
    const pods = klms.pods(id);
    assert.equal(pods.length, 3, "the first pod and backoffLimit (2) retries");
    assert.equal(new Set(pods.map((p) => p.name)).size, 3, "a new pod each time");
    assert.deepEqual(klms.job(id), { active: 0, succeeded: 0, failed: 3, condition: "Failed" });
    const pids = pods.map((p) => {
      assert.equal(p.phase, "Failed");
      assert.match(p.logs, /^input: 200 /m, "each pod's log holds its own run");
      return /^pid (\d+)$/m.exec(p.logs)?.[1];
    });
    assert.equal(new Set(pids).size, 3, "three runs, one per pod");
    const jobs = assertSuccess(await call(klms.apiUrl, "GET", `/api/v2/task/${id}/jobs`, { token: klms.token }));
    assert.deepEqual(
      jobs,
      Object.fromEntries(pods.map((p) => [p.name, { logs: p.logs, status: "Failed" }])),
      "GET …/jobs: every pod with its phase and log",
    );
    // The tool never posted: the task stays where its first input read put it, as on the cluster.
    assert.equal((await klms.getTask(id)).exec_state, "running");
  });

  test("the tool's job profile sets the Job's backoffLimit: 0 means one pod and no retry", async () => {
    const { id } = await createOverHttp({ tool: "no-retry" });
    assert.equal(await jobEnd(id), "Failed");
    assert.deepEqual(klms.job(id), { active: 0, succeeded: 0, failed: 1, condition: "Failed" });
  });

  test("a pod that fails once is followed by one that succeeds; then the Job is complete", async () => {
    const { id } = await createOverHttp({ tool: "flaky" });
    assert.equal(await jobEnd(id), "Complete");
    const pods = klms.pods(id);
    assert.deepEqual(
      pods.map((p) => p.phase),
      ["Failed", "Succeeded"],
    );
    assert.match(pods[0]?.logs ?? "", /failing this first time/);
    assert.doesNotMatch(pods[1]?.logs ?? "", /failing this first time/);
    assert.equal((await klms.getTask(id)).exec_state, "succeeded");
  });

  test("terminate stops the Job's pod (SIGTERM) and the pod leaves the list; its log stays on disk", async () => {
    const { id } = await createOverHttp({ tool: "hanging" });
    const pod = await waitFor(async () =>
      klms.pods(id).find((p) => p.phase === "Running" && p.logs.includes("input: 200")),
    );
    assertSuccess(await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token }));
    await waitFor(async () => (klms.pods(id).length === 0 ? true : undefined));
    assert.equal(klms.job(id)?.condition, undefined, "a deleted Job neither completes nor fails");
    // As on the cluster, the deleted Job's pods are gone from the routes too.
    assert.deepEqual(
      assertSuccess(await call(klms.apiUrl, "GET", `/api/v2/task/${id}/logs`, { token: klms.token })),
      {},
    );
    const jobs = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/jobs`, { token: klms.token });
    assert.deepEqual(assertSuccess(jobs), { message: "No logs available for the specified task execution" });
    assert.equal((await klms.getTask(id)).exec_state, "failed");
    assert.match(readFileSync(join(klms.dataDir, "logs", id, `${pod.name}.log`), "utf8"), /^input: 200 /m);
  });

  test("a tool no runner can run has one Pending pod, and the task stays created", async () => {
    const { id } = await createOverHttp({ tool: "unmapped" });
    const name = klms.pods(id)[0]?.name as string;
    assert.deepEqual(klms.pods(id), [{ name, phase: "Pending", logs: "" }]);
    assert.equal((await klms.getTask(id)).exec_state, "created");
    // The platform's routes read a Pending pod's log as unavailable (kubernetes.py:225-236).
    const unavailable = "Pod is in Pending status, logs unavailable";
    const logs = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/logs`, { token: klms.token });
    assert.deepEqual(assertSuccess(logs), { [name]: unavailable });
    const jobs = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/jobs`, { token: klms.token });
    assert.deepEqual(assertSuccess(jobs), { [name]: { logs: unavailable, status: "Pending" } });
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

describe("pods survive a restart", () => {
  test("a restarted local KLMS lists the pods and logs it had; a pod that was running is Unknown", async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), "klms-runner-restart-"));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startLocalKlms({ dataDir, objectStore: false, quiet: true, runner: { command: COMMAND } });
    const { id } = await first.createTask({ ...specFor(first), image: "my-tool:latest" });
    await waitFor(async () => first.job(id)?.condition);
    const before = first.pods(id);
    await first.stop();

    // As if the server had died while the pod ran: its record still says Running.
    const file = join(dataDir, "logs", id, "pods.json");
    const saved = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(
      file,
      JSON.stringify({ ...saved, pods: [...saved.pods, { name: `task-${id}-zzzzz`, phase: "Running" }] }),
    );

    const second = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
    t.after(() => second.stop());
    assert.deepEqual(second.pods(id), [...before, { name: `task-${id}-zzzzz`, phase: "Unknown", logs: "" }]);
    assert.deepEqual(second.job(id), { active: 0, succeeded: 1, failed: 0, condition: "Complete" });
  });
});
