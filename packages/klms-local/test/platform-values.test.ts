/**
 * Values that go through the platform's Python, over HTTP: parameters (jsonb, `ast.literal_eval`,
 * Flask's JSON), secrets (a text column), the `re.match` semantics of the task spec's patterns,
 * marshmallow's null messages, and the MinIO credentials a pod may print (masked in its logs).
 * Expected values are the platform's, computed with Python 3.11 as noted per table.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type LocalKlms, startLocalKlms } from "../src/index.js";
import { pyMatch } from "../src/py-regex.js";
import { dumpsJson } from "../src/python-json.js";
import { isPythonUuid } from "../src/schema.js";
import { canonicalUuid, INPUT_PATTERNS } from "../src/task-spec.js";
import { parametersOf, TaskStore } from "../src/tasks.js";
import { assertError, assertSuccess, call, type Reply } from "./helpers.js";

let klms: LocalKlms;
before(async () => {
  klms = await startLocalKlms({ objectStore: false, quiet: true });
});
after(async () => {
  await klms.stop();
});

/** POSTs a task spec written as JSON text (numbers exactly as the client wrote them). */
function createRaw(fields: string): Promise<Reply> {
  const raw = `{"process_id":"${klms.processId}","name":"pv","datasets":{},"inputs":{},"outputs":{}${fields}}`;
  return call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, raw });
}

async function created(fields: string): Promise<{ id: string; signature: string }> {
  return assertSuccess(await createRaw(fields)) as { id: string; signature: string };
}

/** A GET whose reply is kept as text only (the platform writes `Infinity`, which JSON.parse refuses). */
async function getText(path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(klms.apiUrl + path, { headers: { authorization: klms.token } });
  return { status: response.status, text: await response.text() };
}

const inputOf = (id: string, signature: string) =>
  call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
const recordOf = (id: string) => call(klms.apiUrl, "GET", `/api/v2/task/${id}`, { token: klms.token });

describe("parameters round trip as on the platform (json.dumps into jsonb, literal_eval, Flask JSON)", () => {
  // Sent as JSON text → what the platform's input GET and task GET write. Computed with Python
  // 3.11: json.loads, json.dumps, PostgreSQL jsonb (numeric: no exponent, no -0), json.loads,
  // ast.literal_eval on strings, json.dumps(sort_keys=True, separators=(",", ":")).
  const TABLE: Array<[string, string]> = [
    ['"1.0"', "1.0"],
    ['"1e5"', "100000.0"],
    ["2.0", "2.0"],
    ["1e5", "100000.0"],
    ['"-0.0"', "-0.0"],
    ["-0.0", "0.0"],
    [`"'''abc'''"`, '"abc"'],
    ['"1e999"', "Infinity"],
    ['"-1e999"', "-Infinity"],
    ['"1e16"', "1e+16"],
    ["1e16", "10000000000000000"],
    ['"1e-5"', "1e-05"],
    ["1e-5", "1e-05"],
    ['"12345678901234567890"', "12345678901234567890"],
    ["12345678901234567890", "12345678901234567890"],
    ['{"x":[1.0,2,"3.0"]}', '{"x":[1.0,2,"3.0"]}'],
    ['"[1.0, (2,)]"', "[1.0,[2]]"],
    ['"10"', "10"],
    ['"null"', '"null"'],
    ['"\\u00e9"', '"\\u00e9"'],
  ];
  const names = TABLE.map((_, i) => `p${String(i).padStart(2, "0")}`);
  const sent = TABLE.map(([text], i) => `"${names[i]}":${text}`).join(",");
  const expected = `"parameters":{${TABLE.map(([, out], i) => `"${names[i]}":${out}`).join(",")}}`;

  test("the input GET and the task GET write each value as the platform does", async () => {
    const { id, signature } = await created(`,"parameters":{${sent}}`);
    for (const path of [`/api/v2/task/${id}/${signature}/input`, `/api/v2/task/${id}`]) {
      const reply = await getText(path);
      assert.equal(reply.status, 200, reply.text);
      assert.ok(reply.text.includes(expected), `${reply.text}\n  expected ${expected}`);
    }
  });

  // Python's json.dumps raises TypeError on these: Flask answers its 500 after the handler returned.
  for (const value of ['"1+2j"', '"{1,2}"', '"b\\"x\\""', '"..."', '"[1, 2j]"']) {
    test(`a parameter ${value}: the input GET and the task GET answer Flask's 500`, async () => {
      const { id, signature } = await created(`,"parameters":{"p":${value}}`);
      for (const reply of [await inputOf(id, signature), await recordOf(id)]) {
        assertError(reply, 500, "HTTPError", "Internal Server Error");
        assert.deepEqual(reply.body.error?.detail, {});
      }
    });
  }

  test("a JSON number jsonb cannot hold (1e999 is a float inf in Python): the creation's SQL 500", async () => {
    const reply = await createRaw(`,"parameters":{"p":[1e999]}`);
    assertError(
      reply,
      500,
      "InternalException",
      "ValueError('Internal Error: bad backend', 'Error in executing SQL command')",
    );
  });

  test("the JavaScript API gives plain numbers back (floats as numbers, big ints as BigInt)", async () => {
    const { id } = await created(`,"parameters":{"a":"1.0","b":"12345678901234567890"}`);
    assert.deepEqual((await klms.getTask(id)).parameters, { a: 1, b: 12345678901234567890n });
  });
});

