import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { issueDevToken, type LocalKlms, signatureOf, startLocalKlms } from "../src/index.js";
import { assertError, assertSuccess, call } from "./helpers.js";

const SECRET = "api-test-secret";
const SECRET_FREE_UUID = "00000000-0000-4000-8000-000000000000";
const HIDDEN = "Hidden for security reasons";
let klms: LocalKlms;

before(async () => {
  klms = await startLocalKlms({ secret: SECRET, quiet: true });
});
after(async () => {
  await klms.stop();
});

const SPEC = {
  name: "api-test",
  inputs: { series: ["s3://klms-bucket/a.csv", "s3://klms-bucket/b.csv"] },
  outputs: { report: { url: "s3://klms-bucket/out/report.csv" }, table: { url: "s3://klms-bucket/out/table.csv" } },
  parameters: { n: "123", ratio: "0.5", none: "None", date: "2023-06-12", list: "[1,2]", kept: 7 },
  secrets: { api_key: "s3cr3t-value" },
};

/** Creates a task in the dev process; `spec` overrides the defaults (no datasets, inputs or outputs). */
async function newTask(spec: Record<string, unknown> = SPEC) {
  const body = { process_id: klms.processId, name: "t", datasets: {}, inputs: {}, outputs: {}, ...spec };
  const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, body });
  return assertSuccess(reply) as { id: string; job_id: string; signature: string };
}

const post = (id: string, signature: string, body: unknown, options: { contentType?: string; raw?: string } = {}) =>
  call(klms.apiUrl, "POST", `/api/v2/task/${id}/${signature}/output`, { body, ...options });

