/** The correlation methods the tool offers. */
export type Method = "pearson" | "spearman";

/**
 * Pearson's r of two series over the rows where both have a value (pairwise complete); NaN when
 * fewer than two such rows exist or a series is constant there.
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i] as number;
    const b = y[i] as number;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    n++;
    sx += a;
    sy += b;
  }
  if (n < 2) return Number.NaN;
  const mx = sx / n;
  const my = sy / n;
  let cov = 0;
  let vx = 0;
  let vy = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i] as number;
    const b = y[i] as number;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    cov += (a - mx) * (b - my);
    vx += (a - mx) ** 2;
    vy += (b - my) ** 2;
  }
  return vx === 0 || vy === 0 ? Number.NaN : cov / Math.sqrt(vx * vy);
}

/** Ranks 1..n, ties sharing the average of their ranks; NaN stays NaN. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i)
    .filter((i) => !Number.isNaN(values[i] as number))
    .sort((i, j) => (values[i] as number) - (values[j] as number));
  const out = new Float64Array(values.length).fill(Number.NaN);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1] as number] === values[order[start] as number]) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) out[order[k] as number] = rank;
    start = end + 1;
  }
  return out;
}

/** Spearman's rho: Pearson's r of the ranks, over the rows where both series have a value. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const both = Array.from({ length: x.length }, (_, i) => i).filter(
    (i) => !Number.isNaN(x[i] as number) && !Number.isNaN(y[i] as number),
  );
  const xs = both.map((i) => x[i] as number);
  const ys = both.map((i) => y[i] as number);
  return pearson(ranks(xs), ranks(ys));
}

/** The symmetric matrix of correlations between every pair of columns. */
export function correlationMatrix(columns: ArrayLike<number>[], method: Method): number[][] {
  const f = method === "pearson" ? pearson : spearman;
  const n = columns.length;
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(Number.NaN));
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const r = i === j ? 1 : f(columns[i] as ArrayLike<number>, columns[j] as ArrayLike<number>);
      (m[i] as number[])[j] = r;
      (m[j] as number[])[i] = r;
    }
  }
  return m;
}
