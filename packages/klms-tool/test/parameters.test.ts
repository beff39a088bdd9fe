import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ParameterError, z } from "../src/index.ts";
import { parseParameters } from "../src/tool/parameters.ts";

describe("parseParameters: the platform's literal_eval, undone where the schema asks for a string", () => {
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
