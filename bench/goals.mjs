// The goals of issue 16, checked against one run's results: a table for BENCHMARKS.md.
import { row } from "./lib.mjs";

const yes = (ok) => (ok === undefined ? "not measured" : ok ? "met" : "**missed**");

/** Rows of the goals table from `results` (see run.mjs). */
export function goals(results) {
  const rows = [];
  for (const [name, r] of Object.entries(results.overhead)) {
    if (!name.startsWith("image,")) continue;
    const ratio = r.template;
    rows.push(
      row([
        `overhead ≤ 0.5 of the template as shipped: ${name}`,
        ratio === undefined ? "n/a" : ratio.toFixed(2),
        yes(ratio === undefined ? undefined : ratio <= 0.5),
      ]),
    );
  }
  for (const store of [...new Set(results.transfers.map((t) => t.store))]) {
    const all = results.transfers.filter((t) => t.store === store);
    // A failed transfer has no ratio: it misses every goal it is part of, and is named.
    for (const f of all.filter((t) => t.failed))
      rows.push(row([`transfers complete: ${store} ${f.mib} MiB ${f.direction}`, `failed: ${f.failed}`, yes(false)]));
    const list = all.filter((t) => !Number.isNaN(t.toCurl));
    if (!list.length) continue;
    const worst = list.reduce((a, b) => (b.toCurl < a.toCurl ? b : a));
    rows.push(
      row([
        `transfers ≥ 0.9 of curl, every size and direction: ${store} (worst: ${worst.mib} MiB ${worst.direction})`,
        worst.toCurl.toFixed(2),
        yes(store === "radosgw" || store.startsWith("netns") ? worst.toCurl >= 0.9 : undefined),
      ]),
    );
    for (const direction of ["upload", "download"]) {
      const big = list.filter((t) => t.direction === direction && t.mib >= 256 && !Number.isNaN(t.toOne));
      if (!big.length) continue;
      const least = big.reduce((a, b) => (b.toOne < a.toOne ? b : a));
      // Where the default is itself one stream, "ours / one stream" is the same path twice: noise
      // around 1.00, never a strategy above one stream. Missed, and said so.
      const same = big.filter((t) => t.oneStream).map((t) => `${t.mib}`);
      const note = same.length ? `; at ${same.join(", ")} MiB the default is one stream` : "";
      rows.push(
        row([
          `above one stream from 256 MiB, ${direction}s: ${store} (least: ${least.mib} MiB${note})`,
          least.toOne.toFixed(2),
          yes(same.length === 0 && least.toOne > 1),
        ]),
      );
    }
    const measuredRss = list.filter((t) => t.rss > 0).map((t) => t.rss);
    if (!measuredRss.length) continue;
    const rss = Math.max(...measuredRss);
    rows.push(row([`peak RSS ≤ 200 MB: ${store}`, `${(rss / 1e6).toFixed(0)} MB`, yes(rss <= 200e6)]));
  }
  for (const s of results.scale) {
    const all = s.succeeded === s.n && s.postedOnce === s.n && s.listed === s.n;
    rows.push(
      row([
        `${s.n} concurrent tasks: all complete, none lost`,
        `${s.succeeded}/${s.postedOnce}/${s.listed} of ${s.n}`,
        yes(all),
      ]),
    );
  }
  return `### Goals of this run

| goal | value | |
|---|---|---|
${rows.join("\n")}
`;
}
