// Start-up levers, each measured alone: what one Node start costs, what the entrypoint's bundle
// adds before its first request (`--help` loads the same modules and returns), with and without
// Node's compile cache or a V8 startup snapshot, what a worker thread's start adds, and what the
// tool's bundle costs by how it writes its schemas.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { bundled, log, ms, node24, RUNS, root, row, stats, taskEnv, timed, WARMUP } from "./lib.mjs";

const THREAD = `const { Worker } = require("node:worker_threads"); new Worker("0", { eval: true });`;

/** esbuild's CommonJS bundle of `entry` at `outfile`. */
function bundledCjs(entry, outfile) {
  const esbuild = join(root, "node_modules", ".bin", "esbuild");
  const flags = ["--bundle", "--platform=node", "--format=cjs", "--target=node20", "--log-level=error"];
  execFileSync(esbuild, [entry, ...flags, `--outfile=${outfile}`]);
  return outfile;
}

/**
 * A V8 startup snapshot built by `bin` from `builder` (`node --build-snapshot`; each Node version
 * reads only its own); returns the blob's path. Node warns that worker_threads is not verified
 * in snapshots: fine for --help, which is all the row runs.
 */
function snapshotOf(bin, builder, blob) {
  execFileSync(bin, ["--snapshot-blob", blob, "--build-snapshot", builder], { stdio: "ignore" });
  return blob;
}

export async function levers({ work }) {
  log("levers: Node start, the entrypoint's load, compile cache, worker thread");
  const dir = join(work, "levers");
  mkdirSync(join(dir, "cache"), { recursive: true });
  const entry = bundled(join(root, "packages", "klms-tool", "dist", "entrypoint", "main.js"), dir);
  const dist = join(root, "packages", "klms-tool", "dist", "entrypoint", "main.js");
  // A snapshot's builder script must be one CommonJS file.
  const snapshotEntry = bundledCjs(
    join(root, "bench", "levers-tools", "snapshot-entry.mjs"),
    join(dir, "snapshot-entry.cjs"),
  );
  // The tool's bundle, as `npm run bundle` makes it, by how it writes its schemas.
  const tools = {
    "no schema (bench/noop: zod never loads)": bundled(join(root, "bench", "noop", "main.mjs"), join(dir, "noop")),
    'a schema, `import * as z from "klms-tool/zod"`': bundled(
      join(root, "bench", "levers-tools", "zod-namespace.mjs"),
      join(dir, "zod-namespace"),
    ),
    'a schema, `import { z } from "klms-tool"` (every zod locale)': bundled(
      join(root, "bench", "levers-tools", "zod-named.mjs"),
      join(dir, "zod-named"),
    ),
  };
  const variants = [];
  for (const [label, bin] of [...(node24 ? [["Node 24", node24]] : []), ["Node 20", process.execPath]]) {
    for (const [what, file] of Object.entries(tools))
      variants.push({ name: `tool bundle --help, ${what} (${label})`, command: bin, args: [file, "--help"] });
    variants.push(
      { name: `\`node -e 0\` (${label})`, command: bin, args: ["-e", "0"] },
      { name: `\`node -e 0\` + one worker thread started and ended (${label})`, command: bin, args: ["-e", THREAD] },
      { name: `entrypoint --help, unbundled dist/ (${label})`, command: bin, args: [dist, "--help"] },
      { name: `entrypoint --help, esbuild bundle (${label})`, command: bin, args: [entry, "--help"] },
    );
    // The floor of the modes that start the tool's own process: the entrypoint's load and the
    // tool's, one after the other (as --worker-module does: the tool is spawned once the
    // entrypoint has loaded) or both started at once (as run.sh could, before Node starts).
    const noop = tools["no schema (bench/noop: zod never loads)"];
    const pair = ['"$0" "$1" --help >/dev/null', '"$0" "$2" --help >/dev/null'];
    variants.push(
      {
        name: `entrypoint --help, then the no-op tool's --help (${label})`,
        command: "/bin/sh",
        args: ["-c", `${pair[0]}; ${pair[1]}`, bin, entry, noop],
      },
      {
        name: `entrypoint --help and the no-op tool's --help started together (${label})`,
        command: "/bin/sh",
        args: ["-c", `${pair[0]} & ${pair[1]}; wait`, bin, entry, noop],
      },
    );
    variants.push({
      name: `entrypoint --help from a V8 startup snapshot of its modules (${label})`,
      command: bin,
      args: [
        "--snapshot-blob",
        snapshotOf(bin, snapshotEntry, join(dir, `snapshot-${label.replace(" ", "")}.blob`)),
        "--",
        "--help",
      ],
    });
    if (label === "Node 24")
      variants.push({
        name: "entrypoint --help, bundle + compile cache (Node 24)",
        command: bin,
        args: [entry, "--help"],
        env: { NODE_COMPILE_CACHE: join(dir, "cache") },
      });
  }
  const times = new Map(variants.map((v) => [v.name, []]));
  for (let i = 0; i < WARMUP + RUNS * 2; i++)
    for (const v of variants) {
      const t = timed(v.command, v.args, { env: taskEnv(v.env) });
      if (i >= WARMUP) times.get(v.name).push(t);
    }
  const rows = variants.map((v) => {
    const s = stats(times.get(v.name));
    return row([v.name, ms(s.median), ms(s.min), ms(s.p90)]);
  });
  return `### Start-up levers, each alone

${RUNS * 2} runs each, interleaved. \`--help\` loads every module the entrypoint loads before its first
request, then prints and exits: its time minus \`node -e 0\` is what the entrypoint's code costs to load.
The same for the tool's bundle (its modules load, then \`main()\` prints its usage), by how the tool
writes its parameter schema. The pair rows time both loads one after the other and both started at once
(\`sh -c\`, under 2 ms of its own): what a tool's process costs when its start waits for the entrypoint's,
and when it does not. The snapshot rows start Node from a V8 startup snapshot (\`node --build-snapshot\`)
taken after the entrypoint's modules were loaded and evaluated. Every process gets the task's environment (PATH, HOME, TMPDIR, LANG).

| what | median | min | p90 |
|---|---|---|---|
${rows.join("\n")}
`;
}
