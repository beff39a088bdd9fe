import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { issueDevToken, type LocalKlms, signatureOf, startLocalKlms } from "../src/index.js";
import { assertError, assertSuccess, call } from "./helpers.js";

const SECRET = "api-test-secret";
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
  outputs: { report: "s3://klms-bucket/out/report.csv", table: { url: "s3://klms-bucket/out/table.csv" } },
  parameters: { n: "123", ratio: "0.5", none: "None", date: "2023-06-12", list: "[1,2]", kept: 7 },
  secrets: { api_key: "s3cr3t-value" },
};

async function newTask(spec: Record<string, unknown> = SPEC) {
  const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, body: spec });
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

  test("a task with a tool or an image gets a job id", async () => {
    for (const extra of [{ tool: "my-tool" }, { image: "me/tool:1" }]) {
      const created = await newTask({ ...SPEC, ...extra });
      assert.notEqual(created.job_id, "__external__");
    }
  });

  test("createTask() follows the same rules", async () => {
    const created = await klms.createTask({ name: "x", outputs: { o: "s3://klms-bucket/o" } });
    assert.equal(created.job_id, "__external__");
    assert.equal(created.signature, signatureOf(created.id, SECRET));
    assert.equal((await klms.getTask(created.id)).exec_state, "created");
    await assert.rejects(klms.createTask({ inputs: { g: "s3://x/y" } as never }), /invalid task spec.*inputs\.g/);
  });

  const invalid: Array<[string, unknown, string]> = [
    ["inputs group not a list", { inputs: { g: "s3://b/k" } }, "inputs.g"],
    ["input item not a URL", { inputs: { g: ["a-resource-id"] } }, "inputs.g"],
    ["output without url", { outputs: { o: { dataset: "d" } } }, "outputs.o"],
    ["parameters not an object", { parameters: [1] }, "parameters"],
    ["unknown field", { foo: 1 }, "foo"],
    ["name not a string", { name: 5 }, "name"],
  ];
  for (const [what, spec, field] of invalid) {
    test(`422 on ${what}`, async () => {
      const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, body: spec });
      assertError(reply, 422, "_ValidationError", "Validation error");
      assert.ok(field in ((reply.body.error?.detail.json as Record<string, unknown>) ?? {}), reply.text);
    });
  }

  test("400 on unparsable JSON", async () => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, raw: "{oops" });
    assertError(reply, 400, "BadRequest");
  });

  test("422 without a JSON body", async () => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
      token: klms.token,
      raw: "name=x",
      contentType: "text/plain",
    });
    assertError(reply, 422, "_ValidationError");
    assert.deepEqual(Object.keys(reply.body.error?.detail.json as object), ["_schema"]);
  });
});