describe("metrics as the platform's jsonb rows and literal_eval return them", () => {
  test("a posted 1.0 stays a float, a string '1.0' becomes one, an int stays an int", async () => {
    const { id, signature } = await created("");
    const raw = '{"status":"succeeded","output":{},"metrics":{"a":1.0,"b":"1.0","c":2,"d":"x","e":1e16}}';
    assertSuccess(await call(klms.apiUrl, "POST", `/api/v2/task/${id}/${signature}/output`, { raw }));
    const reply = await getText(`/api/v2/task/${id}`);
    assert.equal(reply.status, 200, reply.text);
    const want = '"metrics":{"a":1.0,"b":1.0,"c":2,"d":"x","e":10000000000000000}';
    assert.ok(reply.text.includes(want), reply.text);
  });
});

describe("secrets as the platform's text column returns them", () => {
  // psycopg2 binds the JSON value, PostgreSQL casts it to text (int digits, float repr read as
  // numeric, bool true/false, None NULL).
  test("a big int keeps its digits, null stays null, floats and bools are text", async () => {
    const { id, signature } = await created(
      ',"secrets":{"big":12345678901234567890,"nul":null,"f":2.0,"e":1e16,"g":1e-5,"b":true,"s":"x"}',
    );
    const input = await inputOf(id, signature);
    assertSuccess(input);
    const want =
      '"secrets":{"b":"true","big":"12345678901234567890","e":"10000000000000000","f":"2.0","g":"0.00001","nul":null,"s":"x"}';
    assert.ok(input.text.includes(want), input.text);
  });
});

describe("task spec patterns use Python's re.match: `$` also matches before a final newline", () => {
  const uuid = "6c48d6af-0584-48b0-b36e-7836b357af9d";
  const TABLE: Array<[RegExp, string, boolean]> = [
    [INPUT_PATTERNS.s3, "s3://klms-bucket/k\n", true],
    [INPUT_PATTERNS.s3, "s3://klms-bucket/k\n\n", false],
    [INPUT_PATTERNS.s3, "s3://klms-bucket/k \n", false],
    [INPUT_PATTERNS.ctx, "ctx\n", true],
    [INPUT_PATTERNS.ctx, "ctx::owned\n", true],
    [INPUT_PATTERNS.uuid, `${uuid}\n`, true],
    [INPUT_PATTERNS.datasetRef, "d0\n", true],
    [INPUT_PATTERNS.datasetRef, "d0\r", false],
    [/^[a-z0-9_-]+$/, "newds\n", true],
  ];
  for (const [pattern, text, matches] of TABLE) {
    test(`${pattern} on ${JSON.stringify(text)}: ${matches}`, () => {
      assert.equal(pyMatch(pattern, text) !== null, matches);
    });
  }
  test("Python's \\s: \\x1c is white space (a path with it is refused), \\ufeff is not", () => {
    assert.equal(pyMatch(INPUT_PATTERNS.s3, "s3://b/k\x1c"), null);
    assert.notEqual(pyMatch(INPUT_PATTERNS.s3, "s3://b/k\ufeff"), null);
  });

  // Downstream as parse_inputs does it: an s3 path passes is_valid_url and is stored as given;
  // "ctx\n", a UUID + "\n" and "d0\n" match no branch there and are dropped silently.
  test("accepted by POST /task; the s3 path is stored with its newline, the others are dropped", async () => {
    const inputs = `{"a":["s3://klms-bucket/k\\n"],"b":["ctx\\n"],"c":["${uuid}\\n"],"d":["d0\\n"]}`;
    const raw = `{"process_id":"${klms.processId}","name":"nl","datasets":{"d0":{"name":"newds\\n","owner_org":"stelar-klms"}},"inputs":${inputs},"outputs":{}}`;
    const { id, signature } = assertSuccess(
      await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, raw }),
    ) as { id: string; signature: string };
    assert.deepEqual((assertSuccess(await recordOf(id)) as { inputs: unknown }).inputs, {
      a: ["s3://klms-bucket/k\n"],
    });
    const input = assertSuccess(await inputOf(id, signature)) as { input: unknown };
    assert.deepEqual(input.input, { a: ["s3://klms-bucket/k\n"] });
  });
});

