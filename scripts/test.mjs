#!/usr/bin/env node
// Runs the test files under each workspace's test/ folder (any depth) with node:test and tsx.
// Why a script: Node 20's `--test` does not expand glob patterns (Node 22 does), and npm runs
// scripts with sh, whose `**` matches one folder level only; listing the files here works the
// same on Node 20 and 24.
//
// Usage: node scripts/test.mjs [node test flags...] [folders...]
//   folders default to every packages/* and examples/* workspace; flags (starting with "--")
//   go to node before the files, e.g. --experimental-test-coverage or --test-concurrency=2.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
/** Parallel test files: measured on 2 cores, 4 keeps the CPU busy while files wait on servers and child processes. */
const CONCURRENCY = "--test-concurrency=4";

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

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith("--"));
const folders = args.filter((a) => !a.startsWith("--"));
const files = (folders.length > 0 ? folders : workspaces())
  .map((folder) => join(resolve(ROOT, folder), "test"))
  .filter((dir) => existsSync(dir))
  .flatMap(testFiles)
  .map((file) => relative(ROOT, file))
  .sort();
if (files.length === 0) {
  console.error(`No *.test.ts files under the test/ folder of: ${folders.join(", ") || "any workspace"}`);
  process.exit(1);
}
const concurrency = flags.some((f) => f.startsWith("--test-concurrency")) ? [] : [CONCURRENCY];
const child = spawn(process.execPath, ["--import", "tsx", "--test", ...concurrency, ...flags, ...files], {
  cwd: ROOT,
  stdio: "inherit",
});
child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
