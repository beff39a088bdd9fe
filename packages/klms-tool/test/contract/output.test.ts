import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkTaskOutput, MetricsError, outcomeOf, stateOfStatus, toJsonSafe } from "../../src/contract/index.ts";
import { jsonDepth, MAX_JSON_DEPTH } from "../../src/contract/limits.ts";

describe("checkTaskOutput: the platform's Task_Output rules", () => {
  // From the contract (§1.4): what marshmallow accepted and rejected with the platform's fields.
  const accepted: [string, unknown, string][] = [
    ["the template's success object", { message: "ok", outputs: {}, metrics: {}, status: "success" }, "succeeded"],
    ["status 200 with an output", { status: 200, output: { a: "s3://b/k" } }, "succeeded"],
    ["nested metrics", { status: "succeeded", metrics: { a: { b: [1, 2, { c: null }] } } }, "succeeded"],
    ["a traceback in error with 500", { status: 500, error: "Traceback ...", message: "boom" }, "failed"],
    ["status true (a bool is an int)", { status: true }, "failed"],
    ["status 'failed'", { status: "failed", message: "x" }, "failed"],
    ["status 'error'", { status: "error" }, "failed"],
    ["status 'SUCCEEDED' (case-insensitive)", { status: "SUCCEEDED" }, "succeeded"],
    ["status '200' as a string: failed", { status: "200" }, "failed"],
    ["success status with an error key: failed", { status: "success", error: "" }, "failed"],
    ["status 299", { status: 299 }, "succeeded"],
    ["status 300", { status: 300 }, "failed"],
  ];
  for (const [name, body, state] of accepted) {
    test(`accepted: ${name}`, () => {
      const check = checkTaskOutput(body);
      assert.equal(check.valid, true, JSON.stringify(check.violations));
      assert.equal(check.state, state);
    });
  }

  const rejected: [string, unknown, RegExp][] = [
    ["status missing", { message: "x" }, /^status: missing/],
    ["status 1.5", { status: 1.5 }, /^status: must be a string or an integer, got a number/],
    ["status null", { status: null }, /^status: must be a string or an integer, got null/],
    ["status 0 (task left running)", { status: 0 }, /running forever/],
    ["status 0 is fine with an error key: failed", { status: 0, error: "x", message: 1 }, /^message: must be a string/],
    ["status '' (task left running)", { status: "" }, /running forever/],
    ["error as an object", { status: "failed", error: { a: 1 } }, /^error: must be a string, got an object/],
    ["message as a number", { status: "succeeded", message: 3 }, /^message: must be a string, got an integer/],
    [
      "an output value that is a list",
      { status: "succeeded", output: { a: ["s3://b/1"] } },
      /^output\.a: must be a path string, got a list \(one key per file/,
    ],
    [
      "an output value that is a number",
      { status: "succeeded", output: { a: 1 } },
      /^output\.a: must be a path string/,
    ],
    [
      "an output value that is null",
      { status: "succeeded", output: { a: null } },
      /^output\.a: must be a path string, got null/,
    ],
    ["output null", { status: "succeeded", output: null }, /^output: must be an object/],
    ["output as a list (v1)", { status: 200, output: [{ path: "s3://b/k", name: "n" }] }, /^output: must be an object/],
    ["metrics as a list", { status: "succeeded", metrics: [1] }, /^metrics: must be an object, got a list/],
    ["an unknown key", { status: "succeeded", foo: 1 }, /^foo: unknown key "foo"/],
    ["the v1 wrapper", { task_exec_id: "x", output_json: {} }, /unknown key "task_exec_id"/],
    ["null document", null, /must be a JSON object, got null/],
    ["a list document", [], /must be a JSON object, got a list/],
  ];
  for (const [name, body, message] of rejected) {
    test(`rejected: ${name}`, () => {
      const check = checkTaskOutput(body);
      assert.equal(check.valid, false);
      const errors = check.violations.filter((v) => v.severity === "error").map((v) => `${v.path}: ${v.message}`);
      assert.ok(
        errors.some((e) => message.test(e)),
        errors.join(" | "),
      );
    });
  }

  test("every violation is listed, not only the first", () => {
    const check = checkTaskOutput({ foo: 1, message: 2, output: { a: [] } });
    assert.equal(check.violations.filter((v) => v.severity === "error").length, 4);
  });

  test("warnings for accepted surprises", () => {
    const warnings = (b: unknown) =>
      checkTaskOutput(b)
        .violations.filter((v) => v.severity === "warning")
        .map((v) => v.path);
    assert.deepEqual(warnings({ status: "200" }), ["status"]);
    assert.deepEqual(warnings({ status: "ok" }), ["status"]);
    assert.deepEqual(warnings({ status: "succeeded", output: {}, outputs: {} }), ["outputs"]);
    assert.deepEqual(warnings({ status: "succeeded", error: "x" }), ["error"]);
    assert.deepEqual(warnings({ status: "succeeded" }), []);
  });
});

describe("the platform's parse_state", () => {
  const table: [unknown, string][] = [
    [200, "succeeded"],
    [201, "succeeded"],
    [500, "failed"],
    [199, "failed"],
    ["success", "succeeded"],
    ["succeeded", "succeeded"],
    ["Success", "succeeded"],
    ["failed", "failed"],
    ["error", "failed"],
    ["done", "failed"],
    ["200", "failed"],
    [0, "unchanged"],
    ["", "unchanged"],
    [false, "unchanged"],
    [true, "failed"],
  ];
  for (const [status, state] of table) {
    test(`${JSON.stringify(status)} → ${state}`, () => assert.equal(stateOfStatus(status), state));
  }
  test("an error key forces failed", () => {
    assert.equal(outcomeOf({ status: "succeeded", error: "" }), "failed");
    assert.equal(outcomeOf({ status: 0, error: "x" }), "failed");
    assert.equal(
      checkTaskOutput({ status: 0 }).violations[0]?.rejected,
      false,
      "the platform accepts it (and never finishes)",
    );
    assert.equal(checkTaskOutput({ status: 0, error: "x" }).valid, true);
  });
});

describe("toJsonSafe: metrics JSON can carry", () => {
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
  }
  const cases: [string, unknown, unknown][] = [
    ["NaN", Number.NaN, null],
    ["Infinity", Number.POSITIVE_INFINITY, null],
    ["-Infinity", Number.NEGATIVE_INFINITY, null],
    ["a safe BigInt", 42n, 42],
    ["a huge BigInt", 2n ** 80n, "1208925819614629174706176"],
    ["a Date", new Date("2026-01-02T03:04:05Z"), "2026-01-02T03:04:05.000Z"],
    ["an invalid Date", new Date("x"), null],
    [
      "a Map",
      new Map<unknown, unknown>([
        ["a", 1],
        [2, new Set([3])],
      ]),
      { a: 1, "2": [3] },
    ],
    ["a Set", new Set(["a", "b"]), ["a", "b"]],
    ["a Float64Array", new Float64Array([1.5, Number.NaN]), [1.5, null]],
    ["a BigInt64Array", new BigInt64Array([1n]), [1]],
    ["a class instance", new Point(1, 2), { x: 1, y: 2 }],
    ["an object with toJSON", { toJSON: () => "custom" }, "custom"],
    ["an Error", new RangeError("bad"), "RangeError: bad"],
    ["undefined in a list", [undefined], [null]],
    ["nested", { a: { b: [Number.NaN, 1n] } }, { a: { b: [null, 1] } }],
  ];
  for (const [name, value, expected] of cases) {
    test(name, () => assert.deepEqual(toJsonSafe({ m: value }), { m: expected }));
  }
  test("undefined fields are dropped", () => assert.deepEqual(toJsonSafe({ a: undefined, b: 1 }), { b: 1 }));
  test("the same object twice is not a cycle", () => {
    const shared = { v: 1 };
    assert.deepEqual(toJsonSafe({ a: shared, b: shared }), { a: { v: 1 }, b: { v: 1 } });
  });

  const rejected: [string, Record<string, unknown>, RegExp][] = [
    ["a function", { f: () => 1 }, /metrics\.f is a function/],
    ["a symbol", { s: Symbol("x") }, /metrics\.s is a symbol/],
    [
      "a cycle",
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return { o };
      })(),
      /metrics\.o\.self refers back to itself/,
    ],
  ];
  for (const [name, value, message] of rejected) {
    test(`rejected: ${name}`, () =>
      assert.throws(
        () => toJsonSafe(value),
        (e: unknown) => e instanceof MetricsError && message.test(e.message),
      ));
  }
  test("bounded in size, naming the largest metrics", () => {
    assert.throws(
      () => toJsonSafe({ big: "x".repeat(2000), small: 1 }, 1000),
      (e: unknown) => e instanceof MetricsError && /over the limit of 1000.*big \(2002 bytes\)/.test(e.message),
    );
  });
});