describe("authentication (token routes)", () => {
  const expired = () => `Bearer ${issueDevToken(SECRET, -60)}`;
  const foreign = () => `Bearer ${issueDevToken("another-secret")}`;
  const cases: Array<[string, () => string | undefined, string]> = [
    ["no Authorization header", () => undefined, "Bearer Token is missing"],
    ["one part", () => klms.token.split(" ")[1], "Authorization headers are missing or malformed"],
    ["three parts", () => `${klms.token} extra`, "Authorization headers are missing or malformed"],
    ["scheme not Bearer", () => `Token ${klms.token.split(" ")[1]}`, "Authorization headers are missing or malformed"],
    ["not a JWT", () => "Bearer not-a-jwt", "Bearer Token could not be verified"],
    ["signed with another secret", foreign, "Bearer Token could not be verified"],
    ["tampered payload", () => tamper(klms.token), "Bearer Token could not be verified"],
    ["expired", expired, "Token is invalid or expired"],
  ];
  for (const [what, token, message] of cases) {
    test(`401 with ${what}`, async () => {
      const { id, signature } = await newTask();
      const routes: Array<[string, string]> = [
        ["POST", "/api/v2/task"],
        ["GET", `/api/v2/task/${id}`],
        ["GET", `/api/v2/task/${id}/signature`],
        ["GET", `/api/v2/task/${id}/input`],
        ["GET", `/api/v2/task/${id}/${signature}/input`],
        ["GET", `/api/v2/tasks/${id}/${signature}/input`],
        ["GET", `/api/v2/task/${id}/logs`],
        ["POST", `/api/v2/task/${id}/terminate`],
        ["GET", `/api/v1/task/${id}/input`],
        ["POST", `/api/v1/task/${id}/output`],
      ];
      for (const [method, path] of routes) {
        const reply = await call(klms.apiUrl, method, path, {
          token: token(),
          body: method === "POST" ? {} : undefined,
        });
        assertError(reply, 401, "AuthenticationError", message);
        assert.equal(reply.body.help, klms.apiUrl + path);
      }
      // Authentication comes before anything else: the task is untouched.
      assert.equal((await klms.getTask(id)).exec_state, "created");
    });
  }

  test("the output POST needs no token: the signature is the credential", async () => {
    const { id, signature } = await newTask();
    assertSuccess(await post(id, signature, { status: "succeeded" }), HIDDEN);
  });
});

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
    ["GET", `/api/v2/task/${missing}/signature`, undefined],
    ["GET", `/api/v2/task/${missing}/input`, undefined],
    ["GET", `/api/v2/task/${missing}/${"a".repeat(64)}/input`, undefined],
    ["GET", `/api/v2/task/${missing}/logs`, undefined],
    ["POST", `/api/v2/task/${missing}/terminate`, undefined],
    ["POST", `/api/v2/task/${missing}/${"a".repeat(64)}/output`, { status: "succeeded" }],
    ["GET", `/api/v1/task/${missing}/input`, undefined],
    ["POST", `/api/v1/task/${missing}/output`, { task_exec_id: missing, output_json: { status: "succeeded" } }],
  ];
  for (const [method, path, body] of cases) {
    test(`404 on ${method} ${path.replace(missing, "<unknown>")}`, async () => {
      const reply = await call(klms.apiUrl, method, path, { token: klms.token, body });
      assertError(reply, 404, "NotFoundError");
      assert.equal(reply.body.help, klms.apiUrl + path);
    });
  }

  test("404 envelope on a route that does not exist", async () => {
    assertError(await call(klms.apiUrl, "GET", "/api/v2/nothing", { token: klms.token }), 404, "NotFound");
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
    const { id, signature } = await newTask({ name: "no-secrets" });
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
    assert.equal(typeof task.end_date, "string");
    assert.equal(task.messages, "done");
    // Only the keys the task declared, with the path the tool posted.
    assert.deepEqual(task.outputs, { report: { url: "s3://klms-bucket/elsewhere/report.csv" } });
    assert.deepEqual(task.metrics, body.metrics);
    assert.deepEqual(await klms.getTask(id), task);
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
    assert.equal(task.error, "no input");
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
    assert.deepEqual((await klms.getTask(id)).outputs, { report: { url: "s3://a/1" } });
  });

  test("outputs is used when output is absent", async () => {
    const { id, signature } = await newTask();
    assertSuccess(await post(id, signature, { status: "succeeded", outputs: { table: "s3://a/3" } }));
    assert.deepEqual((await klms.getTask(id)).outputs, { table: { url: "s3://a/3" } });
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

  test("the plural output route works too", async () => {
    const { id, signature } = await newTask();
    const reply = await call(klms.apiUrl, "POST", `/api/v2/tasks/${id}/${signature}/output`, { body: { status: 200 } });
    assertSuccess(reply, HIDDEN);
    assert.equal((await klms.getTask(id)).exec_state, "succeeded");
  });

  test("terminate fails a running task; a second terminate and a late output get 409", async () => {
    const { id, signature } = await newTask();
    await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    assertSuccess(await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token }));
    assert.equal((await klms.getTask(id)).exec_state, "failed");
    assertError(
      await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token }),
      409,
      "ConflictError",
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
    assertError(await post(id, signature, undefined, { raw: '{"status": ' }), 400, "BadRequest");
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
    assert.deepEqual(task.outputs, { report: { url: "s3://x/y" } });
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

describe("logs", () => {
  test("an external task has empty logs", async () => {
    const { id } = await newTask();
    const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/logs`, { token: klms.token });
    assert.equal(assertSuccess(reply), "");
  });
});