describe("marshmallow's null handling, field by field (allow_none false unless declared)", () => {
  const NULL = ["Field may not be null."];
  // field sent as null → detail.json (TaskSchema, tasks.py:124-151; TaskDatasetDictSchema :111-119).
  const TABLE: Array<[string, string, Record<string, unknown> | null]> = [
    ["tags value", ',"tags":{"a":null}', { tags: { a: { value: NULL } } }],
    ["tags", ',"tags":null', null],
    ["parameters", ',"parameters":null', null],
    ["secrets", ',"secrets":null', null],
    ["a parameter", ',"parameters":{"a":null}', null],
    ["tool", ',"tool":null', { tool: NULL }],
    ["image", ',"image":null', { image: NULL }],
    ["exec_state", ',"exec_state":null', { exec_state: NULL }],
  ];
  for (const [what, fields, detail] of TABLE) {
    test(`${what}: ${detail === null ? "accepted" : "Field may not be null."}`, async () => {
      const reply = await createRaw(fields);
      if (detail === null) assertSuccess(reply);
      else {
        assertError(reply, 422, "_ValidationError", "Validation error");
        assert.deepEqual(reply.body.error?.detail, { json: detail });
      }
    });
  }
  test("name and process_id null; a dataset dict's name null", async () => {
    const raw = '{"process_id":null,"name":null,"datasets":{},"inputs":{},"outputs":{}}';
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, raw });
    assert.deepEqual(reply.body.error?.detail, { json: { name: NULL, process_id: NULL } });
    const ds = await createRaw("").then(() =>
      call(klms.apiUrl, "POST", "/api/v2/task", {
        token: klms.token,
        raw: `{"process_id":"${klms.processId}","name":"n","datasets":{"d0":{"name":null,"owner_org":"o"}},"inputs":{},"outputs":{}}`,
      }),
    );
    assert.deepEqual(ds.body.error?.detail, { json: { "datasets.d0": { name: NULL } } });
  });
  test("a list item null (POST /tasks/status identifiers)", async () => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/tasks/status", {
      token: klms.token,
      raw: '{"identifiers":[null]}',
    });
    assertError(reply, 422, "_ValidationError", "Validation error");
    assert.deepEqual(reply.body.error?.detail, { json: { identifiers: { 0: NULL } } });
  });
});