describe("task creation", () => {
  test("returns id, job_id and the platform's signature", async () => {
    const created = await newTask();
    assert.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(created.job_id, "__external__");
    assert.equal(created.signature, signatureOf(created.id, SECRET));
    assert.match(created.signature, /^[0-9a-f]{64}$/);
  });

  test("a task with a tool or an image gets a Job; its record has the image, an external one has no image key", async () => {
    const tool = await call(klms.apiUrl, "POST", "/api/v2/tool", {
      token: klms.token,
      body: { name: "my-tool", owner_org: "stelar-klms", profiles: { default: { image: "0.1.0" } } },
    });
    assertSuccess(tool);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ tool: "my-tool" }, "my-tool:0.1.0"],
      [{ image: "me/tool:1" }, "me/tool:1"],
    ];
    for (const [extra, image] of cases) {
      const created = await newTask({ ...SPEC, ...extra });
      assert.equal(created.job_id, `task-${created.id}`);
      const record = await klms.getTask(created.id);
      assert.equal(record.image, image);
      assert.deepEqual(Object.keys(record.tags).sort(), ["container_id", "job_id"]);
    }
    const external = await klms.getTask((await newTask()).id);
    assert.equal("image" in external, false);
    assert.equal("tool" in external, false);
    assert.deepEqual(external.tags, {});
  });

  test("createTask() follows the same rules", async () => {
    const spec = {
      process_id: klms.processId,
      name: "x",
      datasets: {},
      inputs: {},
      outputs: { o: { url: "s3://b/o" } },
    };
    const created = await klms.createTask(spec);
    assert.equal(created.job_id, "__external__");
    assert.equal(created.signature, signatureOf(created.id, SECRET));
    assert.equal((await klms.getTask(created.id)).exec_state, "created");
    await assert.rejects(
      klms.createTask({ ...spec, inputs: { g: "s3://x/y" } as never }),
      /the API would answer 422.*"inputs\.g":"Must be a list\."/,
    );
    await assert.rejects(
      klms.createTask({ ...spec, process_id: SECRET_FREE_UUID }),
      /404 Not found.*"entity":"process"/,
    );
  });

  test("400 on unparsable JSON", async () => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, raw: "{oops" });
    assertError(reply, 400, "HTTPError", "Bad Request");
  });

  test("400 on a JSON body that is not UTF-8 (Python's UnicodeDecodeError is Werkzeug's BadRequest)", async () => {
    const valid = { process_id: klms.processId, name: "\u00e9", datasets: {}, inputs: {}, outputs: {} };
    const latin1 = Buffer.from(JSON.stringify(valid), "latin1"); // "é" as the lone byte 0xe9: not UTF-8
    assert.ok(latin1.includes(0xe9));
    const response = await fetch(`${klms.apiUrl}/api/v2/task`, {
      method: "POST",
      headers: { authorization: klms.token, "content-type": "application/json" },
      body: latin1,
    });
    const reply = { status: response.status, text: await response.text() };
    assertError({ ...reply, body: JSON.parse(reply.text) }, 400, "HTTPError", "Bad Request");
    assert.deepEqual(JSON.parse(reply.text).error.detail, {});
  });

  test("a body nested deeper than Python's recursion limit: the platform's bare 500, and the server goes on", async () => {
    const depth = 100_000;
    const raw = `{"process_id": "${klms.processId}", "name": ${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, raw });
    assertError(reply, 500, "HTTPError", "Internal Server Error");
    assert.deepEqual(reply.body.error?.detail, {});
    assert.doesNotMatch(reply.text, /RangeError|stack/i);
    // Shallow nesting is still read, and checked field by field.
    const shallow = `{"process_id": "${klms.processId}", "name": ${"[".repeat(50)}${"]".repeat(50)}}`;
    const checked = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, raw: shallow });
    assertError(checked, 422, "_ValidationError");
    assert.deepEqual((checked.body.error?.detail.json as Record<string, unknown> | undefined)?.name, [
      "Not a valid string.",
    ]);
    await newTask();
  });

  test("422 without a JSON body: every required field is missing", async () => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
      token: klms.token,
      raw: "name=x",
      contentType: "text/plain",
    });
    assertError(reply, 422, "_ValidationError");
    const missing = ["Missing data for required field."];
    assert.deepEqual(reply.body.error?.detail.json, {
      datasets: missing,
      inputs: missing,
      name: missing,
      outputs: missing,
      process_id: missing,
    });
  });
});

describe("authentication (token routes)", () => {
  const expired = () => `Bearer ${issueDevToken(SECRET, -60)}`;
  const foreign = () => `Bearer ${issueDevToken("another-secret")}`;
  // `auth.py:131-160`: a missing or malformed header is a bare APIException, a bad token an AuthenticationError.
  const cases: Array<[string, () => string | undefined, string, string]> = [
    ["no Authorization header", () => undefined, "APIException", "Bearer Token is missing"],
    ["one part", () => klms.token.split(" ")[1], "APIException", "Authorization headers are missing or malformed"],
    ["three parts", () => `${klms.token} extra`, "APIException", "Authorization headers are missing or malformed"],
    // python-jose's get_unverified_header fails (JWTError): `auth.py:88-92`.
    ["not a JWT", () => "Bearer not-a-jwt", "AuthenticationError", "Error decoding token headers"],
    ["two segments", () => `Bearer ${b64({ kid: "k" })}.e30`, "AuthenticationError", "Error decoding token headers"],
    [
      "a header that is not an object",
      () => `Bearer ${b64([1])}.e30.c2ln`,
      "AuthenticationError",
      "Error decoding token headers",
    ],
    ["bad base64 in the header", () => "Bearer a.e30.c2ln", "AuthenticationError", "Error decoding token headers"],
    // A readable header, then no key or audience verifies it (expiry included): `auth.py:70-98`.
    ["signed with another secret", foreign, "AuthenticationError", "Bearer Token could not be verified"],
    ["tampered payload", () => tamper(klms.token), "AuthenticationError", "Bearer Token could not be verified"],
    ["expired", expired, "AuthenticationError", "Bearer Token could not be verified"],
  ];
  for (const [what, token, type, message] of cases) {
    test(`401 with ${what}`, async () => {
      const { id, signature } = await newTask();
      // Bodies that pass their route's schema: the body is checked before the token (APIFlask's order).
      const valid: Record<string, unknown> = {
        "/api/v2/task": { process_id: klms.processId, name: "x", datasets: {}, inputs: {}, outputs: {} },
        "/api/v2/tasks/status": { identifiers: [klms.processId] },
        "/api/v2/dataset": { name: "never-made", owner_org: "stelar-klms" },
      };
      const routes: Array<[string, string]> = [
        ["POST", "/api/v2/task"],
        ["GET", `/api/v2/task/${id}`],
        ["GET", `/api/v2/task/${id}/signature`],
        ["GET", `/api/v2/task/${id}/input`],
        ["GET", `/api/v2/task/${id}/${signature}/input`],
        ["GET", `/api/v2/tasks/${id}/${signature}/input`],
        ["GET", `/api/v2/task/${id}/logs`],
        ["GET", `/api/v2/task/${id}/jobs`],
        ["DELETE", `/api/v2/task/${id}`],
        ["GET", "/api/v2/tasks"],
        ["POST", "/api/v2/tasks/status"],
        ["POST", `/api/v2/task/${id}/terminate`],
        ["GET", "/api/v1/users/me"],
        ["GET", "/api/v2/processes"],
        ["POST", "/api/v2/dataset"],
        ["GET", "/__klms/faults"],
        ["GET", `/api/v1/task/${id}/input`],
        ["POST", `/api/v1/task/${id}/output`],
      ];
      for (const [method, path] of routes) {
        const reply = await call(klms.apiUrl, method, path, {
          token: token(),
          body: method === "POST" ? (valid[path] ?? {}) : undefined,
        });
        assertError(reply, 401, type, message);
        assert.equal(reply.body.help, klms.apiUrl + path);
      }
      // Authentication comes before anything else: the task is untouched.
      assert.equal((await klms.getTask(id)).exec_state, "created");
    });
  }

  test("the body is checked before the token, as APIFlask's @input runs before @token_active", async () => {
    const cases: Array<[string, string, unknown]> = [
      ["POST", "/api/v2/task", { name: "no process" }],
      ["POST", "/api/v2/tasks/status", {}],
      ["POST", "/api/v2/dataset", { name: "Bad Name", owner_org: "stelar-klms" }],
      ["GET", "/api/v2/tasks?state=nope", undefined],
      ["GET", "/api/v2/datasets?limit=0", undefined],
    ];
    for (const [method, path, body] of cases) {
      assertError(await call(klms.apiUrl, method, path, { body }), 422, "_ValidationError", "Validation error");
    }
    // A route without an input schema checks the token first.
    assertError(await call(klms.apiUrl, "POST", "/api/v2/task/x/terminate", {}), 401, "APIException");
    // Werkzeug's 405 comes before anything: processes have no PUT.
    assertError(await call(klms.apiUrl, "PUT", `/api/v2/process/${klms.processId}`, {}), 405, "HTTPError");
  });

  test("a readable token header without `kid`: the platform's KeyError escapes as Werkzeug's 500", async () => {
    const reply = await call(klms.apiUrl, "GET", "/api/v1/users/me", {
      token: `Bearer ${b64({ alg: "HS256" })}.e30.c2ln`,
    });
    assertError(reply, 500, "HTTPError", "Internal Server Error");
    assert.deepEqual(reply.body.error?.detail, {});
  });

  test("the platform does not read the scheme word: any two-part header with a valid token passes", async () => {
    const reply = await call(klms.apiUrl, "GET", "/api/v1/users/me", { token: `Token ${klms.token.split(" ")[1]}` });
    assert.equal((assertSuccess(reply) as Record<string, unknown>).username, "dev");
  });

  test("a refresh token is not an access token", async () => {
    const login = await call(klms.apiUrl, "POST", "/api/v1/users/token", {
      body: { username: "dev", password: "dev" },
    });
    const { refresh_token } = assertSuccess(login) as { refresh_token: string };
    const reply = await call(klms.apiUrl, "GET", "/api/v1/users/me", { token: `Bearer ${refresh_token}` });
    assertError(reply, 401, "AuthenticationError", "Bearer Token could not be verified");
  });

  test("the output POST needs no token: the signature is the credential", async () => {
    const { id, signature } = await newTask();
    assertSuccess(await post(id, signature, { status: "succeeded" }), HIDDEN);
  });
});

/** A JWT segment: base64url of the JSON value. */
function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function tamper(token: string): string {
  const [head, body, mac] = (token.split(" ")[1] as string).split(".");
  const claims = JSON.parse(Buffer.from(body as string, "base64url").toString());
  claims.exp += 3600;
  return `Bearer ${head}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${mac}`;
}

describe("unknown task and unknown route", () => {
  const missing = "00000000-0000-4000-8000-000000000000";
  const cases: Array<[string, string, unknown]> = [
    ["GET", `/api/v2/task/${missing}`, undefined],
    ["DELETE", `/api/v2/task/${missing}`, undefined],
    ["GET", `/api/v2/task/${missing}/input`, undefined],
    ["GET", `/api/v2/task/${missing}/${"a".repeat(64)}/input`, undefined],
    ["POST", `/api/v2/task/${missing}/terminate`, undefined],
    ["POST", `/api/v2/task/${missing}/${"a".repeat(64)}/output`, { status: "succeeded" }],
    ["GET", `/api/v1/task/${missing}/input`, undefined],
    ["POST", `/api/v1/task/${missing}/output`, { task_exec_id: missing, output_json: { status: "succeeded" } }],
  ];
  for (const [method, path, body] of cases) {
    test(`404 on ${method} ${path.replace(missing, "<unknown>")}`, async () => {
      const reply = await call(klms.apiUrl, method, path, { token: klms.token, body });
      // `tasks.py:318-334`: NotFoundError(<id>): message "", detail {"entity": <id>}.
      assertError(reply, 404, "NotFoundError", "");
      assert.deepEqual(reply.body.error?.detail, { entity: missing });
      assert.equal(reply.body.help, klms.apiUrl + path);
    });
  }

  test("404 envelope on a route that does not exist (Werkzeug's)", async () => {
    const reply = await call(klms.apiUrl, "GET", "/api/v2/nothing", { token: klms.token });
    assertError(reply, 404, "HTTPError", "Not Found");
    assert.deepEqual(reply.body.error?.detail, {});
  });

  test("405 (Werkzeug's) on a path that exists with another method, before the body and token checks", async () => {
    const { id } = await newTask();
    const cases: Array<[string, string]> = [
      ["GET", "/api/v2/task"],
      ["PUT", `/api/v2/task/${id}`],
      ["PATCH", `/api/v2/task/${id}`],
      ["POST", `/api/v2/task/${id}`],
      ["DELETE", "/api/v2/tasks"],
      ["GET", "/api/v2/tasks/status"],
      ["GET", `/api/v2/task/${id}/terminate`],
      ["POST", "/api/v1/users/me"],
      ["DELETE", "/api/v1/users/token"],
      ["POST", "/help"],
      ["GET", "/api/v2/task/x/y/output"],
      ["PUT", "/api/v2/task/x/y/output"],
    ];
    for (const [method, path] of cases) {
      for (const prefix of ["", "/stelar"]) {
        const reply = await call(klms.apiUrl, method, prefix + path, { body: method === "GET" ? undefined : {} });
        assertError(reply, 405, "HTTPError", "Method Not Allowed");
        assert.deepEqual(reply.body.error?.detail, {});
        assert.equal(reply.body.help, klms.apiUrl + prefix + path);
      }
    }
    // Flask answers OPTIONS on a served path itself; an unknown path stays 404.
    for (const prefix of ["", "/stelar"]) {
      const options = await fetch(`${klms.apiUrl}${prefix}/api/v2/task/${id}`, { method: "OPTIONS" });
      assert.equal(options.status, 200);
      assert.equal(options.headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");
      assert.equal(await options.text(), "");
    }
    const unknown = await fetch(`${klms.apiUrl}/api/v2/nothing`, { method: "OPTIONS" });
    assert.equal(unknown.status, 404);
    await unknown.text();
    // A path no route serves stays 404.
    assertError(await call(klms.apiUrl, "POST", "/api/v2/nothing", { body: {} }), 404, "HTTPError", "Not Found");
  });

  test("an unknown task's logs and jobs: empty, like a cluster with no pods for it", async () => {
    const logs = await call(klms.apiUrl, "GET", `/api/v2/task/${missing}/logs`, { token: klms.token });
    assert.deepEqual(assertSuccess(logs), {});
    const jobs = await call(klms.apiUrl, "GET", `/api/v2/task/${missing}/jobs`, { token: klms.token });
    assert.deepEqual(assertSuccess(jobs), { message: "No logs available for the specified task execution" });
  });

  test("the signature of an unknown task: an admin gets one (the platform does not check), others 403", async () => {
    const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${missing}/signature`, { token: klms.token });
    assert.deepEqual(assertSuccess(reply), { signature: signatureOf(missing, SECRET) });
  });

  test("getTask() rejects an unknown id", async () => {
    await assert.rejects(klms.getTask(missing), /not found/);
  });
});

