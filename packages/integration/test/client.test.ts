/**
 * The Data API client by area against a real local KLMS (in-process): entities (create, list,
 * fetch, get, patch, update, delete), processes, tasks (create, list, signature, logs, jobs,
 * terminate, delete, wait), and the errors it raises (the platform's envelope, no reply, a
 * server that is not the Data API).
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { type LocalKlms, startLocalKlms } from "../../klms-local/src/index.ts";
import { KlmsApiError, KlmsClient, resolveApiBase } from "../../klms-tool/src/client/index.ts";
import { minioSettings } from "../../klms-tool/src/contract/minio.ts";
import { createStorage } from "../../klms-tool/src/storage/storage.ts";

const PROJECT = resolve(import.meta.dirname, "../../../examples/correlations");

/** The error a promise rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<KlmsApiError> {
  const error = await promise.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof KlmsApiError, String(error));
  return error;
}

describe("KlmsClient against a local KLMS", () => {
  let klms: LocalKlms;
  let client: KlmsClient;
  before(async () => {
    klms = await startLocalKlms({ quiet: true, runner: { project: PROJECT }, backoffLimit: 0 });
    client = await KlmsClient.login(klms.apiUrl, klms.username, klms.password);
  });
  after(async () => {
    await klms?.stop();
  });

  it("tools: create, list, fetch, get by name, patch keeps, update clears, delete", async () => {
    const created = await client.tools.create({
      name: "t-one",
      owner_org: "stelar-klms",
      programming_language: "TypeScript",
      notes: "first",
    });
    assert.equal(created.name, "t-one");
    assert.ok((await client.tools.list()).includes("t-one"));
    assert.ok((await client.tools.fetch()).some((t) => t.id === created.id));
    assert.equal((await client.tools.get("t-one")).id, created.id);
    const patched = await client.tools.patch(created.id, { notes: "second" });
    assert.equal(patched.notes, "second");
    assert.equal(patched.programming_language, "TypeScript", "PATCH keeps what it was not given");
    const updated = await client.tools.update(created.id, { name: "t-one", owner_org: "stelar-klms", notes: "third" });
    assert.equal(updated.programming_language, null, "PUT clears what it was not given");
    await client.tools.delete(created.id);
    assert.ok(!(await client.tools.list()).includes("t-one"));
  });

  it("processes: create, get, no PUT, patch ends one", async () => {
    const p = await client.processes.create({ name: "proc-a", owner_org: "stelar-klms" });
    assert.equal(p.exec_state, "running");
    assert.equal((await client.processes.get("proc-a")).id, p.id);
    await assert.rejects(client.processes.update(), /no PUT/);
    assert.equal((await client.processes.patch(p.id, { exec_state: "succeeded" })).exec_state, "succeeded");
  });

  it("tasks: an external task is listed, has a signature, no pods, survives terminate, cannot be deleted while created", async () => {
    const spec = { process_id: klms.processId, name: "ext", datasets: {}, inputs: {}, outputs: {}, parameters: {} };
    const t = await client.tasks.create(spec);
    assert.equal(t.job_id, "__external__");
    assert.match(await client.tasks.signature(t.id), /^[0-9a-f]{64}$/);
    assert.ok((await client.tasks.list({ state: "created" })).created?.includes(t.id));
    assert.deepEqual(await client.tasks.logs(t.id), {});
    assert.deepEqual(await client.tasks.jobs(t.id), {});
    await client.tasks.terminate(t.id);
    assert.equal((await client.tasks.get(t.id)).exec_state, "created", "the platform leaves an external task alone");
    const error = await rejection(client.tasks.delete(t.id));
    assert.equal(error.status, 409);
    assert.equal(error.code, "ConflictError");
    assert.equal(
      error.message,
      "DELETE /api/v2/task/" + t.id + ": 409 ConflictError: Cannot delete a non terminated task.",
    );
  });

  it("tasks.wait follows a tool task to its end, polling until then", async () => {
    await client.tools.create({ name: "correlations", owner_org: "stelar-klms" });
    const store = (await client.help()).s3_api;
    assert.ok(store);
    const s3 = await client.s3({
      AWS_ACCESS_KEY_ID: String(klms.minio.id),
      AWS_SECRET_ACCESS_KEY: String(klms.minio.key),
    });
    assert.equal(s3.endpoint, store);
    const spec = {
      process_id: klms.processId,
      name: "w",
      tool: "correlations",
      datasets: {},
      inputs: { series: ["s3://klms-bucket/none.csv"] },
      outputs: {},
      parameters: {},
    };
    const { id } = await client.tasks.create(spec);
    const seen: string[] = [];
    const task = await client.tasks.wait(id, { minDelayMs: 50, onPoll: (t) => void seen.push(t.exec_state) });
    assert.equal(task.exec_state, "failed", "the input does not exist: the tool fails");
    assert.equal(seen.at(-1), "failed");
    assert.ok(task.end_date);
  });

  it("s3() without the AWS variables mints credentials at the store's STS with the user's token; they read and write", async () => {
    const s3 = await client.s3({});
    assert.equal(s3.endpoint, (await client.help()).s3_api);
    assert.ok(s3.accessKeyId && s3.secretAccessKey && s3.sessionToken);
    assert.notEqual(s3.accessKeyId, String(klms.minio.id), "minted for this request, not the tasks' block");
    const storage = createStorage(
      minioSettings(
        { endpoint_url: s3.endpoint, id: s3.accessKeyId, key: s3.secretAccessKey, skey: s3.sessionToken },
        { prefer: "external", env: {} },
      ),
    );
    try {
      await storage.put("s3://klms-bucket/client-test/hello.txt", "hello");
      assert.equal(await storage.getText("s3://klms-bucket/client-test/hello.txt"), "hello");
    } finally {
      storage.close();
    }
    const refused = await rejection(
      new KlmsClient({ apiBase: client.transport.apiBase, session: { token: "not-a-jwt" } }).s3({}),
    );
    assert.match(refused.message, /the object store gave no credentials/);
  });

  it("registry credentials: a local KLMS without a registry fails as the platform does without Quay, with a hint", async () => {
    const error = await rejection(client.registry.list());
    assert.equal(error.status, 500);
    assert.equal(error.code, "InternalException");
    assert.match(
      JSON.stringify(error.detail),
      /start one \(scripts\/registry\.sh start\) and the local KLMS with --registry/,
    );
  });

  it("no reply is a NetworkError; a server that is not the Data API is named", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    const down = await rejection(resolveApiBase(`http://127.0.0.1:${port}`));
    assert.equal(down.code, "NetworkError");
    assert.equal(down.status, 0);
    const notApi = await rejection(resolveApiBase(`${(await client.help()).s3_api}`));
    assert.equal(notApi.code, "BadReply");
    assert.match(notApi.message, /no KLMS Data API at .*\/stelar\/help nor .*\/help: check the URL/);
  });
});
