import assert from "node:assert/strict";
import { test } from "node:test";
import { correlationMatrix, pearson, ranks, spearman } from "../src/stats.ts";

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);

test("pearson: perfect, inverse and a hand-computed case", () => {
  close(pearson([1, 2, 3, 4], [2, 4, 6, 8]), 1);
  close(pearson([1, 2, 3, 4], [8, 6, 4, 2]), -1);
  // x = 1..5, y = 2,4,5,4,5: cov = 6, var x = 10, var y = 6 → r = 6 / sqrt(60)
  close(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 6 / Math.sqrt(60));
});

test("pearson: missing values are skipped pairwise; constant or too short is NaN", () => {
  close(pearson([1, Number.NaN, 3, 4], [2, 100, 6, 8]), 1);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  assert.ok(Number.isNaN(pearson([1], [2])));
});

test("ranks: ties share the average rank", () => {
  assert.deepEqual(Array.from(ranks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
  assert.deepEqual(Array.from(ranks([3, 1, 2])), [3, 1, 2]);
});

test("spearman: monotonic is 1; with ties, the hand-computed value", () => {
  close(spearman([1, 2, 3, 4], [1, 4, 9, 16]), 1);
  // ranks x: 1, 2.5, 2.5, 4; ranks y: 1, 2, 3, 4 → pearson of those = 4.5 / sqrt(4.5 * 5)
  close(spearman([10, 20, 20, 30], [1, 2, 3, 4]), 4.5 / Math.sqrt(4.5 * 5));
});

test("correlationMatrix is symmetric with ones on the diagonal", () => {
  const m = correlationMatrix(
    [
      [1, 2, 3],
      [3, 2, 1],
      [1, 3, 2],
    ],
    "pearson",
  );
  assert.deepEqual(
    m.map((r) => r.length),
    [3, 3, 3],
  );
  for (let i = 0; i < 3; i++) {
    close(m[i]![i]!, 1);
    for (let j = 0; j < 3; j++) close(m[i]![j]!, m[j]![i]!);
  }
  close(m[0]![1]!, -1);
});