describe("task input", () => {
  test("with a valid signature: input, output, parameters, minio, secrets, signature_verified", async () => {
    const { id, signature } = await newTask();
    const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    const result = assertSuccess(reply, HIDDEN) as Record<string, unknown>;
    assert.deepEqual(Object.keys(result), ["input", "minio", "output", "parameters", "secrets", "signature_verified"]);
    assert.deepEqual(result.input, SPEC.inputs);
    assert.deepEqual(result.output, {
      report: "s3://klms-bucket/out/report.csv",
      table: "s3://klms-bucket/out/table.csv",
    });
    assert.deepEqual(result.parameters, { date: "2023-06-12", kept: 7, list: [1, 2], n: 123, none: null, ratio: 0.5 });
    assert.deepEqual(result.secrets, SPEC.secrets);
    assert.equal(result.signature_verified, true);
    const minio = result.minio as Record<string, string>;
    assert.deepEqual(Object.keys(minio), ["endpoint_url", "id", "internal_url", "key", "skey"]);
    assert.equal(minio.endpoint_url, klms.s3Url);
  });

  test("a wrong signature is not an error: the secrets are left out", async () => {
    const { id } = await newTask();
    for (const signature of ["b".repeat(64), "short"]) {
      const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
      const result = assertSuccess(reply, HIDDEN) as Record<string, unknown>;
      assert.deepEqual(Object.keys(result), ["input", "minio", "output", "parameters"]);
    }
  });

  test("the unsigned, plural and v1 routes give the input without secrets", async () => {
    const { id, signature } = await newTask();
    for (const path of [`/api/v2/task/${id}/input`, `/api/v1/task/${id}/input`]) {
      const result = assertSuccess(await call(klms.apiUrl, "GET", path, { token: klms.token }), HIDDEN);
      assert.deepEqual(Object.keys(result as object), ["input", "minio", "output", "parameters"]);
    }
    const plural = await call(klms.apiUrl, "GET", `/api/v2/tasks/${id}/${signature}/input`, { token: klms.token });
    assert.equal((assertSuccess(plural) as Record<string, unknown>).signature_verified, true);
  });

  test("no secrets key when the task has none, but signature_verified", async () => {
    const { id, signature } = await newTask({ name: "no-secrets", inputs: {}, outputs: {} });
    const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    const result = assertSuccess(reply) as Record<string, unknown>;
    assert.equal("secrets" in result, false);
    assert.equal(result.signature_verified, true);
    assert.deepEqual(result.input, {});
    assert.deepEqual(result.output, {});
  });

  test("leading double slashes work, as on the platform (API URL with a trailing slash)", async () => {
    const { id, signature } = await newTask();
    const input = await call(`${klms.apiUrl}/`, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    assertSuccess(input, HIDDEN);
    const output = await call(`${klms.apiUrl}//`, "POST", `/api/v2/task/${id}/${signature}/output`, {
      body: { status: "succeeded" },
    });
    assertSuccess(output, HIDDEN);
    const bad = await call(`${klms.apiUrl}/`, "GET", `/api/v2/task/${id}`, {});
    assert.equal(bad.body.help, `${klms.apiUrl}//api/v2/task/${id}`);
  });

  test("the signature route gives the signature", async () => {
    const { id, signature } = await newTask();
    const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/signature`, { token: klms.token });
    assert.deepEqual(assertSuccess(reply, `${klms.apiUrl}/api/v2/task/${id}/signature`), { signature });
  });
});

describe("state machine", () => {
  test("created → running on the first input GET → succeeded on the output POST", async () => {
    const { id, signature } = await newTask();
    const before = await klms.getTask(id);
    assert.equal(before.exec_state, "created");
    assert.equal(before.end_date, null);
    assert.deepEqual(before.parameters, { date: "2023-06-12", kept: 7, list: [1, 2], n: 123, none: null, ratio: 0.5 });
    await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    assert.equal((await klms.getTask(id)).exec_state, "running");
    await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    assert.equal((await klms.getTask(id)).exec_state, "running");
    const body = {
      status: "succeeded",
      message: "done",
      output: { report: "s3://klms-bucket/elsewhere/report.csv", extra: "s3://klms-bucket/x" },
      metrics: { rows: 10, nested: { a: [1, null, true] } },
    };
    assertSuccess(await post(id, signature, body), HIDDEN);
    const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}`, { token: klms.token });
    const task = assertSuccess(reply, `${klms.apiUrl}/api/v2/task/${id}`) as Record<string, unknown>;
    assert.equal(task.exec_state, "succeeded");
    assert.match(task.end_date as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/, "a naive isoformat, no Z");
    assert.equal(task.messages, "done");
    // Plain paths are not registered in the catalog: the platform lists no output for them.
    assert.deepEqual(task.outputs, {});
    assert.deepEqual(task.metrics, body.metrics);
    assert.deepEqual(await klms.getTask(id), task);
    assert.deepEqual((await klms.getOutcome(id)).output, body.output);
  });

  test("the record's keys, in the platform's order, before and after the end", async () => {
    const { id, signature } = await newTask();
    const before = await call(klms.apiUrl, "GET", `/api/v2/task/${id}`, { token: klms.token });
    const keys = ["creator", "end_date", "exec_state", "id", "inputs", "name", "parameters", "process_id"];
    assert.deepEqual(Object.keys(assertSuccess(before) as object), [...keys, "start_date", "tags"]);
    assertSuccess(await post(id, signature, { status: "succeeded" }));
    const after = assertSuccess(await call(klms.apiUrl, "GET", `/api/v2/task/${id}`, { token: klms.token }));
    const terminal = ["creator", "end_date", "exec_state", "id", "inputs", "messages", "metrics", "name", "outputs"];
    assert.deepEqual(Object.keys(after as object), [...terminal, "parameters", "process_id", "start_date", "tags"]);
    const record = after as Record<string, unknown>;
    assert.equal(record.messages, null);
    assert.equal(record.metrics, null);
    assert.deepEqual(record.outputs, {});
    assert.equal(record.creator, "dev");
    assert.equal(record.process_id, klms.processId);
    assert.match(record.start_date as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
  });

  test("parameters: null when there are none", async () => {
    const { id } = await newTask({ parameters: {} });
    assert.equal((await klms.getTask(id)).parameters, null);
  });

  const outcomes: Array<[string, Record<string, unknown>, string]> = [
    ['"success"', { status: "success" }, "succeeded"],
    ['"SUCCEEDED"', { status: "SUCCEEDED" }, "succeeded"],
    ["200", { status: 200 }, "succeeded"],
    ["299", { status: 299 }, "succeeded"],
    ["500", { status: 500 }, "failed"],
    ['"failed"', { status: "failed" }, "failed"],
    ['"error"', { status: "error" }, "failed"],
    ['"200" (a string)', { status: "200" }, "failed"],
    ['"whatever"', { status: "whatever" }, "failed"],
    ["true", { status: true }, "failed"],
    ["an error key with a success status", { status: "succeeded", error: "boom" }, "failed"],
    ["0 (falsy: unchanged)", { status: 0 }, "running"],
    ['"" (falsy: unchanged)', { status: "" }, "running"],
    ["false (falsy: unchanged)", { status: false }, "running"],
    ["0 with an error key (the error key wins)", { status: 0, error: "boom" }, "failed"],
  ];
  for (const [what, body, state] of outcomes) {
    test(`status ${what} → ${state}`, async () => {
      const { id, signature } = await newTask();
      await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
      assertSuccess(await post(id, signature, body), HIDDEN);
      const task = await klms.getTask(id);
      assert.equal(task.exec_state, state);
      assert.equal(task.end_date === null, state === "running");
    });
  }

  test("an output to a created task (input never read) is accepted", async () => {
    const { id, signature } = await newTask();
    assertSuccess(await post(id, signature, { status: "failed", error: "no input", message: "gave up" }));
    const task = await klms.getTask(id);
    assert.equal(task.exec_state, "failed");
    assert.equal((await klms.getOutcome(id)).error, "no input");
    assert.equal(task.messages, "gave up");
  });

  test("output wins over outputs", async () => {
    const { id, signature } = await newTask();
    const body = {
      status: "succeeded",
      output: { report: "s3://a/1" },
      outputs: { report: "s3://a/2", table: "s3://a/3" },
    };
    assertSuccess(await post(id, signature, body));
    assert.deepEqual((await klms.getOutcome(id)).output, { report: "s3://a/1" });
  });

  test("outputs is used when output is absent", async () => {
    const { id, signature } = await newTask();
    assertSuccess(await post(id, signature, { status: "succeeded", outputs: { table: "s3://a/3" } }));
    assert.deepEqual((await klms.getOutcome(id)).output, { table: "s3://a/3" });
  });

  test("409 after succeeded or failed, with the platform's message", async () => {
    for (const status of ["succeeded", "failed"]) {
      const { id, signature } = await newTask();
      assertSuccess(await post(id, signature, { status }));
      const reply = await post(id, signature, { status: "succeeded" });
      assertError(reply, 409, "ConflictError", `Task '${id}' is terminated and no further updates are allowed.`);
      assert.equal(reply.body.help, `${klms.apiUrl}/api/v2/task/${id}/${signature}/output`);
      assert.equal((await klms.getTask(id)).exec_state, status);
    }
  });

  test('a user tag "log": every output POST is the platform\'s 500 (task_tag primary key), the state stays', async () => {
    const { id, signature } = await newTask({ ...SPEC, tags: { log: "mine" } });
    for (let i = 0; i < 2; i++) {
      const reply = await post(id, signature, { status: "succeeded", message: "done", metrics: { n: 1 } });
      assertError(
        reply,
        500,
        "InternalException",
        "ValueError('Internal Error: bad backend', 'Error in executing SQL command')",
      );
      assert.equal(reply.body.error?.detail.hint, 'the tag "log" is reserved by the platform (log): rename it');
    }
    const record = await klms.getTask(id);
    assert.equal(record.exec_state, "created");
    assert.deepEqual(record.tags, { log: "mine" });
  });

  test("the plural output route works too", async () => {
    const { id, signature } = await newTask();
    const reply = await call(klms.apiUrl, "POST", `/api/v2/tasks/${id}/${signature}/output`, { body: { status: 200 } });
    assertSuccess(reply, HIDDEN);
    assert.equal((await klms.getTask(id)).exec_state, "succeeded");
  });

  test("terminate leaves an external task alone (200, state unchanged), as the platform does", async () => {
    const { id, signature } = await newTask();
    await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    const reply = await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token });
    assert.equal(assertSuccess(reply), null);
    assert.equal((await klms.getTask(id)).exec_state, "running");
  });

  test("terminate fails a task with a Job; a second terminate and a late output get 409", async () => {
    const { id, signature } = await newTask({ image: "me/tool:1" });
    await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    assertSuccess(await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token }));
    assert.equal((await klms.getTask(id)).exec_state, "failed");
    assertError(
      await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token }),
      409,
      "ConflictError",
      `Task '${id}' is already terminated or in a state that does not allow manual termination.`,
    );
    assertError(await post(id, signature, { status: "succeeded" }), 409, "ConflictError");
  });
});

