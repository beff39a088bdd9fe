// Overhead: a no-op task end to end through the local KLMS, the kit's image pipeline against the
// Python template as shipped (BENCH_TEMPLATE_DIR + BENCH_PYTHONPATH) and the stripped baseline.
import { copyFileSync, cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { bundled, cli, log, ms, node24, RUNS, root, row, stats, taskEnv, timed, WARMUP } from "./lib.mjs";

/** The Python that runs the baselines: BENCH_PYTHON, else Debian's (whose python3-* packages minio needs), else python3's real executable. */
export function pythonFor(execFileSync) {
  if (process.env.BENCH_PYTHON) return process.env.BENCH_PYTHON;
  if (existsSync("/usr/bin/python3")) return "/usr/bin/python3";
  // The real interpreter, not a version manager's shim (pyenv's costs ~0.4 s a start).
  return execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
}

/**
 * Why the template row cannot run, or undefined when it can: it needs the template's files
 * (BENCH_TEMPLATE_DIR) and a PYTHONPATH where `import minio` works (BENCH_PYTHONPATH).
 */
export function templateMissing() {
  const dir = process.env.BENCH_TEMPLATE_DIR;
  if (!dir) return "BENCH_TEMPLATE_DIR is not set (a checkout of github.com/stelar-eu/klms-tool-template)";
  for (const f of ["run.sh", "main.py", "utils/mclient.py"])
    if (!existsSync(join(dir, f))) return `BENCH_TEMPLATE_DIR=${dir} has no ${f}`;
  if (!process.env.BENCH_PYTHONPATH)
    return "BENCH_PYTHONPATH is not set (where `import minio` works: a minio-py checkout)";
  return undefined;
}

/** A folder laid out like the template's image: run.sh, bundle/entrypoint.mjs, bundle/tool/. */
function imageDir(work) {
  const dir = join(work, "image");
  mkdirSync(join(dir, "bundle"), { recursive: true });
  bundled(join(root, "packages", "klms-tool", "dist", "entrypoint", "main.js"), join(dir, "bundle"));
  // esbuild names the entry after its file: main.mjs; the image calls it entrypoint.mjs.
  copyFileSync(join(dir, "bundle", "main.mjs"), join(dir, "bundle", "entrypoint.mjs"));
  bundled(join(root, "bench", "noop", "main.mjs"), join(dir, "bundle", "tool"));
  copyFileSync(join(root, "packages", "create-klms-tool", "template", "run.sh"), join(dir, "run.sh"));
  mkdirSync(join(dir, ".node-cache"), { recursive: true });
  return dir;
}

/** The pipelines compared; `ref` marks the ones ratios are taken against. */
function variants(work, python, execFileSync) {
  const image = imageDir(work);
  const pathWith = (bin) => `${dirname(bin)}:/usr/bin:/bin`;
  // How the image runs the tool: run.sh's default (its own process, started while the input is
  // fetched: KLMS_WORKER_MODULE), a plain command after the input (KLMS_WORKER, the default
  // before), or a worker thread (KLMS_WORKER_THREAD).
  const modes = {
    module: { name: "tool's process started ahead (KLMS_WORKER_MODULE, the default)", env: {} },
    process: {
      name: "tool as a command after the input (KLMS_WORKER)",
      env: { KLMS_WORKER: "node bundle/tool/main.mjs" },
    },
    thread: {
      name: "tool in a worker thread (KLMS_WORKER_THREAD)",
      env: { KLMS_WORKER_THREAD: "bundle/tool/main.mjs" },
    },
  };
  const imageVariant = (label, bin, mode) => ({
    name: `image, ${modes[mode].name}; ${label}`,
    mode,
    command: ["sh", join(image, "run.sh")],
    cwd: image,
    env: { PATH: pathWith(bin), NODE_COMPILE_CACHE: join(image, ".node-cache"), ...modes[mode].env },
  });
  const nodes = [...(node24 ? [["Node 24", node24]] : []), ["Node 20", process.execPath]];
  const list = [];
  for (const [label, bin] of nodes) for (const mode of Object.keys(modes)) list.push(imageVariant(label, bin, mode));
  list.push({
    name: "klms-tool exec, unbundled, as in development (Node 20)",
    command: [process.execPath, cli, "exec", "--worker", "node main.mjs"],
    cwd: join(root, "bench", "noop"),
  });
  // `python` as the template's run.sh calls it (the python:3.8-slim image has one).
  const pybin = join(work, "pybin");
  mkdirSync(pybin, { recursive: true });
  symlinkSync(python, join(pybin, "python"));
  symlinkSync(python, join(pybin, "python3"));
  const missing = templateMissing();
  if (missing) {
    log(`overhead: the template-as-shipped row is skipped: ${missing}`);
  } else {
    const dir = join(work, "template");
    cpSync(process.env.BENCH_TEMPLATE_DIR, dir, { recursive: true });
    // Check once that minio imports, so that a broken PYTHONPATH says so instead of failing a task.
    execFileSync(python, ["-c", "import utils.mclient"], {
      cwd: dir,
      env: { PATH: `${pybin}:/usr/bin:/bin`, PYTHONPATH: process.env.BENCH_PYTHONPATH },
    });
    list.push({
      name: "the Python template as shipped (run.sh, main.py, utils/mclient.py, minio)",
      command: ["bash", join(dir, "run.sh")],
      cwd: dir,
      env: { PATH: `${pybin}:/usr/bin:/bin`, PYTHONPATH: process.env.BENCH_PYTHONPATH },
      ref: "template",
    });
  }
  const stripped = join(work, "baseline");
  mkdirSync(stripped, { recursive: true });
  copyFileSync(join(root, "bench", "baseline", "main.py"), join(stripped, "main.py"));
  list.push({
    name: "stripped baseline (bench/baseline: run.sh, standard-library main.py)",
    command: ["bash", join(root, "bench", "baseline", "run.sh")],
    cwd: stripped,
    env: { PATH: `${pybin}:/usr/bin:/bin` },
    ref: "stripped",
  });
  for (const [label, bin] of nodes)
    list.push({ name: `for reference: \`node -e 0\`, no task (${label})`, bare: [bin, "-e", "0"] });
  return { list, missing };
}

/** Runs every variant RUNS times, interleaved, after WARMUP runs; returns the times (ms) by name. */
async function measureAll(klms, list) {
  const times = new Map(list.map((v) => [v.name, []]));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const v of list) {
      let elapsed;
      if (v.bare) {
        elapsed = timed(v.bare[0], v.bare.slice(1), { env: taskEnv() });
      } else {
        const { id } = await klms.createTask({
          process_id: klms.processId,
          name: "noop",
          datasets: {},
          inputs: {},
          outputs: {},
          // x and y: the template's main.py adds them.
          parameters: { x: 1, y: 2 },
        });
        const t = performance.now();
        const r = await klms.runTask(id, { command: v.command, cwd: v.cwd, ...(v.env ? { env: v.env } : {}) });
        elapsed = performance.now() - t;
        const task = await klms.getTask(id);
        if (r.exitCode !== 0 || task.exec_state !== "succeeded")
          throw new Error(`${v.name}: task ${task.exec_state}, exit ${r.exitCode}: ${r.logs}`);
      }
      if (i >= WARMUP) times.get(v.name).push(elapsed);
    }
  }
  return times;
}

