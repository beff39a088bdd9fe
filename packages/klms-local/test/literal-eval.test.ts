import assert from "node:assert/strict";
import { test } from "node:test";
import { evalParameters, literalEval } from "../src/literal-eval.js";

// Expected values checked against Python 3's `json.loads(json.dumps(ast.literal_eval(s)))`
// (the original string where literal_eval raises or JSON cannot carry the value).
const TABLE: Array<[string, unknown]> = [
  // The contract's examples (§2.5).
  ["123", 123],
  ["0.5", 0.5],
  ["None", null],
  ["True", true],
  ["False", false],
  ["[1,2]", [1, 2]],
  ["'x'", "x"],
  ["1e5", 100000],
  ["null", "null"],
  ["true", "true"],
  ["DATE", "DATE"],
  ["%m/%d/%Y", "%m/%d/%Y"],
  ["2023-06-12", "2023-06-12"],
  ["s3://b/k", "s3://b/k"],
  // Numbers.
  ["-5", -5],
  ["+5", 5],
  ["- 5", -5],
  ["-(1)", -1],
  ["--5", "--5"],
  ["-True", "-True"],
  ["-'x'", "-'x'"],
  [" 42", 42],
  ["42 ", 42],
  ["\t7", 7],
  ["0x1F", 31],
  ["0o17", 15],
  ["0b101", 5],
  ["1_000", 1000],
  ["1__0", "1__0"],
  ["1_", "1_"],
  ["007", "007"],
  ["00", 0],
  ["0_0", 0],
  ["1.", 1],
  [".5", 0.5],
  ["1.5e-3", 0.0015],
  ["-0.0", -0],
  ["1j", "1j"],
  ["1+2j", "1+2j"],
  ["1+2", "1+2"],
  ["1 2", "1 2"],
  ["12abc", "12abc"],
  ["nan", "nan"],
  ["inf", "inf"],
  ["1e400", "1e400"],
  ["1 # c", 1],
  ["# c", "# c"],
  // Strings.
  ['"x"', "x"],
  ["''", ""],
  ["'a' 'b'", "ab"],
  ["'a''b'", "ab"],
  ["'it''s'", "its"],
  ["r'\\n'", "\\n"],
  ["R'\\d'", "\\d"],
  ["u'x'", "x"],
  ["'\\n'", "\n"],
  ["'\\x41'", "A"],
  ["'\\u00e9'", "é"],
  ["'\\101'", "A"],
  ["'\\q'", "\\q"],
  ["'\\\\'", "\\"],
  ["'a'\n", "a"],
  ["'unterminated", "'unterminated"],
  ["b'x'", "b'x'"],
  ["'\\N{DASH}'", "'\\N{DASH}'"],
  // Containers.
  ["(1)", 1],
  ["(1,)", [1]],
  ["()", []],
  ["(1, 2)", [1, 2]],
  ["[]", []],
  ["[1,]", [1]],
  ["[,]", "[,]"],
  ["[1 2]", "[1 2]"],
  ["[\n1,\n2\n]", [1, 2]],
  ["[1, [2, 'a'], (3, 4)]", [1, [2, "a"], [3, 4]]],
  ["[True, False, None]", [true, false, null]],
  ["{}", {}],
  ["{'a': 1, 'b': [True, None]}", { a: 1, b: [true, null] }],
  ["{'a': {'b': (1,)}}", { a: { b: [1] } }],
  ["{'a': 1,}", { a: 1 }],
  ["{1: 2}", { "1": 2 }],
  ["{True: 1}", { true: 1 }],
  ["{None: 1}", { null: 1 }],
  ["{'a' 1}", "{'a' 1}"],
  ["{1, 2}", "{1, 2}"],
  // Names and statements.
  ["abc", "abc"],
  ["x=1", "x=1"],
];

for (const [text, expected] of TABLE) {
  test(`literalEval(${JSON.stringify(text)}) → ${JSON.stringify(expected)}`, () => {
    assert.deepEqual(literalEval(text), expected);
  });
}

test("non-string values pass through unchanged", () => {
  const object = { a: "1" };
  for (const value of [1, 0.5, null, true, [1, "2"], object]) assert.equal(literalEval(value), value);
});

test("evalParameters converts top-level string values only", () => {
  assert.deepEqual(evalParameters({ n: "3", s: "text", nested: { n: "3" }, list: ["3"] }), {
    n: 3,
    s: "text",
    nested: { n: "3" },
    list: ["3"],
  });
});
