// Benchmarks of the kit, side by side with the Python KLMS template's pipeline, in one run.
//
//   npm run bench                      # everything (builds first), writes BENCHMARKS.md
//   BENCH_QUICK=1 npm run bench        # few runs, small objects: checks that it all works
//   node bench/run.mjs overhead        # one: overhead | coldstart | levers | transfers | netns | scale
//
// Environment (bench/README.md): BENCH_TEMPLATE_DIR + BENCH_PYTHONPATH (the template as shipped),
// KLMS_TEST_RGW_* (radosgw), BENCH_RUNS, BENCH_SIZES, BENCH_QUICK, BENCH_SCALE.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { coldstart } from "./coldstart.mjs";
import { goals } from "./goals.mjs";
import { levers } from "./levers.mjs";
import { cli, log, node24, QUICK, root } from "./lib.mjs";
import { netns } from "./netns.mjs";
import { overhead, pythonFor } from "./overhead.mjs";
import { scale } from "./scale.mjs";
import { transfers } from "./transfers.mjs";

const only = process.argv[2] ?? "all";
const benches = { overhead, coldstart, levers, transfers, netns, scale };
const chosen = only === "all" ? Object.keys(benches) : [only];
if (chosen.some((c) => !benches[c])) {
  console.error(`unknown benchmark "${only}": choose ${Object.keys(benches).join(", ")} or all`);
  process.exit(2);
}
if (!existsSync(cli)) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
const { startLocalKlms, startObjectStore } = await import("../packages/klms-local/dist/index.js");

const work = mkdtempSync(join(tmpdir(), "klms-bench-"));
const results = { overhead: {}, transfers: [], netns: [], scale: [] };
const started = performance.now();
const loads = [];
const sections = [];
try {
  for (const c of chosen) {
    loads.push(`${c} ${loadavg()[0].toFixed(1)}`);
    sections.push(await benches[c]({ work, startLocalKlms, startObjectStore, execFileSync, results }));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const machine = `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} GiB free), Linux ${release()}`;
const python = pythonFor(execFileSync);
const pythonVersion = execFileSync(python, ["--version"], { encoding: "utf8" }).trim();
const versions = `Node ${process.version}${node24 ? `, ${execFileSync(node24, ["--version"], { encoding: "utf8" }).trim()}` : ""}; ${pythonVersion} (${python}); curl ${execFileSync("curl", ["--version"], { encoding: "utf8" }).split(" ")[1]}`;
const env = ["BENCH_QUICK", "BENCH_RUNS", "BENCH_SIZES", "BENCH_SCALE", "BENCH_TEMPLATE_DIR", "BENCH_PYTHONPATH"]
  .filter((k) => process.env[k])
  .map((k) => `${k}=${process.env[k]}`)
  .join(" ");
const generated = `<!-- bench:start -->
Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`${env ? `${env} ` : ""}node bench/run.mjs ${only}\` in ${((performance.now() - started) / 1000).toFixed(0)} s${QUICK ? " (**BENCH_QUICK: few runs, small objects; a check, not a measurement**)" : ""}.
Machine: ${machine}. ${versions}.
Load average (1 min) when each benchmark started: ${loads.join(", ")}; at the end ${loadavg()[0].toFixed(1)}.

${goals(results)}
${sections.join("\n")}<!-- bench:end -->`;
console.log(generated);

if (only === "all") {
  const path = join(root, "BENCHMARKS.md");
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  const next = current.includes("<!-- bench:start -->")
    ? current.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, generated)
    : `# Benchmarks\n\n${generated}\n`;
  writeFileSync(path, next);
  writeFileSync(join(root, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  log("BENCHMARKS.md updated");
}
