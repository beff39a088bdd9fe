// What every benchmark shares: paths, run counts, statistics, timing, bundling.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const cli = join(root, "packages", "klms-tool", "dist", "cli", "main.js");
/** BENCH_QUICK=1: few runs and small objects, to check that the benchmarks work (minutes, not a quarter of an hour). */
export const QUICK = process.env.BENCH_QUICK === "1";
export const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 3 : 15));
export const WARMUP = QUICK ? 1 : 2;

/** Median, min, max and p90 of a list of numbers. */
export function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: at(0.5), min: s[0], max: s[s.length - 1], p90: at(0.9), n: s.length };
}
export const ms = (x) => `${x.toFixed(0)} ms`;
export const log = (line) => process.stderr.write(`bench: ${line} (load ${loadavg()[0].toFixed(1)})\n`);

/**
 * The environment a task's processes get from the local KLMS's runner (and a pod from its image):
 * PATH, HOME, the temporary directory and LANG, plus `extra`. Not the bench's own, where a
 * variable such as NODE_EXTRA_CA_CERTS (set on some machines) makes every Node start slower.
 */
export function taskEnv(extra = {}) {
  const env = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[name]) env[name] = process.env[name];
  return { ...env, ...extra };
}

/** Runs a command and returns its wall time in ms; throws when it fails. */
export function timed(command, args, options = {}) {
  const t = performance.now();
  const r = spawnSync(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  const elapsed = performance.now() - t;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return elapsed;
}

/** Runs a command, returning its wall time and, through GNU time, its peak RSS. */
export function measured(command, args, env = {}) {
  const t = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", command, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) {
    const error = new Error(`${command} ${args.slice(0, 3).join(" ")} failed (${r.status ?? r.signal}): ${r.stderr}`);
    throw Object.assign(error, { status: r.status, stderr: r.stderr ?? "" });
  }
  const kb = Number(r.stderr.trim().split("\n").pop());
  return { seconds, maxRssBytes: kb * 1024, stdout: r.stdout };
}

/** The Node 24 binary that scripts/node24.sh provides, or undefined. */
export const node24 = (() => {
  try {
    const dir = execFileSync(join(root, "scripts", "node24.sh"), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return existsSync(join(dir, "node")) ? join(dir, "node") : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Bundles a module with esbuild the way the template's `npm run bundle` does for images (one ESM
 * file; `require` made available for the SDK's CommonJS parts); returns the bundle's path.
 */
export function bundled(entry, outdir, extra = []) {
  execFileSync(join(root, "node_modules", ".bin", "esbuild"), [
    entry,
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    // The ESM builds of the AWS SDK: its CommonJS builds break when split into lazy chunks.
    "--main-fields=module,main",
    "--splitting",
    `--outdir=${outdir}`,
    "--out-extension:.js=.mjs",
    "--log-level=error",
    "--banner:js=import { createRequire as __klmsRequire } from 'node:module'; const require = __klmsRequire(import.meta.url);",
    ...extra,
  ]);
  return join(outdir, `${basename(entry).replace(/\.m?js$/, "")}.mjs`);
}

/** A table row: cells joined by pipes. */
export const row = (cells) => `| ${cells.join(" | ")} |`;

/**
 * Starts bench/store-server.mjs (`prefix`: a command to run it under, e.g. `ip netns exec ns`);
 * resolves to { url, accessKeyId, secretAccessKey, stop() } once the store is ready.
 */
export function spawnStore(dir, relay = [], prefix = []) {
  const args = [...prefix, process.execPath, join(root, "bench", "store-server.mjs"), dir, ...relay.map(String)];
  const child = spawn(args[0], args.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`the store exited (${code}) before it was ready`)));
    child.stdout.on("data", (d) => {
      out += d;
      if (!out.includes("\n")) return;
      child.removeAllListeners("exit");
      const stop = () =>
        new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.once("exit", () => done());
          child.kill("SIGTERM");
        });
      resolve({ ...JSON.parse(out), stop });
    });
  });
}
