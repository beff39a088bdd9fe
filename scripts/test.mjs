#!/usr/bin/env node
// Runs the test files under each workspace's test/ folder (any depth) with node:test and tsx.
// Why a script: Node 20's `--test` does not expand glob patterns (Node 22 does), and npm runs
// scripts with sh, whose `**` matches one folder level only; listing the files here works the
// same on Node 20 and 24.
//
// Usage: node scripts/test.mjs [--coverage] [node test flags...] [folders...]
//   folders default to every packages/* and examples/* workspace; flags (starting with "--")
//   go to node before the files, e.g. --test-concurrency=2. --coverage runs the tests under c8
//   (Node's own --experimental-test-coverage fails on Node 20 with our source maps: "Cannot read
//   properties of undefined (reading 'line')") and prints a summary per workspace at the end.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { COVERAGE_INCLUDE, coverageTable } from "./coverage-summary.mjs";

const ROOT = resolve(import.meta.dirname, "..");
/** Parallel test files: on 2 cores, 4 keeps the CPU busy while files wait on servers, timers and child processes. */
const CONCURRENCY = "--test-concurrency=4";
/**
 * Files that take longest, started first so that they do not start last and hold up the end
 * (measured: packed.test.ts alone is most of the wall time). Order only; a stale entry is ignored.
 */
const SLOW_FIRST = [
  "packages/create-klms-tool/test/packed.test.ts",
  "packages/integration/test/entrypoint-matrix.test.ts",
  "packages/create-klms-tool/test/readme-commands.test.ts",
  "packages/integration/test/storage-faults.test.ts",
  "packages/klms-local/test/runner.test.ts",
];
const REPORTS = join(ROOT, "coverage");

/** Every *.test.ts under `dir`, recursively, skipping fixtures and node_modules. */
function testFiles(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules" && entry.name !== "fixtures")
      found.push(...testFiles(path));
    else if (entry.isFile() && entry.name.endsWith(".test.ts")) found.push(path);
  }
  return found;
}

/** The workspaces' folders: packages/* and examples/*. */
function workspaces() {
  return ["packages", "examples"].flatMap((group) =>
    readdirSync(join(ROOT, group), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(group, e.name)),
  );
}

/** The slow files first (in SLOW_FIRST's order), then the others by path. */
function slowFirst(files) {
  const rank = (f) => (SLOW_FIRST.includes(f) ? SLOW_FIRST.indexOf(f) : SLOW_FIRST.length);
  return [...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** c8 in front of node: every process measured, the summary written for coverage-summary.mjs. */
function underC8(command) {
  const include = COVERAGE_INCLUDE.flatMap((glob) => ["--include", glob]);
  const reports = ["--reporter=json-summary", "--reports-dir", REPORTS];
  const c8 = join(ROOT, "node_modules/c8/bin/c8.js");
  return [c8, "--all", "--exclude-after-remap", ...include, ...reports, process.execPath, ...command];
}

const args = process.argv.slice(2);
const coverage = args.includes("--coverage");
const flags = args.filter((a) => a.startsWith("--") && a !== "--coverage");
const folders = args.filter((a) => !a.startsWith("--"));
const files = (folders.length > 0 ? folders : workspaces())
  .map((folder) => join(resolve(ROOT, folder), "test"))
  .filter((dir) => existsSync(dir))
  .flatMap(testFiles)
  .map((file) => relative(ROOT, file));
if (files.length === 0) {
  console.error(`No *.test.ts files under the test/ folder of: ${folders.join(", ") || "any workspace"}`);
  process.exit(1);
}
const concurrency = flags.some((f) => f.startsWith("--test-concurrency")) ? [] : [CONCURRENCY];
const command = ["--import", "tsx", "--test", ...concurrency, ...flags, ...slowFirst(files)];
const child = spawn(process.execPath, coverage ? underC8(command) : command, { cwd: ROOT, stdio: "inherit" });
child.once("exit", (code, signal) => {
  if (coverage) console.log(coverageTable(join(REPORTS, "coverage-summary.json"), ROOT));
  process.exit(code ?? (signal ? 1 : 0));
});
