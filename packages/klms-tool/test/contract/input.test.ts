import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { minioSettings, parseEndpoint, readTaskInput, TaskInputError } from "../../src/contract/index.ts";

const minio = {
  endpoint_url: "https://minio.stelar.gr",
  internal_url: "http://minio:9000",
  id: "AK",
  key: "SK",
  skey: "TOKEN",
};

describe("readTaskInput: every shape the platform has sent", () => {
  const cases: { name: string; raw: unknown; input?: unknown; output?: unknown; warn?: RegExp; verified?: boolean }[] =
    [
      {
        name: "the v2 shape (singular keys)",
        raw: { input: { data: ["s3://b/a.csv"] }, output: { out: "s3://b/o.csv" }, parameters: {}, minio },
        input: { data: ["s3://b/a.csv"] },
        output: { out: "s3://b/o.csv" },
      },
      {
        name: "the plural spelling of the template's README",
        raw: { inputs: { data: ["s3://b/a.csv"] }, outputs: { out: "s3://b/o.csv" }, parameters: {}, minio },
        input: { data: ["s3://b/a.csv"] },
        output: { out: "s3://b/o.csv" },
        warn: /plural/,
      },
      {
        name: "both spellings: the singular wins, as on the platform",
        raw: {
          input: { a: ["s3://b/1"] },
          inputs: { z: ["s3://b/2"] },
          output: { o: "s3://b/o" },
          outputs: { p: "s3://b/p" },
        },
        input: { a: ["s3://b/1"] },
        output: { o: "s3://b/o" },
        warn: /wins/,
      },
      {
        name: "the raw {success, result, help} envelope",
        raw: {
          help: "Hidden for security reasons",
          success: true,
          result: { input: { g: ["s3://b/k"] }, output: {}, parameters: {}, minio },
        },
        input: { g: ["s3://b/k"] },
        output: {},
        warn: /envelope/,
      },
      { name: "a string where a list is expected", raw: { input: { g: "s3://b/k" } }, input: { g: ["s3://b/k"] } },
      { name: "a null group", raw: { input: { g: null } }, input: { g: [] } },
      { name: "missing optional sections", raw: {}, input: {}, output: {} },
      {
        name: "the v1 flat list",
        raw: { input: ["s3://b/1", "s3://b/2"] },
        input: { default: ["s3://b/1", "s3://b/2"] },
        warn: /v1/,
      },
      {
        name: "late-2024 {path, name} items",
        raw: { input: { g: [{ path: "s3://b/1", name: "B2" }] } },
        input: { g: ["s3://b/1"] },
      },
      { name: "secrets without the flag (older fixtures)", raw: { secrets: { k: "v" } }, verified: true },
      { name: "no secrets, no flag", raw: {}, verified: false },
      { name: "flag without secrets", raw: { signature_verified: true }, verified: true },
    ];
  for (const c of cases) {
    test(c.name, () => {
      const { task, warnings } = readTaskInput(c.raw);
      if (c.input) assert.deepEqual(task.input, c.input);
      if (c.output) assert.deepEqual(task.output, c.output);
      if (c.warn)
        assert.ok(
          warnings.some((w) => c.warn?.test(w)),
          `warnings: ${warnings.join(" | ")}`,
        );
      if (c.verified !== undefined) assert.equal(task.signature_verified, c.verified);
    });
  }

  test("unknown extra keys are kept, not fatal", () => {
    const { task } = readTaskInput({ input: {}, docket_image: "x", tags: { a: "b" } });
    assert.deepEqual(task.extra, { docket_image: "x", tags: { a: "b" } });
  });

  const errors: { name: string; raw: unknown; message: RegExp }[] = [
    { name: "not an object", raw: [1], message: /must be a JSON object, got a list/ },
    { name: "null", raw: null, message: /got null/ },
    {
      name: "an error envelope",
      raw: { success: false, error: { status_code: 401, message: "Token is invalid" } },
      message: /HTTP 401.*Token is invalid/,
    },
    {
      name: "a group of numbers",
      raw: { input: { g: [1] } },
      message: /input\.g\[0\] must be a path string, got an integer/,
    },
    {
      name: "an object item without path",
      raw: { input: { g: [{ name: "x" }] } },
      message: /without a "path".*"name"/,
    },
    { name: "parameters as a list", raw: { parameters: [] }, message: /"parameters" must be an object, got a list/ },
    { name: "output as a list", raw: { output: ["s3://b/k"] }, message: /"output" must be an object/ },
    { name: "signature_verified not boolean", raw: { signature_verified: "yes" }, message: /must be a boolean/ },
  ];
  for (const c of errors) {
    test(`error: ${c.name}`, () => {
      assert.throws(
        () => readTaskInput(c.raw),
        (e: unknown) => e instanceof TaskInputError && c.message.test(e.message),
      );
    });
  }
});

describe("minioSettings", () => {
  test("TLS and port from the endpoint's scheme; skey is the session token", () => {
    const s = minioSettings(minio, { env: {} });
    assert.equal(s.endpoint, "https://minio.stelar.gr");
    assert.equal(s.useSSL, true);
    assert.equal(s.port, 443);
    assert.equal(s.sessionToken, "TOKEN");
    assert.equal(s.secretAccessKey, "SK");
    assert.equal(s.source, "endpoint_url");
  });
  test("internal_url inside Kubernetes", () => {
    const s = minioSettings(minio, { env: { KUBERNETES_SERVICE_HOST: "10.0.0.1" } });
    assert.equal(s.source, "internal_url");
    assert.deepEqual([s.host, s.port, s.useSSL], ["minio", 9000, false]);
  });
  test("an override wins", () => {
    const s = minioSettings(minio, { env: { KLMS_S3_ENDPOINT: "http://127.0.0.1:7480" } });
    assert.deepEqual([s.source, s.endpoint], ["override", "http://127.0.0.1:7480"]);
  });
  test("prefer external even in the cluster", () => {
    assert.equal(
      minioSettings(minio, { prefer: "external", env: { KUBERNETES_SERVICE_HOST: "x" } }).source,
      "endpoint_url",
    );
  });
  const endpoints: [string, string, number, boolean][] = [
    ["minio.stelar.gr", "https://minio.stelar.gr", 443, true],
    ["localhost:9000", "https://localhost:9000", 9000, true],
    ["http://localhost:9000", "http://localhost:9000", 9000, false],
    ["http://minio", "http://minio", 80, false],
  ];
  for (const [url, endpoint, port, tls] of endpoints) {
    test(`endpoint ${url}`, () => {
      const p = parseEndpoint(url);
      assert.deepEqual([p.endpoint, p.port, p.useSSL], [endpoint, port, tls]);
    });
  }
  test("missing credentials name what is missing and never show values", () => {
    assert.throws(() => minioSettings({ endpoint_url: "https://m" }, { env: {} }), /no "id" or "key"/);
    assert.throws(() => minioSettings({ id: "a", key: "b" }, { env: {} }), /no "endpoint_url"; keys present: id, key/);
  });
  test("a non-http scheme is refused", () => {
    assert.throws(() => parseEndpoint("ftp://x"), /http or https/);
  });
});
