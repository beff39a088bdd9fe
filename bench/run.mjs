// Benchmarks of the kit, side by side with the Python KLMS template's pipeline, in one run.
//
//   npm run bench                      # everything (builds first), writes BENCHMARKS.md
//   node bench/run.mjs overhead        # one benchmark: overhead | coldstart | transfers | scale
//   BENCH_RUNS=30 BENCH_SIZES=64,256 node bench/run.mjs
//
// overhead   a no-op task end to end through the local KLMS: klms-tool exec vs the template's
//            run.sh (bash, curl, jq, python3 main.py, curl)
// coldstart  the worker alone on input.json: node (bundled, unbundled) vs python3
// transfers  upload and download of 64 MiB, 256 MiB and 1 GiB through the storage helpers vs
//            curl, on the embedded store (and radosgw when KLMS_TEST_RGW_* is set): throughput, peak RSS
// scale      10 and 50 concurrent tasks through the local KLMS's runner
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, freemem, release, tmpdir, totalmem } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sigv4Args } from "./curl.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "packages", "klms-tool", "dist", "cli", "main.js");
const work = mkdtempSync(join(tmpdir(), "klms-bench-"));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const WARMUP = 2;
const SIZES = (process.env.BENCH_SIZES ?? "64,256,1024").split(",").map(Number);
const only = process.argv[2] ?? "all";

if (!existsSync(cli)) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
const { startLocalKlms, startObjectStore } = await import("../packages/klms-local/dist/index.js");
// The real interpreter, not a version manager's shim (pyenv's costs ~0.4 s a start), as in the
// template's python:3.8-slim image.
const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
const pythonPath = `${dirname(python)}:${process.env.PATH}`;
const node24 = (() => {
  try {
    return join(
      execFileSync(join(root, "scripts", "node24.sh"), {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim(),
      "node",
    );
  } catch {
    return undefined;
  }
})();

/** Median, min, max and p90 of a list of numbers. */
function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: at(0.5), min: s[0], max: s[s.length - 1], p90: at(0.9), n: s.length };
}
const ms = (x) => `${x.toFixed(0)} ms`;
const log = (line) => process.stderr.write(`bench: ${line}\n`);

/** Runs a command and returns its wall time in ms; throws when it fails. */
function timed(command, args, options = {}) {
  const t = performance.now();
  const r = spawnSync(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  const elapsed = performance.now() - t;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return elapsed;
}

/**
 * Bundles a module with esbuild the way the template's `npm run bundle` does for images (one ESM
 * file; `require` made available for the SDK's CommonJS parts); returns the bundle's path.
 */
function bundled(entry, outdir) {
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
  ]);
  return join(outdir, `${basename(entry).replace(/\.m?js$/, "")}.mjs`);
}