/** The overhead section of BENCHMARKS.md; `results` collects the medians for the summary. */
export async function overhead({ work, startLocalKlms, execFileSync, results }) {
  log("overhead: a no-op task end to end, ours vs the template as shipped and the stripped baseline");
  const python = pythonFor(execFileSync);
  const { list, missing } = variants(work, python, execFileSync);
  const klms = await startLocalKlms({ quiet: true });
  let times;
  try {
    times = await measureAll(klms, list);
  } finally {
    await klms.stop();
  }
  const median = (v) => stats(times.get(v.name)).median;
  const refOf = (r) => list.find((v) => v.ref === r);
  const template = refOf("template");
  const stripped = refOf("stripped");
  const ratio = (v, ref) => (ref ? (median(v) / median(ref)).toFixed(2) : "n/a");
  const rows = list.map((v) => {
    const s = stats(times.get(v.name));
    results.overhead[v.name] = { median: s.median, template: template && median(v) / median(template) };
    return row([v.name, ms(s.median), ms(s.min), ms(s.p90), ratio(v, template), ratio(v, stripped)]);
  });
  writeFileSync(join(work, "overhead.json"), JSON.stringify(Object.fromEntries(times)));
  return `### Wrapper overhead: a no-op task, end to end

Fetch the input, run the worker, post the output, against the same local KLMS; ${RUNS} runs each,
interleaved, after ${WARMUP} warm-up runs. The image rows run the template's \`run.sh\` in a folder laid
out like the image (\`bundle/entrypoint.mjs\`, \`bundle/tool/\`, \`NODE_COMPILE_CACHE\`). Goal: ours at
most 0.5 of the template as shipped.${missing ? `\n\n**The template-as-shipped row was skipped: ${missing}.** See "Setting up the baselines".` : ""}

| pipeline | median | min | p90 | ratio to the template as shipped | ratio to the stripped baseline |
|---|---|---|---|---|---|
${rows.join("\n")}
`;
}