describe("JSON depth: what the platform's Python parser accepts", () => {
  const nested = (depth: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = { d: value };
    return value;
  };

  test("jsonDepth counts levels without recursion (100,000 deep)", () => {
    assert.equal(jsonDepth(1), 0);
    assert.equal(jsonDepth({ a: [1, { b: {} }] }), 4);
    assert.equal(jsonDepth(nested(100_000)), 100_000);
  });

  test(`checkTaskOutput accepts a document ${MAX_JSON_DEPTH} levels deep and refuses one level more`, () => {
    // The output is level 1, its metrics level 2.
    assert.equal(checkTaskOutput({ status: "succeeded", metrics: nested(MAX_JSON_DEPTH - 1) as object }).valid, true);
    const refused = checkTaskOutput({ status: "succeeded", metrics: nested(MAX_JSON_DEPTH) as object });
    assert.equal(refused.valid, false);
    assert.equal(refused.violations[0]?.path, "metrics");
    assert.match(refused.violations[0]?.message ?? "", /nested more than 500 levels deep: the platform's JSON parser/);
  });

  test("checkTaskOutput refuses metrics 2,000 and 100,000 deep without overflowing", () => {
    for (const depth of [2000, 100_000]) {
      const check = checkTaskOutput(
        JSON.parse(`{"status":"succeeded","metrics":{"m":${"[".repeat(depth)}${"]".repeat(depth)}}}`),
      );
      assert.equal(check.valid, false);
      assert.match(check.violations[0]?.message ?? "", /nested more than 500 levels deep/);
    }
  });

  test("toJsonSafe refuses metrics 100,000 deep with a MetricsError, not a stack overflow", () => {
    assert.throws(
      () => toJsonSafe({ deep: nested(100_000) }),
      (err: unknown) =>
        err instanceof MetricsError && /^metrics\.deep\.d\.d.*nested more than 500 levels deep/.test(err.message),
    );
    assert.deepEqual(toJsonSafe({ ok: nested(3) }), { ok: { d: { d: { d: 1 } } } });
  });
});