describe("output validation", () => {
  const invalid: Array<[string, unknown, Record<string, unknown>]> = [
    ["missing status", { message: "x" }, { status: ["Missing data for required field."] }],
    ["empty object", {}, { status: ["Missing data for required field."] }],
    ["status 1.5", { status: 1.5 }, { status: [/string or an integer/] }],
    ["status null", { status: null }, { status: [/string or an integer/] }],
    ["unknown key", { status: "succeeded", foo: 1 }, { foo: ["Unknown field."] }],
    [
      "v1 wrapper",
      { task_exec_id: "x", output_json: {} },
      {
        task_exec_id: ["Unknown field."],
        output_json: ["Unknown field."],
        status: ["Missing data for required field."],
      },
    ],
    ["output value a list", { status: "succeeded", output: { a: ["s3://a"] } }, { "output.a": [/path string/] }],
    ["output null", { status: "succeeded", output: null }, { output: [/must be an object/] }],
    ["metrics a list", { status: "succeeded", metrics: [1] }, { metrics: [/must be an object/] }],
    ["message a number", { status: "succeeded", message: 1 }, { message: [/must be a string/] }],
    ["error an object", { status: "failed", error: { a: 1 } }, { error: [/must be a string/] }],
    ["a list body", [1], { _schema: ["Invalid input type."] }],
  ];
  for (const [what, body, detail] of invalid) {
    test(`422 on ${what}`, async () => {
      const { id, signature } = await newTask();
      const reply = await post(id, signature, body);
      assertError(reply, 422, "_ValidationError", "Validation error");
      const fields = reply.body.error?.detail.json as Record<string, string[]>;
      assert.deepEqual(Object.keys(fields).sort(), Object.keys(detail).sort(), reply.text);
      for (const [field, messages] of Object.entries(detail)) {
        (messages as Array<string | RegExp>).forEach((m, i) => {
          if (typeof m === "string") assert.equal(fields[field]?.[i], m);
          else assert.match(fields[field]?.[i] ?? "", m);
        });
      }
      assert.equal((await klms.getTask(id)).exec_state, "created");
    });
  }

  test("a non-JSON content type counts as a missing body → 422 status missing", async () => {
    const { id, signature } = await newTask();
    const reply = await post(id, signature, undefined, { raw: '{"status":"succeeded"}', contentType: "text/plain" });
    assertError(reply, 422, "_ValidationError");
    assert.deepEqual(reply.body.error?.detail, { json: { status: ["Missing data for required field."] } });
  });

  test("application/<x>+json is JSON", async () => {
    const { id, signature } = await newTask();
    const reply = await post(id, signature, undefined, {
      raw: '{"status":"succeeded"}',
      contentType: "application/vnd.x+json",
    });
    assertSuccess(reply);
  });

  test("400 on unparsable JSON", async () => {
    const { id, signature } = await newTask();
    assertError(await post(id, signature, undefined, { raw: '{"status": ' }), 400, "HTTPError", "Bad Request");
  });

  test("403 on a wrong signature, after validation and the 404", async () => {
    const { id } = await newTask();
    const reply = await post(id, "c".repeat(64), { status: "succeeded" });
    assertError(reply, 403, "AuthorizationError", "Invalid Task Signature. Access Denied.");
    // Validation runs before the handler: an invalid body gets 422 even with a wrong signature.
    assertError(await post(id, "c".repeat(64), {}), 422, "_ValidationError");
    assert.equal((await klms.getTask(id)).exec_state, "created");
  });
});

