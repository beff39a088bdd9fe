/**
 * Wildcard input paths, expanded against the embedded object store as the platform expands
 * them against MinIO (`mutils.py:114-161`, `tasks.py:606-620`), and the fnmatch rules they use.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createStorage, minioSettings, type Storage } from "klms-tool";
import { type LocalKlms, startLocalKlms } from "../src/index.js";
import { fnmatchRegExp } from "../src/wildcards.js";
import { assertSuccess, call } from "./helpers.js";

describe("fnmatch, as Python's on POSIX", () => {
  const cases: Array<[string, string, boolean]> = [
    ["data/*.csv", "data/a.csv", true],
    ["data/*.csv", "data/sub/b.csv", true], // `*` crosses "/" in fnmatch
    ["data/*.csv", "data/a.CSV", false], // case-sensitive
    ["data/?.csv", "data/a.csv", true],
    ["data/?.csv", "data/ab.csv", false],
    ["data/[ab].csv", "data/b.csv", true],
    ["data/[!ab].csv", "data/b.csv", false],
    ["data/[!ab].csv", "data/c.csv", true],
    ["data/(x)+.csv", "data/(x)+.csv", true], // regex characters are literal
    ["data/[x", "data/[x", true], // an unclosed set is literal
  ];
  for (const [pattern, key, expected] of cases) {
    test(`${pattern} ${expected ? "matches" : "does not match"} ${key}`, () => {
      assert.equal(fnmatchRegExp(pattern).test(key), expected);
    });
  }
});

describe("wildcard inputs against the object store", () => {
  let klms: LocalKlms;
  let storage: Storage;
  before(async () => {
    klms = await startLocalKlms({ quiet: true });
    storage = createStorage(minioSettings(klms.minio, { prefer: "external", env: {} }));
    for (const key of ["wild/a.csv", "wild/b.csv", "wild/notes.txt", "wild/deep/c.csv", "wild/folder/"]) {
      await storage.put(`s3://klms-bucket/${key}`, "x");
    }
  });
  after(async () => {
    storage?.close();
    await klms?.stop();
  });

  const spec = (inputs: Record<string, string[]>) => ({
    process_id: klms.processId,
    name: "wild",
    datasets: {},
    inputs,
    outputs: {},
  });

  test("at creation: one row per matching object, folder markers out; no match drops the item", async () => {
    const { id, signature } = await klms.createTask(
      spec({
        csv: ["s3://klms-bucket/wild/*.csv"],
        none: ["s3://klms-bucket/wild/*.parquet"],
        plain: ["s3://klms-bucket/wild/notes.txt"],
      }),
    );
    const record = await klms.getTask(id);
    assert.deepEqual(record.inputs, {
      csv: ["s3://klms-bucket/wild/a.csv", "s3://klms-bucket/wild/b.csv", "s3://klms-bucket/wild/deep/c.csv"],
      plain: ["s3://klms-bucket/wild/notes.txt"],
    });
    const input = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    assert.deepEqual((assertSuccess(input) as { input: unknown }).input, record.inputs);
  });

  test("over HTTP too; only a `*` makes a wildcard; a path that cannot be listed is kept as written", async () => {
    const paths = [
      "s3://klms-bucket/wild/*.cs?",
      // What comes before the first `*` is the listed prefix, `?` included: nothing matches, dropped.
      "s3://klms-bucket/wild/?.cs*",
      "s3://klms-bucket/wild/?.csv",
      "s3://no-such-bucket/x/*",
    ];
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, body: spec({ g: paths }) });
    const { id } = assertSuccess(reply) as { id: string };
    assert.deepEqual((await klms.getTask(id)).inputs, {
      g: [
        "s3://klms-bucket/wild/a.csv",
        "s3://klms-bucket/wild/b.csv",
        "s3://klms-bucket/wild/deep/c.csv",
        "s3://klms-bucket/wild/?.csv",
        "s3://no-such-bucket/x/*",
      ],
    });
  });

  test("a resource whose URL is a wildcard is expanded when the tool reads its input", async () => {
    const dataset = await call(klms.apiUrl, "POST", "/api/v2/dataset", {
      token: klms.token,
      body: { name: "wild-data", owner_org: "stelar-klms" },
    });
    const d = assertSuccess(dataset) as { id: string };
    const res = await call(klms.apiUrl, "POST", "/api/v2/resource", {
      token: klms.token,
      body: { package_id: d.id, name: "all", url: "s3://klms-bucket/wild/*[ab].csv", relation: "owned" },
    });
    const r = assertSuccess(res) as { id: string };
    const { id, signature } = await klms.createTask(spec({ g: [r.id] }));
    const input = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    assert.deepEqual((assertSuccess(input) as { input: unknown }).input, {
      g: ["s3://klms-bucket/wild/a.csv", "s3://klms-bucket/wild/b.csv"],
    });
  });
});

test("with the store over https, wildcards are listed through its CA", async () => {
  const klms = await startLocalKlms({ quiet: true, tls: true });
  const storage = createStorage(minioSettings(klms.minio, { prefer: "external", env: {} }), { ca: klms.ca });
  try {
    await storage.put("s3://klms-bucket/tls/a.csv", "x");
    const { id } = await klms.createTask({
      process_id: klms.processId,
      name: "tls",
      datasets: {},
      inputs: { g: ["s3://klms-bucket/tls/*"] },
      outputs: {},
    });
    assert.deepEqual((await klms.getTask(id)).inputs, { g: ["s3://klms-bucket/tls/a.csv"] });
  } finally {
    storage.close();
    await klms.stop();
  }
});
