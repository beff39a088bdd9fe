import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { CsvError, readNumericColumns } from "../src/csv.ts";

const csv = (text: string) => Readable.from([text]);

test("keeps the numeric columns; empty cells are missing values", async () => {
  const t = await readNumericColumns(csv("date,a,b,name\n2025-01-01,1,2.5,x\n2025-01-02,,3,y\n"), "f.csv");
  assert.deepEqual(t.columns, ["a", "b"]);
  assert.deepEqual(t.skipped, ["date", "name"]);
  assert.equal(t.rows, 2);
  assert.deepEqual(Array.from(t.values[1]!), [2.5, 3]);
  assert.ok(Number.isNaN(t.values[0]![1]!));
});

const bad: [string, string, RegExp][] = [
  ["a ragged row", "a,b\n1,2\n3\n", /f\.csv, line 3: 1 fields where the header has 2 \(a ragged row\)/],
  ["no numeric column", "name,city\nx,y\n", /f\.csv has no numeric column \(its columns: name, city\)/],
  ["an empty file", "", /f\.csv is empty/],
  ["a repeated header", "a,a\n1,2\n", /repeats a column name/],
  ["broken quoting", 'a,b\n"1,2\n', /f\.csv: not a valid CSV file/],
];
for (const [name, text, message] of bad) {
  test(`a clear error for ${name}`, async () => {
    await assert.rejects(
      readNumericColumns(csv(text), "f.csv"),
      (e: unknown) => e instanceof CsvError && message.test(e.message),
    );
  });
}