describe("seed-era v1 output route", () => {
  const v1 = (id: string, body: unknown, token = klms.token) =>
    call(klms.apiUrl, "POST", `/api/v1/task/${id}/output`, { token, body });

  test("takes {task_exec_id, output_json} with a token", async () => {
    const { id } = await newTask();
    const reply = await v1(id, {
      task_exec_id: id,
      output_json: { status: "succeeded", output: { report: "s3://x/y" } },
    });
    assertSuccess(reply, HIDDEN);
    const task = await klms.getTask(id);
    assert.equal(task.exec_state, "succeeded");
    assert.deepEqual((await klms.getOutcome(id)).output, { report: "s3://x/y" });
    assertError(await v1(id, { task_exec_id: id, output_json: { status: "failed" } }), 409, "ConflictError");
  });

  const invalid: Array<[string, (id: string) => unknown]> = [
    ["no output_json", (id) => ({ task_exec_id: id })],
    ["another task id", () => ({ task_exec_id: "other", output_json: { status: "succeeded" } })],
    ["an invalid output_json", (id) => ({ task_exec_id: id, output_json: { message: "no status" } })],
  ];
  for (const [what, body] of invalid) {
    test(`422 with ${what}`, async () => {
      const { id } = await newTask();
      assertError(await v1(id, body(id)), 422, "_ValidationError");
    });
  }
});