async function overhead() {
  log("overhead: a no-op task end to end, ours vs the template's run.sh");
  const klms = await startLocalKlms({ quiet: true });
  const baselineDir = join(work, "baseline");
  mkdirSync(baselineDir, { recursive: true });
  copyFileSync(join(root, "bench", "baseline", "main.py"), join(baselineDir, "main.py"));
  const entry = bundled(
    join(root, "packages", "klms-tool", "dist", "entrypoint", "main.js"),
    join(work, "entrypoint.mjs"),
  );
  const tool = bundled(join(root, "bench", "noop", "main.mjs"), join(work, "noop.mjs"));
  // As the template's image runs a task: the two bundles, Node's compile cache (used by Node 24,
  // ignored by Node 20), the tool as a child process or, with KLMS_WORKER_THREAD, in a thread.
  const cache = { NODE_COMPILE_CACHE: join(work, "compile-cache") };
  const image = (label, nodeBin, how) => ({
    name:
      how === "thread"
        ? `image, tool in a worker thread (KLMS_WORKER_THREAD; ${label})`
        : `image, tool as a child process (the default; ${label})`,
    command: [nodeBin, entry, ...(how === "thread" ? ["--worker-thread", tool] : ["--worker", `node ${tool}`])],
    cwd: work,
    env: cache,
  });
  const variants = [
    ...(node24 ? [image("Node 24", node24, "process"), image("Node 24", node24, "thread")] : []),
    image("Node 20", process.execPath, "process"),
    image("Node 20", process.execPath, "thread"),
    {
      name: "klms-tool exec, unbundled, as in development (Node 20)",
      command: [process.execPath, cli, "exec", "--worker", "node main.mjs"],
      cwd: join(root, "bench", "noop"),
    },
    {
      name: "template run.sh (bash, curl, jq, python3)",
      command: ["bash", join(root, "bench", "baseline", "run.sh")],
      cwd: baselineDir,
      env: { PATH: pythonPath },
      baseline: true,
    },
    // The floor: a Node that starts and does nothing, timed the same way (no task involved).
    ...[
      ["Node 24", node24],
      ["Node 20", process.execPath],
    ]
      .filter(([, bin]) => bin)
      .map(([label, bin]) => ({ name: `for reference: \`node -e 0\`, no task (${label})`, bare: [bin, "-e", "0"] })),
  ];
  const times = new Map(variants.map((v) => [v.name, []]));
  try {
    for (let i = 0; i < WARMUP + RUNS; i++) {
      for (const v of variants) {
        if (v.bare) {
          const [bin, ...args] = v.bare;
          const elapsed = timed(bin, args);
          if (i >= WARMUP) times.get(v.name).push(elapsed);
          continue;
        }
        const { id } = await klms.createTask({
          process_id: klms.processId,
          name: "noop",
          datasets: {},
          inputs: {},
          outputs: {},
          parameters: { x: 1 },
        });
        const t = performance.now();
        const r = await klms.runTask(id, { command: v.command, cwd: v.cwd, ...(v.env ? { env: v.env } : {}) });
        const elapsed = performance.now() - t;
        const task = await klms.getTask(id);
        if (r.exitCode !== 0 || task.exec_state !== "succeeded")
          throw new Error(`${v.name}: task ${task.exec_state}, exit ${r.exitCode}: ${r.logs}`);
        if (i >= WARMUP) times.get(v.name).push(elapsed);
      }
    }
  } finally {
    await klms.stop();
  }
  const base = stats(times.get(variants.find((v) => v.baseline).name)).median;
  const rows = variants.map((v) => {
    const s = stats(times.get(v.name));
    return `| ${v.name} | ${ms(s.median)} | ${ms(s.min)} | ${ms(s.p90)} | ${(s.median / base).toFixed(2)} |`;
  });
  return `### Wrapper overhead: a no-op task, end to end

Fetch the input, run the worker, post the output, against the same local KLMS; ${RUNS} runs each,
interleaved, after ${WARMUP} warm-up runs. Goal: ours at most one third of the baseline.

| pipeline | median | min | p90 | ratio to baseline |
|---|---|---|---|---|
${rows.join("\n")}
`;
}

async function coldstart() {
  log("coldstart: the worker alone on input.json");
  const dir = join(work, "coldstart");
  mkdirSync(dir, { recursive: true });
  const input = join(dir, "input.json");
  writeFileSync(input, JSON.stringify({ input: {}, output: {}, parameters: {}, minio: {} }));
  const bundle = bundled(join(root, "bench", "noop", "main.mjs"), join(dir, "bundle"));
  const variants = [];
  for (const [label, nodeBin] of [["Node 20", process.execPath], ...(node24 ? [["Node 24", node24]] : [])]) {
    variants.push({
      name: `node main.mjs, unbundled (${label})`,
      command: nodeBin,
      args: [join(root, "bench", "noop", "main.mjs")],
    });
    variants.push({ name: `node main.mjs, bundled with esbuild (${label})`, command: nodeBin, args: [bundle] });
  }
  if (node24) {
    variants.push({
      name: "node main.mjs, bundled, compile cache, as in the image (Node 24)",
      command: node24,
      args: [bundle],
      env: { NODE_COMPILE_CACHE: join(dir, "compile-cache") },
    });
  }
  variants.push({
    name: "python3 main.py (the template's)",
    command: python,
    args: [join(root, "bench", "baseline", "main.py")],
    baseline: true,
  });
  const times = new Map(variants.map((v) => [v.name, []]));
  for (let i = 0; i < WARMUP + RUNS * 2; i++) {
    for (const v of variants) {
      const t = timed(v.command, [...v.args, input, join(dir, "output.json")], {
        env: { ...process.env, ...(v.env ?? {}) },
      });
      if (i >= WARMUP) times.get(v.name).push(t);
    }
  }
  const base = stats(times.get(variants.find((v) => v.baseline).name)).median;
  const rows = variants.map((v) => {
    const s = stats(times.get(v.name));
    return `| ${v.name} | ${ms(s.median)} | ${ms(s.min)} | ${ms(s.p90)} | ${(s.median / base).toFixed(2)} |`;
  });
  return `### Worker cold start: a no-op tool on input.json

\`<runtime> main input.json output.json\`, ${RUNS * 2} runs each, interleaved. The bundle is
esbuild's single file of the tool and the runtime (the AWS SDK, loaded only on first use, left
out: a no-op tool never loads it).

| worker | median | min | p90 | ratio to python3 |
|---|---|---|---|---|
${rows.join("\n")}
`;
}

