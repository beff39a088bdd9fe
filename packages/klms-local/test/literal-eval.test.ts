import assert from "node:assert/strict";
import { test } from "node:test";
import { evalParameters, literalEval, pyLiteralEval } from "../src/literal-eval.js";
import { dumpsJson, NotJsonSerializable, PyFloat } from "../src/python-json.js";

// Each input with what the platform writes for it: Python 3.11's
// `json.dumps(v, sort_keys=True, separators=(",", ":"))` where `v` is `ast.literal_eval(s)`, or `s`
// itself where literal_eval raises ValueError/SyntaxError (generated with that Python, pasted
// here). `null`: json.dumps raises TypeError (complex, set, bytes, Ellipsis), so the platform's
// reply is a 500.
const TABLE: Array<[string, string | null]> = [
  ["123", "123"],
  ["0.5", "0.5"],
  ["None", "null"],
  ["True", "true"],
  ["False", "false"],
  ["[1,2]", "[1,2]"],
  ["'x'", '"x"'],
  ["1e5", "100000.0"],
  ["null", '"null"'],
  ["true", '"true"'],
  ["DATE", '"DATE"'],
  ["%m/%d/%Y", '"%m/%d/%Y"'],
  ["2023-06-12", '"2023-06-12"'],
  ["s3://b/k", '"s3://b/k"'],
  ["-5", "-5"],
  ["+5", "5"],
  ["- 5", "-5"],
  ["-(1)", "-1"],
  ["--5", '"--5"'],
  ["-True", '"-True"'],
  ["-'x'", "\"-'x'\""],
  [" 42", "42"],
  ["42 ", "42"],
  ["\t7", "7"],
  ["0x1F", "31"],
  ["0o17", "15"],
  ["0b101", "5"],
  ["1_000", "1000"],
  ["1__0", '"1__0"'],
  ["1_", '"1_"'],
  ["007", '"007"'],
  ["00", "0"],
  ["0_0", "0"],
  ["1.", "1.0"],
  [".5", "0.5"],
  ["1.5e-3", "0.0015"],
  ["-0.0", "-0.0"],
  ["1j", null],
  ["1+2j", null],
  ["1+2", '"1+2"'],
  ["1 2", '"1 2"'],
  ["12abc", '"12abc"'],
  ["nan", '"nan"'],
  ["inf", '"inf"'],
  ["1e400", "Infinity"],
  ["1 # c", "1"],
  ["# c", '"# c"'],
  ['"x"', '"x"'],
  ["''", '""'],
  ["'a' 'b'", '"ab"'],
  ["'a''b'", '"ab"'],
  ["'it''s'", '"its"'],
  ["r'\\n'", '"\\\\n"'],
  ["R'\\d'", '"\\\\d"'],
  ["u'x'", '"x"'],
  ["'\\n'", '"\\n"'],
  ["'\\x41'", '"A"'],
  ["'\\u00e9'", '"\\u00e9"'],
  ["'\\101'", '"A"'],
  ["'\\q'", '"\\\\q"'],
  ["'\\\\'", '"\\\\"'],
  ["'a'\n", '"a"'],
  ["'unterminated", '"\'unterminated"'],
  ["b'x'", null],
  ["'\\N{DASH}'", "\"'\\\\N{DASH}'\""],
  ["(1)", "1"],
  ["(1,)", "[1]"],
  ["()", "[]"],
  ["(1, 2)", "[1,2]"],
  ["[]", "[]"],
  ["[1,]", "[1]"],
  ["[,]", '"[,]"'],
  ["[1 2]", '"[1 2]"'],
  ["[\n1,\n2\n]", "[1,2]"],
  ["[1, [2, 'a'], (3, 4)]", '[1,[2,"a"],[3,4]]'],
  ["[True, False, None]", "[true,false,null]"],
  ["{}", "{}"],
  ["{'a': 1, 'b': [True, None]}", '{"a":1,"b":[true,null]}'],
  ["{'a': {'b': (1,)}}", '{"a":{"b":[1]}}'],
  ["{'a': 1,}", '{"a":1}'],
  ["{1: 2}", '{"1":2}'],
  ["{True: 1}", '{"true":1}'],
  ["{None: 1}", '{"null":1}'],
  ["{'a' 1}", "\"{'a' 1}\""],
  ["{1, 2}", null],
  ["abc", '"abc"'],
  ["x=1", '"x=1"'],
  ["1.0", "1.0"],
  ["1e5", "100000.0"],
  ["2.0", "2.0"],
  ["-0.0", "-0.0"],
  ["'''abc'''", '"abc"'],
  ['"""a\nb"""', '"a\\nb"'],
  ["1e999", "Infinity"],
  ["-1e999", "-Infinity"],
  ["1e16", "1e+16"],
  ["1e-5", "1e-05"],
  ["12345678901234567890", "12345678901234567890"],
  ["-12345678901234567890", "-12345678901234567890"],
  ["0x1FFFFFFFFFFFFFFFFF", "590295810358705651711"],
  ["1+2j", null],
  ["1j", null],
  ["-1-2J", null],
  ["(1+2j)", null],
  ["1+-2j", '"1+-2j"'],
  ["{1,2}", null],
  ["{1}", null],
  ['b"x"', null],
  ["rb'x'", null],
  ["b'a' 'b'", "\"b'a' 'b'\""],
  ["...", null],
  ["[1.0, (2.5,), {'a': 1e3}]", '[1.0,[2.5],{"a":1000.0}]'],
  ["{2.0: 1}", '{"2.0":1}'],
  ["{1e999: 1}", '{"Infinity":1}'],
  ["f'x'", "\"f'x'\""],
  ["'\u00e9'", '"\\u00e9"'],
  ["[1, 1+2j]", null],
];

for (const [text, expected] of TABLE) {
  test(`literalEval(${JSON.stringify(text)}) is written ${expected ?? "(not JSON: 500)"}`, () => {
    const value = pyLiteralEval(text);
    if (expected === null) assert.throws(() => dumpsJson(value), NotJsonSerializable);
    else assert.equal(dumpsJson(value), expected);
  });
}

test("floats stay floats (range() of one fails in Python), ints stay ints", () => {
  assert.ok(pyLiteralEval("10.0") instanceof PyFloat);
  assert.equal(pyLiteralEval("10"), 10);
});

test("literalEval, for JavaScript callers: numbers, BigInt beyond 2^53, the text where JSON cannot carry the value", () => {
  assert.equal(literalEval("10.0"), 10);
  assert.equal(literalEval("12345678901234567890"), 12345678901234567890n);
  assert.deepEqual(literalEval("[1.5, {'a': 2.0}]"), [1.5, { a: 2 }]);
  assert.equal(literalEval("1+2j"), "1+2j");
  assert.equal(literalEval("[1, {1, 2}]"), "[1, {1, 2}]");
});

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
