// Transfers: upload and download through the storage helpers vs curl, on the embedded store and radosgw.
import { execFileSync } from "node:child_process";
import { existsSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sigv4Args } from "./curl.mjs";
import { log, measured, QUICK, root, spawnStore } from "./lib.mjs";

const SIZES = (process.env.BENCH_SIZES ?? (QUICK ? "16,256" : "64,256,1024")).split(",").map(Number);
/** Runs of each transfer (BENCH_TRANSFER_RUNS; 3, or 1 with BENCH_QUICK). */
const TRANSFER_RUNS = Number(process.env.BENCH_TRANSFER_RUNS ?? (QUICK ? 1 : 3));

/** The run with the median time of a list of runs ({ seconds, maxRssBytes }). */
function medianRun(list) {
  return [...list].sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)];
}

/** curl, timed, under `prefix` (e.g. `ip netns exec <ns>`). */
function curl(prefix, args) {
  return prefix.length ? measured(prefix[0], [...prefix.slice(1), "curl", ...args]) : measured("curl", args);
}

/** One STRATEGY of ours: the defaults (parallel above the thresholds) and one stream, as before. */
const ONE_STREAM = JSON.stringify({ concurrency: 1, singlePutMaxBytes: 5 * 1024 ** 3 });

/** Our transfer in its own process (transfer-child.mjs), with `options` as StorageOptions JSON. */
function ours(direction, target, file, server, options = "{}", prefix = []) {
  const { endpoint, accessKeyId, secretAccessKey } = server;
  const child = join(root, "bench", "transfer-child.mjs");
  const [command, ...args] = [...prefix, process.execPath, child, direction, target, file, endpoint];
  const r = measured(command, [...args, accessKeyId, secretAccessKey], { BENCH_STORAGE_OPTIONS: options });
  return JSON.parse(r.stdout);
}

/**
 * Upload and download of each size: ours (default strategy), ours in one stream, curl; rows for
 * BENCHMARKS.md and `results.transfers`. `server`: { label, endpoint, accessKeyId, secretAccessKey, bucket, sigv4 }.
 */
export async function transfersOn(work, server, results, prefix = [], sizes = SIZES) {
  const { label, endpoint, bucket } = server;
  const rows = [];
  const auth = server.sigv4 ? sigv4Args(server.accessKeyId, server.secretAccessKey) : [];
  // Warm the server up (a new bucket's first write is slow on radosgw) before measuring.
  const warm = join(work, "warm");
  writeFileSync(warm, "warm-up");
  curl(prefix, ["-sf", ...auth, "-T", warm, `${endpoint}/${bucket}/warm-up`]);
  for (const mib of sizes) {
    const file = join(work, `blob-${mib}`);
    if (!existsSync(file))
      execFileSync("head", ["-c", String(mib * 1024 * 1024), "/dev/urandom"], {
        stdio: ["ignore", openSync(file, "w"), "inherit"],
      });
    const bytes = mib * 1024 * 1024;
    const key = `bench/${mib}-${Date.now()}`;
    const url = `${endpoint}/${bucket}/${key}`;
    const back = join(work, `back-${mib}`);
    // TRANSFER_RUNS of each, interleaved; the run with the median time of each kind is reported.
    const runs = { up: [], upOne: [], upCurl: [], down: [], downOne: [], downCurl: [] };
    for (let i = 0; i < TRANSFER_RUNS; i++) {
      runs.up.push(ours("up", `s3://${bucket}/${key}`, file, server, "{}", prefix));
      runs.upOne.push(ours("up", `s3://${bucket}/${key}-one`, file, server, ONE_STREAM, prefix));
      // Only two copies at a time: radosgw's in-memory OSD holds 3 GiB.
      curl(prefix, ["-sf", ...auth, "-X", "DELETE", `${url}-one`]);
      runs.upCurl.push(curl(prefix, ["-sf", ...auth, "-T", file, `${url}-curl`]));
      runs.down.push(ours("down", `s3://${bucket}/${key}`, back, server, "{}", prefix));
      rmSync(back, { force: true });
      runs.downOne.push(ours("down", `s3://${bucket}/${key}`, back, server, ONE_STREAM, prefix));
      rmSync(back, { force: true });
      runs.downCurl.push(curl(prefix, ["-sf", ...auth, "-o", back, `${url}-curl`]));
      rmSync(back, { force: true });
    }
    const m = Object.fromEntries(Object.entries(runs).map(([k, list]) => [k, medianRun(list)]));
    // Leave the store as it was: radosgw's in-memory OSD holds 3 GiB, less than one run writes.
    for (const object of [url, `${url}-curl`]) curl(prefix, ["-sf", ...auth, "-X", "DELETE", object]);
    const mbps = (x) => (bytes / 1e6 / x.seconds).toFixed(0);
    const mb = (x) => (x.maxRssBytes / 1e6).toFixed(0);
    for (const [dir, a, one, curl] of [
      ["upload", m.up, m.upOne, m.upCurl],
      ["download", m.down, m.downOne, m.downCurl],
    ]) {
      const toCurl = curl.seconds / a.seconds;
      const toOne = one.seconds / a.seconds;
      results.transfers.push({ store: label, mib, direction: dir, toCurl, toOne, rss: a.maxRssBytes });
      rows.push(
        `| ${label} | ${mib} MiB | ${dir} | ${mbps(a)} MB/s | ${mbps(one)} MB/s | ${mbps(curl)} MB/s | **${toCurl.toFixed(2)}** | ${toOne.toFixed(2)} | ${mb(a)} MB | ${mb(one)} MB | ${mb(curl)} MB |`,
      );
    }
    log(`transfers: ${label} ${mib} MiB done`);
  }
  return rows;
}