describe("logs and jobs", () => {
  test("an external task has no pods: logs {}, jobs says so", async () => {
    const { id } = await newTask();
    const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/logs`, { token: klms.token });
    assert.deepEqual(assertSuccess(reply), {});
    const jobs = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/jobs`, { token: klms.token });
    assert.deepEqual(assertSuccess(jobs), { message: "No logs available for the specified task execution" });
  });
});

describe("listing, status, deletion", () => {
  test("GET /tasks: ids by state, null when none; limit/offset with a state", async () => {
    const own = await startLocalKlms({ objectStore: false, quiet: true });
    try {
      const list = (query = "") => call(own.apiUrl, "GET", `/api/v2/tasks${query}`, { token: own.token });
      assert.equal(assertSuccess(await list()), null);
      const spec = { process_id: own.processId, name: "l", datasets: {}, inputs: {}, outputs: {} };
      const a = await own.createTask(spec);
      const b = await own.createTask(spec);
      await call(own.apiUrl, "POST", `/api/v2/task/${b.id}/${b.signature}/output`, { body: { status: "failed" } });
      assert.deepEqual(assertSuccess(await list()), { created: [a.id], failed: [b.id] });
      assert.deepEqual(assertSuccess(await list("?state=failed&limit=100&offset=0")), { failed: [b.id] });
      assert.equal(assertSuccess(await list("?state=failed&offset=1")), null);
      assert.equal(assertSuccess(await list("?state=running")), null);
      const bad = await list("?state=done&limit=-1");
      assertError(bad, 422, "_ValidationError", "Validation error");
      assert.deepEqual(bad.body.error?.detail, {
        query: {
          limit: ["Must be greater than or equal to 0."],
          state: ["Must be one of: created, running, succeeded, failed."],
        },
      });

      const status = await call(own.apiUrl, "POST", "/api/v2/tasks/status", {
        token: own.token,
        body: { identifiers: [own.processId, "not-a-uuid", SECRET_FREE_UUID] },
      });
      assert.deepEqual(assertSuccess(status), {
        [own.processId]: { failed: 1, running: 0, succeeded: 0 },
        [SECRET_FREE_UUID]: { failed: 0, running: 0, succeeded: 0 },
      });
      const empty = await call(own.apiUrl, "POST", "/api/v2/tasks/status", {
        token: own.token,
        body: { identifiers: [] },
      });
      assert.deepEqual(empty.body.error?.detail, { json: { identifiers: ["Shorter than minimum length 1."] } });

      const del = (id: string) => call(own.apiUrl, "DELETE", `/api/v2/task/${id}`, { token: own.token });
      assertError(await del(a.id), 409, "ConflictError", "Cannot delete a non terminated task.");
      assert.deepEqual(assertSuccess(await del(b.id)), { id: b.id });
      assertError(await del(b.id), 404, "NotFoundError", "");
      assert.deepEqual(assertSuccess(await list()), { created: [a.id] });
    } finally {
      await own.stop();
    }
  });
});