describe("pod logs never show the MinIO credentials the task input handed out", () => {
  let store: LocalKlms;
  before(async () => {
    const echo = fileURLToPath(new URL("./fixtures/echo-input.mjs", import.meta.url));
    store = await startLocalKlms({ quiet: true, runner: { command: [process.execPath, echo] } });
  });
  after(async () => {
    await store.stop();
  });

  test("the log file, /logs, /jobs and the console show *** for minio.id, key and skey", async () => {
    const { id } = await store.createTask({
      process_id: store.processId,
      name: "echo",
      image: "echo:1",
      datasets: {},
      inputs: {},
      outputs: {},
    });
    // Polls until the Job is complete (a guard against hanging, not a timing assertion).
    for (let i = 0; i < 3000 && store.job(id)?.condition === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(store.job(id)?.condition, "Complete");
    const logs = assertSuccess(await call(store.apiUrl, "GET", `/api/v2/task/${id}/logs`, { token: store.token }));
    const [text] = Object.values(logs as Record<string, string>);
    const minio = JSON.parse(/^input: (.*)$/m.exec(text ?? "")?.[1] ?? "{}").result?.minio;
    assert.deepEqual([minio?.id, minio?.key, minio?.skey], ["***", "***", "***"], text);
    assert.match(minio?.endpoint_url ?? "", /^https?:\/\/127\.0\.0\.1:\d+/);
    const jobs = assertSuccess(await call(store.apiUrl, "GET", `/api/v2/task/${id}/jobs`, { token: store.token }));
    assert.deepEqual(
      Object.values(jobs as Record<string, { logs: string }>).map((p) => p.logs),
      [text],
    );
    const dir = join(store.dataDir, "logs", id);
    const files = readdirSync(dir).filter((f) => f.endsWith(".log"));
    assert.equal(files.length, 1);
    assert.equal(readFileSync(join(dir, files[0] as string), "utf8"), text);
    const page = await (await fetch(`${store.apiUrl}/console/task/${id}`)).text();
    assert.ok(page.includes("&#34;key&#34;:&#34;***&#34;,&#34;skey&#34;:&#34;***&#34;"), page);
  });
});

describe("UUIDs as Python's uuid.UUID reads them (marshmallow's fields.UUID)", () => {
  // Python 3.11: str(uuid.UUID(s)), or None where it raises ValueError.
  const TABLE: Array<[string, string | null]> = [
    [" 6c48d6af-0584-58b0-b36e-7836b357af9d", null],
    ["{{6c48d6af-0584-58b0-b36e-7836b357af9d}}", "6c48d6af-0584-58b0-b36e-7836b357af9d"],
    ["URN:UUID:6c48d6af-0584-58b0-b36e-7836b357af9d", null],
    ["urn:uuid:6C48D6AF058458B0B36E7836B357AF9D", "6c48d6af-0584-58b0-b36e-7836b357af9d"],
    ["6c48d6af-0584-58b0-b36e-7836b357af9d\n", null],
    ["+c48d6af058458b0b36e7836b357af9d", "0c48d6af-0584-58b0-b36e-7836b357af9d"],
    ["0x48d6af058458b0b36e7836b357af9d", "0048d6af-0584-58b0-b36e-7836b357af9d"],
    ["6c48_6af058458b0b36e7836b357af9d", "06c486af-0584-58b0-b36e-7836b357af9d"],
    [" c48d6af058458b0b36e7836b357af9d", "0c48d6af-0584-58b0-b36e-7836b357af9d"],
    ["uuid:6c48d6af-0584-58b0-b36e-7836b357af9d", "6c48d6af-0584-58b0-b36e-7836b357af9d"],
    ["6c48d6af-0584-58b0-b36e-7836b357af9d-", "6c48d6af-0584-58b0-b36e-7836b357af9d"],
  ];
  for (const [text, expected] of TABLE) {
    test(`${JSON.stringify(text)} → ${expected}`, () => {
      assert.equal(isPythonUuid(text), expected !== null);
      if (expected !== null) assert.equal(canonicalUuid(text), expected);
    });
  }
});

test("a task file of an earlier version (parameter values under `parameters`) is read as rows", () => {
  const dir = mkdtempSync(join(tmpdir(), "klms-pv-"));
  try {
    const id = "0a1b2c3d-0000-4000-8000-000000000001";
    mkdirSync(join(dir, "tasks"), { recursive: true });
    const old = {
      id,
      process_id: "6c48d6af-0584-58b0-b36e-7836b357af9d",
      exec_state: "created",
      inputs: {},
      outputs: {},
      registered: {},
      parameters: { n: "5", x: 0.5, s: "text" },
    };
    writeFileSync(join(dir, "tasks", `${id}.json`), JSON.stringify(old));
    const task = new TaskStore(dir, () => undefined).get(id);
    assert.deepEqual(task.parameter_rows, { n: '"5"', s: '"text"', x: "0.5" });
    assert.equal(dumpsJson(parametersOf(task)), '{"n":5,"s":"text","x":0.5}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
