import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { literalEval } from "../../klms-local/src/literal-eval.ts";
import { ParameterError, z } from "../../klms-tool/src/index.ts";
import { parseParameters } from "../../klms-tool/src/tool/parameters.ts";

describe("parseParameters: values the platform's literal_eval made from strings are written out where the schema asks for text", () => {
  const schema = z.object({
    name: z.string(),
    mode: z.enum(["True", "False", "auto"]).default("auto"),
    date_format: z.string().default("%m/%d/%Y"),
    threshold: z.number().default(0.5),
    header: z.boolean().default(true),
    nested: z.object({ id: z.string() }).optional(),
    either: z.union([z.string(), z.array(z.number())]).optional(),
  });
  // [sent by the user, as the tool receives it after literal_eval, what the tool gets]
  const table: [string, unknown, unknown][] = [
    ['"123" to a string', 123, "123"],
    ['"0.5" to a string', 0.5, "0.5"],
    ['"True" to a string', true, "True"],
    ['"False" to a string', false, "False"],
    ['"None" to a string', null, "None"],
    ['"1e5" to a string (the exponent is lost: literal_eval made it 100000.0)', 100000, "100000"],
    ["a string that stayed a string", "2023-06-12", "2023-06-12"],
  ];
  for (const [name, received, expected] of table) {
    test(name, () => {
      const { value, warnings } = parseParameters(schema, { name: received });
      assert.equal(value.name, expected);
      assert.equal(warnings.length, typeof received === "string" ? 0 : 1);
    });
  }
  test("an enum member that literal_eval turned into a boolean", () => {
    assert.equal(parseParameters(schema, { name: "x", mode: true }).value.mode, "True");
  });
  test("nested objects are repaired too", () => {
    assert.deepEqual(parseParameters(schema, { name: "x", nested: { id: 7 } }).value.nested, { id: "7" });
  });
  test("a union that accepts a string", () => {
    assert.equal(parseParameters(schema, { name: "x", either: 5 }).value.either, "5");
  });
  test("numbers and booleans stay what the schema asks for; defaults are applied", () => {
    const { value } = parseParameters(schema, { name: "x", threshold: 2, header: false });
    assert.deepEqual(value, { name: "x", mode: "auto", date_format: "%m/%d/%Y", threshold: 2, header: false });
  });
  test("unknown parameters are warned about and dropped", () => {
    const { value, warnings } = parseParameters(schema, { name: "x", LLM: 1, time: 2 });
    assert.equal("LLM" in value, false);
    assert.match(warnings[0] ?? "", /unknown parameters "LLM", "time" ignored; the tool declares "name"/);
  });
  test("a real type error is not papered over: every problem is listed", () => {
    assert.throws(
      () => parseParameters(schema, { threshold: "high", header: "yes" }),
      (e: unknown) =>
        e instanceof ParameterError &&
        /- name: required/.test(e.message) &&
        /- threshold: .*got "high"/.test(e.message) &&
        /- header: .*got "yes"/.test(e.message),
    );
  });
  test("a number where a number is expected is not turned into a string", () => {
    assert.throws(() => parseParameters(z.object({ n: z.number() }), { n: true }), ParameterError);
  });
});

// What the platform does to a string parameter (klms-local reproduces its literal_eval, checked
// against Python 3.11): the text is lost, so the repair must neither claim it nor guess it.
describe("parseParameters: a string that literal_eval made a number cannot be recovered, and says so", () => {
  const schema = z.object({ version: z.string() });
  const cases: [string, number, string][] = [
    ["3.10", 3.1, "3.1"],
    ["2024.10", 2024.1, "2024.1"],
    ["1e5", 100000, "100000"],
    ["1_000", 1000, "1000"],
    ["0x1F", 31, "31"],
  ];
  for (const [sent, received, gets] of cases) {
    test(`"${sent}" arrives as ${received}: the tool gets "${gets}", the number written out, and is told why`, () => {
      assert.equal(literalEval(sent), received, "what the platform hands the tool");
      const { value, warnings } = parseParameters(schema, { version: received });
      assert.equal(value.version, gets);
      assert.equal(warnings.length, 1);
      const warning = warnings[0] ?? "";
      assert.match(warning, new RegExp(`^parameter version: the schema asks for text but ${received} arrived: `));
      assert.match(warning, /the text sent cannot be recovered \(.* all give /);
      assert.match(warning, /which may differ from what was sent/);
      // The old repair claimed the text sent: 'the platform turned the string "3.1" into 3.1'.
      assert.doesNotMatch(warning, /turned the string/);
      assert.match(warning, /send it as a Python string literal inside the JSON string, e\.g\. "'3\.10'"/);
    });
  }
  test('the advice works: "\'3.10\'" reaches the tool as "3.10", with no warning', () => {
    for (const [sent] of cases) {
      const received = literalEval(`'${sent}'`);
      assert.equal(received, sent);
      assert.deepEqual(parseParameters(schema, { version: received }), { value: { version: sent }, warnings: [] });
    }
  });
  test("True, False and None read back as their Python spelling, without claiming more", () => {
    for (const [sent, received] of [
      ["True", true],
      ["False", false],
      ["None", null],
    ] as const) {
      assert.equal(literalEval(sent), received);
      const { value, warnings } = parseParameters(schema, { version: received });
      assert.equal(value.version, sent);
      assert.match(
        warnings[0] ?? "",
        /the tool reads it back as "(True|False|None)", the usual text for it; to pass such text exactly/,
      );
    }
  });
  test("an enum member the written-out number does not match is an error that names the cause", () => {
    const versions = z.object({ version: z.enum(["3.9", "3.10"]) });
    assert.throws(
      () => parseParameters(versions, { version: literalEval("3.10") as number }),
      (e: unknown) =>
        e instanceof ParameterError &&
        /- version: .*; got 3\.1 \(the platform's literal evaluation of string parameters may have made it from a string; .*"'3\.10'"/.test(
          e.message,
        ),
    );
  });
});