/** Runs a command, returning its wall time and, through GNU time, its peak RSS. */
function measured(command, args, env = {}) {
  const t = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", command, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
  const kb = Number(r.stderr.trim().split("\n").pop());
  return { seconds, maxRssBytes: kb * 1024, stdout: r.stdout };
}

async function transfersOn(label, endpoint, accessKeyId, secretAccessKey, bucket, sigv4) {
  const rows = [];
  // Warm the server up (a new bucket's first write is slow on radosgw) before measuring.
  const warm = join(work, "warm");
  writeFileSync(warm, "warm-up");
  const auth = sigv4 ? sigv4Args(accessKeyId, secretAccessKey) : [];
  execFileSync("curl", ["-sf", ...auth, "-T", warm, `${endpoint}/${bucket}/warm-up`]);
  for (const mib of SIZES) {
    const file = join(work, `blob-${mib}`);
    if (!existsSync(file))
      execFileSync("head", ["-c", String(mib * 1024 * 1024), "/dev/urandom"], {
        stdio: ["ignore", openSync(file, "w"), "inherit"],
      });
    const bytes = mib * 1024 * 1024;
    const key = `bench/${mib}-${Date.now()}`;
    const url = `${endpoint}/${bucket}/${key}`;
    const oursUp = JSON.parse(
      measured(process.execPath, [
        join(root, "bench", "transfer-child.mjs"),
        "up",
        `s3://${bucket}/${key}`,
        file,
        endpoint,
        accessKeyId,
        secretAccessKey,
      ]).stdout,
    );
    const curlUp = measured("curl", ["-sf", ...auth, "-T", file, `${url}-curl`]);
    const back = join(work, `back-${mib}`);
    const oursDown = JSON.parse(
      measured(process.execPath, [
        join(root, "bench", "transfer-child.mjs"),
        "down",
        `s3://${bucket}/${key}`,
        back,
        endpoint,
        accessKeyId,
        secretAccessKey,
      ]).stdout,
    );
    rmSync(back, { force: true });
    const curlDown = measured("curl", ["-sf", ...auth, "-o", back, `${url}-curl`]);
    rmSync(back, { force: true });
    // Leave the store as it was: radosgw's in-memory OSD holds 3 GiB, less than one run writes.
    for (const object of [url, `${url}-curl`]) execFileSync("curl", ["-sf", ...auth, "-X", "DELETE", object]);
    const mbps = (s) => (bytes / 1e6 / s).toFixed(0);
    const mb = (b) => (b / 1e6).toFixed(0);
    rows.push(
      `| ${label} | ${mib} MiB | upload | ${mbps(oursUp.seconds)} MB/s | ${mbps(curlUp.seconds)} MB/s | ${(curlUp.seconds / oursUp.seconds).toFixed(2)} | ${mb(oursUp.maxRssBytes)} MB | ${mb(curlUp.maxRssBytes)} MB |`,
      `| ${label} | ${mib} MiB | download | ${mbps(oursDown.seconds)} MB/s | ${mbps(curlDown.seconds)} MB/s | ${(curlDown.seconds / oursDown.seconds).toFixed(2)} | ${mb(oursDown.maxRssBytes)} MB | ${mb(curlDown.maxRssBytes)} MB |`,
    );
    log(`transfers: ${label} ${mib} MiB done`);
  }
  return rows;
}

