/**
 * The image entrypoint (`klms-tool exec`, the built CLI) whose stdout and stderr reader goes away
 * (a log pipeline that closes, `| head -1`, a `try` that died): it goes on, runs the worker and
 * posts the outcome, so that the KLMS learns how the task ended (attack5 F15). Real local KLMS.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { after, before, it } from "node:test";
import { type LocalKlms, startLocalKlms } from "../../klms-local/src/index.ts";

const CLI = resolve(import.meta.dirname, "../../klms-tool/dist/cli/main.js");
const WORKERS = resolve(import.meta.dirname, "fixtures/workers");

let klms: LocalKlms;
before(async () => {
  klms = await startLocalKlms({ quiet: true });
});
after(() => klms?.stop());

it("exec with its stdout and stderr closed by the reader still runs the worker and posts the outcome", async () => {
  const task = await klms.createTask({
    process_id: klms.processId,
    name: "closed-output",
    datasets: {},
    inputs: {},
    outputs: {},
  });
  const child = spawn(
    process.execPath,
    [CLI, "exec", "--worker", "node succeed.mjs", klms.token, `${klms.apiUrl}/`, task.id, task.signature],
    { cwd: WORKERS, env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.destroy(); // the reader is gone before the first log line
  child.stderr.destroy();
  const code = await new Promise<number | null>((done) => child.on("close", (c) => done(c)));
  assert.equal(code, 0);
  const record = await klms.getTask(task.id);
  assert.equal(record.exec_state, "succeeded", "the outcome was posted");
  assert.notEqual(record.end_date ?? null, null);
});
