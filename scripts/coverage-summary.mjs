// The coverage summary `node scripts/test.mjs --coverage` prints: one line per workspace
// (packages/*/src, create-klms-tool's own modules, examples/*/src) and the total, read from the
// json-summary report c8 writes. c8 measures every Node process the tests start that inherits
// the environment (the built CLI a test spawns included, mapped back to src/ by the source
// maps), and counts source files no process loaded as uncovered (--all).
import { readFileSync } from "node:fs";
import { relative } from "node:path";

/** What c8 measures: the kit's sources, not the tests, the templates or the built copies. */
export const COVERAGE_INCLUDE = ["packages/*/src/**", "packages/create-klms-tool/*.js", "examples/*/src/**"];

const WORKSPACE = /^((?:packages|examples)\/[^/]+)\//;
const KINDS = ["lines", "branches", "functions"];

/** Per-workspace and total counts of c8's `coverage-summary.json`, as printable lines. */
export function coverageTable(summaryFile, root) {
  const summary = JSON.parse(readFileSync(summaryFile, "utf8"));
  const sums = new Map();
  for (const [path, file] of Object.entries(summary)) {
    if (path === "total") continue;
    const workspace = WORKSPACE.exec(relative(root, path))?.[1] ?? "(other)";
    const s = sums.get(workspace) ?? { files: 0, lines: [0, 0], branches: [0, 0], functions: [0, 0] };
    s.files += 1;
    for (const k of KINDS) {
      s[k][0] += file[k].covered;
      s[k][1] += file[k].total;
    }
    sums.set(workspace, s);
  }
  const total = { files: 0, lines: [0, 0], branches: [0, 0], functions: [0, 0] };
  for (const s of sums.values()) {
    total.files += s.files;
    for (const k of KINDS) for (const i of [0, 1]) total[k][i] += s[k][i];
  }
  const pct = ([covered, count]) => (count === 0 ? "   n/a" : `${((100 * covered) / count).toFixed(1).padStart(5)}%`);
  const row = (name, s) =>
    `${name.padEnd(28)} ${String(s.files).padStart(5)} ${pct(s.lines)} ${pct(s.branches)} ${pct(s.functions)}   ${s.lines[0]}/${s.lines[1]}`;
  const rows = [...sums.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, s]) => row(name, s));
  return [
    "",
    "Coverage of the sources (c8: every Node process the tests started, sources no process loaded count as 0):",
    `${"workspace".padEnd(28)} files  lines branch  funcs   lines covered/total`,
    ...rows,
    row("all sources", total),
    "",
  ].join("\n");
}