/** The table's header (shared with the network benchmark). */
export const TRANSFER_HEADER = `| store | size | direction | ours | ours, one stream | curl | ours / curl | ours / one stream | ours: peak RSS | one stream: peak RSS | curl: peak RSS |
|---|---|---|---|---|---|---|---|---|---|---|`;

export async function transfers({ work, results }) {
  log(`transfers: ${SIZES.join(", ")} MiB through the storage helpers vs curl`);
  const store = await spawnStore(join(work, "objects"));
  const rows = [];
  try {
    const server = { label: "embedded (klms-local store)", endpoint: store.url, bucket: "bench", sigv4: true };
    rows.push(...(await transfersOn(work, { ...server, ...store }, results)));
  } finally {
    await store.stop();
    rmSync(join(work, "objects"), { recursive: true, force: true });
  }
  if (process.env.KLMS_TEST_RGW_ENDPOINT) {
    const { KLMS_TEST_RGW_ENDPOINT: ep, KLMS_TEST_RGW_ACCESS_KEY: ak, KLMS_TEST_RGW_SECRET_KEY: sk } = process.env;
    execFileSync("curl", ["-sf", ...sigv4Args(ak, sk), "-X", "PUT", `${ep}/bench`]);
    const server = {
      label: "radosgw",
      endpoint: ep,
      accessKeyId: ak,
      secretAccessKey: sk,
      bucket: "bench",
      sigv4: true,
    };
    rows.push(...(await transfersOn(work, server, results)));
  }
  return `### Transfers: the storage helpers vs curl

A file of random bytes uploaded, then downloaded to a file, ${TRANSFER_RUNS} run(s) of each, interleaved,
the median reported; each transfer of ours in its own process (so that its peak RSS is its own),
curl's measured by GNU time. "ours" is the default strategy (a file of 256 MiB or more up in 8 MiB parts,
4 at a time; an object of 64 MiB or more down as 4 parallel ranged GETs), "one stream" the same
helpers with \`concurrency: 1\` (one PUT, one GET, as curl). Goals: ours / curl at least 0.9
(radosgw), ours above one stream from 256 MiB, peak RSS under 200 MB and flat as the object grows.
Client and server share the same 2 cores: loopback figures, bound by CPU (see the network benchmark).

${TRANSFER_HEADER}
${rows.join("\n")}
`;
}
