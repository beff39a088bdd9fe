/**
 * The catalog's generic entity routes (`routes/generic.py`): the bodies stelar_client sends, the
 * record keys its proxies require (`klms-platform-api.md` §3.7), list/fetch/show/create/update/
 * patch/delete with the platform's rules, and the seed file.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type LocalKlms, startLocalKlms } from "../../src/index.js";
import { assertError, assertSuccess, call } from "../helpers.js";

let klms: LocalKlms;
before(async () => {
  klms = await startLocalKlms({ objectStore: false, quiet: true });
});
after(async () => {
  await klms.stop();
});

const api = (method: string, path: string, body?: unknown) =>
  call(klms.apiUrl, method, `/stelar/api/v2${path}`, { token: klms.token, body });
const result = async (method: string, path: string, body?: unknown) =>
  assertSuccess(await api(method, path, body)) as Record<string, unknown>;

const NAIVE_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/;
const PACKAGE_KEYS = [
  "author",
  "author_email",
  "creator_user_id",
  "extras",
  "groups",
  "license_id",
  "maintainer",
  "maintainer_email",
  "metadata_created",
  "metadata_modified",
  "name",
  "notes",
  "owner_org",
  "private",
  "resources",
  "state",
  "tags",
  "title",
  "type",
  "url",
  "version",
];

describe("records with the keys stelar_client requires", () => {
  test("organization stelar-klms exists; a dataset and a process as stelar_client creates them", async () => {
    const org = await result("GET", "/organization/stelar-klms");
    for (const key of ["is_organization", "created", "approval_status", "title", "description", "image_url"]) {
      assert.ok(key in org, key);
    }
    assert.match(String(org.created), NAIVE_ISO);
    // The body `c.datasets.create(name=…, title=…)` sends (`sc:package.py`).
    const body = { title: "Weather", private: false, owner_org: org.id, name: "weather", extras: {}, tags: [] };
    const dataset = await result("POST", "/dataset", body);
    for (const key of [...PACKAGE_KEYS, "spatial"]) assert.ok(key in dataset, `dataset.${key}`);
    assert.equal(dataset.type, "dataset");
    assert.equal(dataset.owner_org, org.id);
    assert.match(String(dataset.metadata_created), NAIVE_ISO);
    assert.match(String(dataset.creator_user_id), /^[0-9a-f-]{36}$/);

    const proc = await result("POST", "/process", { title: "P", private: false, owner_org: org.id, name: "my-proc" });
    for (const key of ["creator", "workflow", "tasks", "start_date", "end_date", "exec_state"]) {
      assert.ok(key in proc, `process.${key}`);
    }
    assert.equal("license_id" in proc, false);
    assert.equal("creator_user_id" in proc, false);
    assert.deepEqual([proc.exec_state, proc.creator, proc.end_date, proc.tasks], ["running", "dev", null, []]);
  });

  test("a resource: package_type from its parent, unknown keys (relation) kept as extras", async () => {
    const dataset = await result("POST", "/dataset", { name: "with-res", owner_org: "stelar-klms" });
    const body = { package_id: dataset.id, url: "s3://b/in.csv", format: "csv", name: "in", relation: "owned" };
    const resource = await result("POST", "/resource", body);
    for (const key of [
      "package_id",
      "position",
      "state",
      "metadata_modified",
      "url",
      "format",
      "description",
      "hash",
      "name",
      "resource_type",
      "mimetype",
      "mimetype_inner",
      "cache_url",
      "size",
      "created",
      "last_modified",
      "cache_last_updated",
      "url_type",
    ]) {
      assert.ok(key in resource, `resource.${key}`);
    }
    assert.deepEqual([resource.relation, resource.package_type, resource.position], ["owned", "dataset", 0]);
    const shown = await result("GET", `/dataset/${dataset.id}`);
    assert.deepEqual(
      (shown.resources as Array<{ id: string }>).map((r) => r.id),
      [resource.id],
    );
  });

  test("a tool: profiles, images as Quay tags with exactly seven fields, repository = name", async () => {
    const tool = await result("POST", "/tool", {
      name: "my-tool",
      owner_org: "stelar-klms",
      git_repository: "https://github.com/me/my-tool",
      profiles: { default: { image: "0.1.0", backoff_limit: 2 } },
    });
    for (const key of ["git_repository", "programming_language", "inputs", "outputs", "parameters", "category"]) {
      assert.ok(key in tool, `tool.${key}`);
    }
    assert.equal("title" in tool, false);
    assert.equal("url" in tool, false);
    assert.equal(tool.repository, "my-tool");
    const images = tool.images as Array<Record<string, unknown>>;
    assert.deepEqual(
      images.map((i) => i.name),
      ["0.1.0"],
    );
    assert.deepEqual(Object.keys(images[0] as object).sort(), [
      "is_manifest_list",
      "last_modified",
      "manifest_digest",
      "name",
      "reversion",
      "size",
      "start_ts",
    ]);
    assert.match(String(images[0]?.last_modified), /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000$/);
    const bad = await api("POST", "/tool", {
      name: "t2",
      owner_org: "stelar-klms",
      title: "T",
      profiles: { p: { x: 1 } },
    });
    assertError(bad, 422, "_ValidationError");
    assert.deepEqual(bad.body.error?.detail, { json: { title: ["Unknown field."] } });
    const badProfile = await api("POST", "/tool", { name: "t3", owner_org: "stelar-klms", profiles: { p: { x: 1 } } });
    assert.deepEqual(badProfile.body.error?.detail, {
      json: { profiles: { p: { value: { x: ["Unknown field."] } } } },
    });
  });
});

describe("the generic routes' rules", () => {
  test("list: names of active entities, by name, paged; fetch: the records", async () => {
    await result("POST", "/dataset", { name: "zz-list", owner_org: "stelar-klms" });
    await result("POST", "/dataset", { name: "aa-list", owner_org: "stelar-klms" });
    const names = (await api("GET", "/datasets")).body.result as string[];
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes("aa-list") && names.includes("zz-list"));
    const page = assertSuccess(await api("GET", "/datasets?limit=1&offset=0")) as string[];
    assert.deepEqual(page, [names[0]]);
    const fetched = assertSuccess(await api("GET", "/datasets.fetch?limit=2")) as Array<{ name: string }>;
    assert.deepEqual(
      fetched.map((d) => d.name),
      names.slice(0, 2),
    );
    const bad = await api("GET", "/datasets?limit=0&offset=x");
    assertError(bad, 422, "_ValidationError");
    assert.deepEqual(bad.body.error?.detail, {
      query: { limit: ["Must be greater than or equal to 1."], offset: ["Not a valid integer."] },
    });
    assertError(await api("GET", "/resources"), 404, "HTTPError", "Not Found");
  });

  test("422s: missing, unknown and dump-only fields; a bad name", async () => {
    const reply = await api("POST", "/dataset", { name: "Bad Name", id: "x", author: "me" });
    assertError(reply, 422, "_ValidationError", "Validation error");
    assert.deepEqual(reply.body.error?.detail, {
      json: {
        author: ["Unknown field."],
        id: ["Unknown field."],
        name: ["String does not match expected pattern."],
        owner_org: ["Missing data for required field."],
      },
    });
    const process = await api("POST", "/process", { name: "p" });
    assert.deepEqual(process.body.error?.detail, { json: { owner_org: ["Missing data for required field."] } });
  });

  test("show by id or name; another kind's id is the platform's 404; a duplicate name is CKAN's 400", async () => {
    const dataset = await result("POST", "/dataset", { name: "shown", owner_org: "stelar-klms" });
    assert.equal((await result("GET", "/dataset/shown")).id, dataset.id);
    const wrong = await api("GET", `/process/${dataset.id}`);
    assertError(wrong, 404, "NotFoundError", "");
    assert.deepEqual(wrong.body.error?.detail, { entity: "process not found, ID belongs to dataset" });
    const missing = await api("GET", "/dataset/nothing-here");
    assertError(missing, 404, "NotFoundError", "Not found");
    assert.deepEqual(missing.body.error?.detail, { entity: "dataset" });
    const dup = await api("POST", "/tool", { name: "shown", owner_org: "stelar-klms" });
    assertError(dup, 400, "InvalidError");
    assert.deepEqual(dup.body.error?.detail, { entity: "tool", extra: { name: ["That URL is already in use."] } });
  });

  test("PUT clears omitted fields, PATCH keeps them; processes have no PUT", async () => {
    const d = await result("POST", "/dataset", { name: "edited", owner_org: "stelar-klms", title: "T", notes: "N" });
    const patched = await result("PATCH", `/dataset/${d.id}`, { notes: "N2" });
    assert.deepEqual([patched.title, patched.notes], ["T", "N2"]);
    const put = await result("PUT", `/dataset/${d.id}`, { notes: "N3" });
    assert.deepEqual([put.title, put.notes, put.name], [null, "N3", "edited"]);
    assertError(await api("PUT", `/process/${klms.processId}`, { title: "x" }), 405, "HTTPError", "Method Not Allowed");
  });

  test("process rules: exec_state only from running; no delete while running; no purge", async () => {
    const p = await result("POST", "/process", { name: "lifecycle", owner_org: "stelar-klms" });
    assertError(await api("DELETE", `/process/${p.id}`), 409, "ConflictError", "Cannot delete a running process.");
    const done = await result("PATCH", `/process/${p.id}`, { exec_state: "succeeded" });
    assert.equal(done.exec_state, "succeeded");
    assert.match(String(done.end_date), NAIVE_ISO);
    const again = await api("PATCH", `/process/${p.id}`, { exec_state: "failed" });
    assertError(again, 409, "ConflictError", "Exec state can only change from running to failed or succeeded.");
    assertError(await api("DELETE", `/process/${p.id}?purge=true`), 405, "NotAllowedError");
    assert.equal(assertSuccess(await api("DELETE", `/process/${p.id}`)), null);
    assert.equal((await result("GET", `/process/${p.id}`)).state, "deleted");
    assert.equal(((await api("GET", "/processes")).body.result as string[]).includes("lifecycle"), false);
    const spec = { process_id: p.id, name: "late", datasets: {}, inputs: {}, outputs: {} };
    const refused = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, body: spec });
    assertError(refused, 409, "ConflictError", `Process '${p.id}' is not running and it may not accept tasks`);
  });

  test("a process record lists its tasks", async () => {
    const p = await result("POST", "/process", { name: "with-tasks", owner_org: "stelar-klms" });
    const t = await klms.createTask({ process_id: p.id as string, name: "t1", datasets: {}, inputs: {}, outputs: {} });
    const tasks = (await result("GET", `/process/${p.id}`)).tasks as Array<Record<string, unknown>>;
    assert.deepEqual(
      tasks.map((x) => [x.id, x.name, x.exec_state, x.creator, x.image, x.end_date]),
      [[t.id, "t1", "created", "dev", null, null]],
    );
  });

  test("delete: a dataset becomes deleted (still shown), purge removes it with its resources", async () => {
    const d = await result("POST", "/dataset", { name: "gone", owner_org: "stelar-klms" });
    const r = await result("POST", "/resource", { package_id: d.id, url: "s3://b/x", name: "x" });
    assert.equal(assertSuccess(await api("DELETE", `/dataset/${d.id}`)), null);
    assert.equal((await result("GET", `/dataset/${d.id}`)).state, "deleted");
    assertSuccess(await api("DELETE", `/dataset/${d.id}?purge=true`));
    assertError(await api("GET", `/dataset/${d.id}`), 404, "NotFoundError");
    assertError(await api("GET", `/resource/${r.id}`), 404, "NotFoundError");
    const badPurge = await api("DELETE", `/dataset/${d.id}?purge=maybe`);
    assert.deepEqual(badPurge.body.error?.detail, { query: { purge: ["Not a valid boolean."] } });
  });

  test("resource PUT without package_id is the platform's 500; PATCH keeps it", async () => {
    const d = await result("POST", "/dataset", { name: "res-edit", owner_org: "stelar-klms" });
    const r = await result("POST", "/resource", { package_id: d.id, url: "s3://b/x", name: "x", relation: "owned" });
    assertError(
      await api("PUT", `/resource/${r.id}`, { url: "s3://b/y" }),
      500,
      "InternalException",
      "KeyError('package_id')",
    );
    const patched = await result("PATCH", `/resource/${r.id}`, { url: "s3://b/y" });
    assert.deepEqual([patched.url, patched.package_id, patched.relation], ["s3://b/y", d.id, "owned"]);
  });
});

describe("the seed file", () => {
  test("users and entities from a file; ids stable across restarts and machines; existing ones kept", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "klms-local-seed-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const seedFile = join(dir, "catalog.json");
    writeFileSync(
      seedFile,
      JSON.stringify({
        users: [{ username: "alice", password: "alice-pw" }],
        organizations: [{ name: "team" }],
        datasets: [
          { name: "shared", owner_org: "team", resources: [{ name: "a", url: "s3://b/a.csv", relation: "owned" }] },
        ],
        processes: [{ name: "exp-1" }],
        tools: [{ name: "my-tool", profiles: { default: { image: "1.0" } } }],
      }),
    );
    const ids = async (dataDir: string) => {
      const k = await startLocalKlms({ dataDir, objectStore: false, quiet: true, seed: seedFile });
      try {
        const show = async (kind: string, name: string) =>
          assertSuccess(await call(k.apiUrl, "GET", `/api/v2/${kind}/${name}`, { token: k.token })) as Record<
            string,
            unknown
          >;
        const dataset = await show("dataset", "shared");
        const login = await call(k.apiUrl, "POST", "/api/v1/users/token", {
          body: { username: "alice", password: "alice-pw" },
        });
        assertSuccess(login);
        return {
          org: (await show("organization", "team")).id,
          dataset: dataset.id,
          resource: (dataset.resources as Array<{ id: string }>)[0]?.id,
          process: (await show("process", "exp-1")).id,
          tool: (await show("tool", "my-tool")).id,
        };
      } finally {
        await k.stop();
      }
    };
    const a = await ids(join(dir, "a"));
    assert.deepEqual(await ids(join(dir, "a")), a, "the same ids after a restart");
    assert.deepEqual(await ids(join(dir, "b")), a, "the same ids in another data dir");
  });

  test("a bad seed names the entry and what is wrong; the server does not start", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ dataset: [] }, /unknown key "dataset"/],
      [
        { datasets: [{ name: "Bad Name" }] },
        /seed: datasets\[0\]: Validation error .*String does not match expected pattern/,
      ],
      [{ datasets: [{ name: "ok", resources: [{ url: 5 }] }] }, /datasets\[0\]: resources\[0\]: .*Not a valid string/],
      [{ tools: [{ name: "t", images: "latest" }] }, /tools\[0\]: "images" must be a list/],
      [{ processes: [{ name: "p", id: "NOT-A-UUID" }] }, /processes\[0\]: "id" must be a lowercase UUID/],
      [{ users: [{ username: "x" }] }, /user x: the password must be a non-empty string/],
    ];
    for (const [seed, message] of cases) {
      await assert.rejects(startLocalKlms({ objectStore: false, quiet: true, seed: seed as never }), message);
    }
    await assert.rejects(
      startLocalKlms({ objectStore: false, quiet: true, seed: "/nonexistent/catalog.json" }),
      /seed file \/nonexistent\/catalog.json: ENOENT/,
    );
  });
});