async function transfers() {
  log(`transfers: ${SIZES.join(", ")} MiB through the storage helpers vs curl`);
  const store = await startObjectStore({ directory: join(work, "objects"), buckets: ["bench"] });
  const rows = [];
  try {
    rows.push(
      ...(await transfersOn(
        "embedded (klms-local store)",
        store.url,
        store.accessKeyId,
        store.secretAccessKey,
        "bench",
        false,
      )),
    );
  } finally {
    await store.stop();
    rmSync(join(work, "objects"), { recursive: true, force: true });
  }
  if (process.env.KLMS_TEST_RGW_ENDPOINT) {
    const { KLMS_TEST_RGW_ENDPOINT: ep, KLMS_TEST_RGW_ACCESS_KEY: ak, KLMS_TEST_RGW_SECRET_KEY: sk } = process.env;
    execFileSync("curl", ["-sf", ...sigv4Args(ak, sk), "-X", "PUT", `${ep}/bench`]);
    rows.push(...(await transfersOn("radosgw", ep, ak, sk, "bench", true)));
  }
  return `### Transfers: the storage helpers vs curl

A file of random bytes uploaded, then downloaded to a file; each transfer of ours in its own
process (so that its peak RSS is its own), curl's measured by GNU time. "ratio" is our throughput
over curl's (goal: at least 0.9); the peak RSS goal is under 200 MB and flat as the object grows.
Client and server share the same 2 cores: these are loopback figures, bound by CPU.

| store | size | direction | ours | curl | ratio | ours: peak RSS | curl: peak RSS |
|---|---|---|---|---|---|---|---|
${rows.join("\n")}
`;
}

async function scale() {
  const rows = [];
  for (const n of [10, 50]) {
    log(`scale: ${n} concurrent tasks`);
    const klms = await startLocalKlms({ quiet: true });
    try {
      const ids = [];
      for (let i = 0; i < n; i++)
        ids.push(
          (
            await klms.createTask({
              process_id: klms.processId,
              name: `t${i}`,
              datasets: {},
              inputs: {},
              outputs: {},
              parameters: {},
            })
          ).id,
        );
      const t = performance.now();
      const runs = await Promise.all(
        ids.map(
          (id) =>
            klms.startTask(id, {
              command: [process.execPath, cli, "exec", "--worker", "node main.mjs"],
              cwd: join(root, "bench", "noop"),
            }).done,
        ),
      );
      const seconds = (performance.now() - t) / 1000;
      const tasks = await Promise.all(ids.map((id) => klms.getTask(id)));
      const succeeded = tasks.filter((x) => x.exec_state === "succeeded").length;
      const postedOnce = runs.filter(
        (r) => r.exitCode === 0 && (r.logs.match(/task output recorded/g) ?? []).length === 1,
      ).length;
      if (succeeded !== n || postedOnce !== n)
        throw new Error(`scale ${n}: ${succeeded} succeeded, ${postedOnce} posted once`);
      rows.push(
        `| ${n} | ${succeeded}/${n} | ${postedOnce}/${n} | ${seconds.toFixed(1)} s | ${((seconds * 1000) / n).toFixed(0)} ms |`,
      );
    } finally {
      await klms.stop();
    }
  }
  return `### Scale of the local KLMS: concurrent tasks

N no-op tasks started at once through the runner (each a real entrypoint and worker process).

| tasks | succeeded | output posted exactly once | total | per task |
|---|---|---|---|---|
${rows.join("\n")}
`;
}

const benches = { overhead, coldstart, transfers, scale };
const chosen = only === "all" ? Object.keys(benches) : [only];
if (chosen.some((c) => !benches[c])) {
  console.error(`unknown benchmark "${only}": choose ${Object.keys(benches).join(", ")} or all`);
  process.exit(2);
}
const started = performance.now();
const sections = [];
try {
  for (const c of chosen) sections.push(await benches[c]());
} finally {
  rmSync(work, { recursive: true, force: true });
}

const machine = `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} GiB free), Linux ${release()}`;
const pythonVersion = spawnSync(python, ["--version"], { encoding: "utf8" }).stdout.trim();
const versions = `Node ${process.version}${node24 ? `, ${execFileSync(node24, ["--version"], { encoding: "utf8" }).trim()}` : ""}; ${pythonVersion}`;
const generated = `<!-- bench:start -->
Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`node bench/run.mjs ${only}\` in ${((performance.now() - started) / 1000).toFixed(0)} s.
Machine: ${machine}. ${versions}.

${sections.join("\n")}<!-- bench:end -->`;
console.log(generated);

if (only === "all") {
  const path = join(root, "BENCHMARKS.md");
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  const next = current.includes("<!-- bench:start -->")
    ? current.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, generated)
    : `# Benchmarks\n\n${generated}\n`;
  writeFileSync(path, next);
  log("BENCHMARKS.md updated");
}
