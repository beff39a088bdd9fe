import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startLocalKlms } from "../src/index.js";
import { assertError, assertSuccess, call } from "./helpers.js";

test("tasks, their state, signatures and tokens survive a restart on the same data dir", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "klms-local-test-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));

  const first = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
  let running: { id: string; signature: string };
  let done: { id: string; signature: string };
  const token = first.token;
  try {
    const base = { process_id: first.processId, datasets: {}, inputs: {}, outputs: {} };
    running = await first.createTask({
      ...base,
      name: "running",
      parameters: { n: "5" },
      secrets: { k: "secret-value" },
    });
    done = await first.createTask({ ...base, name: "done" });
    assertSuccess(await call(first.apiUrl, "GET", `/api/v2/task/${running.id}/${running.signature}/input`, { token }));
    const body = { status: "succeeded", message: "ok", metrics: { m: 1 } };
    assertSuccess(await call(first.apiUrl, "POST", `/api/v2/task/${done.id}/${done.signature}/output`, { body }));
  } finally {
    await first.stop();
  }
  assert.ok(existsSync(dataDir), "a given data dir is kept");
  const files = readdirSync(join(dataDir, "tasks")).sort();
  assert.deepEqual(files, [`${done.id}.json`, `${running.id}.json`].sort(), "one file per task, no temp files left");
  assert.equal(statSync(join(dataDir, "tasks", files[0] as string)).mode & 0o077, 0, "task files are private");

  const second = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
  try {
    assert.equal((await second.getTask(running.id)).exec_state, "running");
    const finished = await second.getTask(done.id);
    assert.equal(finished.exec_state, "succeeded");
    assert.equal(finished.messages, "ok");
    assert.deepEqual(finished.metrics, { m: 1 });
    // The old token and the old signature are still good: the secret is kept in the data dir.
    const input = await call(second.apiUrl, "GET", `/api/v2/task/${running.id}/${running.signature}/input`, { token });
    const result = assertSuccess(input) as Record<string, unknown>;
    assert.deepEqual(result.secrets, { k: "secret-value" });
    assert.deepEqual(result.parameters, { n: 5 });
    const post = await call(second.apiUrl, "POST", `/api/v2/task/${running.id}/${running.signature}/output`, {
      body: { status: "failed", error: "later" },
    });
    assertSuccess(post);
    assertError(
      await call(second.apiUrl, "POST", `/api/v2/task/${done.id}/${done.signature}/output`, { body: { status: 200 } }),
      409,
      "ConflictError",
    );
  } finally {
    await second.stop();
  }

  const third = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
  try {
    assert.equal((await third.getTask(running.id)).exec_state, "failed");
  } finally {
    await third.stop();
  }
});

test("a temporary data dir is removed on stop", async () => {
  const klms = await startLocalKlms({ quiet: true });
  assert.ok(existsSync(join(klms.dataDir, "objects")), "the embedded object store keeps its data in the data dir");
  await klms.stop();
  await klms.stop(); // a second stop is harmless
  assert.equal(existsSync(klms.dataDir), false);
});

test("a given secret wins over the stored one", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "klms-local-test-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
  let created: { id: string; signature: string };
  try {
    created = await first.createTask({ process_id: first.processId, name: "s", datasets: {}, inputs: {}, outputs: {} });
  } finally {
    await first.stop();
  }
  const { id, signature } = created;
  const second = await startLocalKlms({ dataDir, objectStore: false, quiet: true, secret: "another" });
  try {
    const reply = await call(second.apiUrl, "POST", `/api/v2/task/${id}/${signature}/output`, {
      body: { status: 200 },
    });
    assertError(reply, 403, "AuthorizationError");
    assert.equal(second.s3Url, undefined);
  } finally {
    await second.stop();
  }
});

test("the catalog and the dev process survive a restart with the same ids", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "klms-local-test-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
  let datasetId: string;
  let processId: string;
  try {
    const body = { name: "kept", owner_org: "stelar-klms", title: "Kept" };
    const created = await call(first.apiUrl, "POST", "/api/v2/dataset", { token: first.token, body });
    datasetId = (assertSuccess(created) as { id: string }).id;
    processId = first.processId;
  } finally {
    await first.stop();
  }
  const second = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
  try {
    assert.equal(second.processId, processId);
    const shown = await call(second.apiUrl, "GET", "/api/v2/dataset/kept", { token: second.token });
    assert.equal((assertSuccess(shown) as { id: string }).id, datasetId);
  } finally {
    await second.stop();
  }
});

test("an unreadable task or catalog record is set aside with a warning naming it; the server still starts", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "klms-local-test-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
  let good: { id: string };
  try {
    good = await first.createTask({ process_id: first.processId, name: "g", datasets: {}, inputs: {}, outputs: {} });
  } finally {
    await first.stop();
  }
  const brokenTask = join(dataDir, "tasks", "11111111-1111-4111-8111-111111111111.json");
  const brokenEntity = join(dataDir, "catalog", "22222222-2222-4222-8222-222222222222.json");
  writeFileSync(brokenTask, '{"id": "11111111-1111-4111-8111-111111111111", "exec_st');
  writeFileSync(brokenEntity, '{"kind": "nothing"}');
  writeFileSync(join(dataDir, "tasks", "x.json.123.tmp"), "half a write");
  const warnings: string[] = [];
  const second = await startLocalKlms({ dataDir, objectStore: false, quiet: true, warn: (m) => warnings.push(m) });
  try {
    assert.equal((await second.getTask(good.id)).name, "g");
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.ok(
      warnings.some((w) => w.includes(brokenTask) && /set aside/.test(w)),
      warnings.join("\n"),
    );
    assert.ok(
      warnings.some((w) => w.includes(brokenEntity)),
      warnings.join("\n"),
    );
    const taskFiles = readdirSync(join(dataDir, "tasks"));
    assert.ok(taskFiles.some((f) => f.startsWith("11111111-1111-4111-8111-111111111111.json.corrupt-")));
    assert.equal(taskFiles.includes("x.json.123.tmp"), false, "a left-over temp file is removed");
    assert.equal(existsSync(brokenEntity), false);
  } finally {
    await second.stop();
  }
});
