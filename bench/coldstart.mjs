// Worker cold start: a no-op tool alone on input.json, node (bundled, unbundled) vs python3.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundled, log, ms, node24, RUNS, root, row, stats, taskEnv, timed, WARMUP } from "./lib.mjs";
import { pythonFor, templateMissing } from "./overhead.mjs";

export async function coldstart({ work, execFileSync }) {
  const python = pythonFor(execFileSync);
  log("coldstart: the worker alone on input.json");
  const dir = join(work, "coldstart");
  mkdirSync(dir, { recursive: true });
  const input = join(dir, "input.json");
  // What the template's main.py reads: parameters x and y, and a MinIO block (its client connects lazily).
  const minio = { endpoint_url: "http://127.0.0.1:9", id: "id", key: "key", skey: "token" };
  writeFileSync(input, JSON.stringify({ input: {}, output: {}, parameters: { x: 1, y: 2 }, minio }));
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
    name: "python3 main.py, the stripped baseline's (standard library only)",
    command: python,
    args: [join(root, "bench", "baseline", "main.py")],
    baseline: true,
  });
  if (!templateMissing()) {
    variants.push({
      name: "python3 main.py, the template's as shipped (imports minio)",
      command: python,
      args: [join(process.env.BENCH_TEMPLATE_DIR, "main.py")],
      env: { PYTHONPATH: process.env.BENCH_PYTHONPATH },
    });
  }
  const times = new Map(variants.map((v) => [v.name, []]));
  for (let i = 0; i < WARMUP + RUNS * 2; i++) {
    for (const v of variants) {
      const t = timed(v.command, [...v.args, input, join(dir, "output.json")], {
        env: taskEnv(v.env),
      });
      if (i >= WARMUP) times.get(v.name).push(t);
    }
  }
  const base = stats(times.get(variants.find((v) => v.baseline).name)).median;
  const rows = variants.map((v) => {
    const s = stats(times.get(v.name));
    return row([v.name, ms(s.median), ms(s.min), ms(s.p90), (s.median / base).toFixed(2)]);
  });
  return `### Worker cold start: a no-op tool on input.json

\`<runtime> main input.json output.json\`, ${RUNS * 2} runs each, interleaved. The bundle is
esbuild's single file of the tool and the runtime (the AWS SDK, loaded only on first use, left
out: a no-op tool never loads it).

| worker | median | min | p90 | ratio to the stripped python3 |
|---|---|---|---|---|
${rows.join("\n")}
`;
}
