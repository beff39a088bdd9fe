// Transfers: upload and download through the storage helpers vs curl, on the embedded store and radosgw.
import { execFileSync } from "node:child_process";
import { existsSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sigv4Args } from "./curl.mjs";
import { log, measured, QUICK, root, spawnStore } from "./lib.mjs";

const SIZES = (process.env.BENCH_SIZES ?? (QUICK ? "16,256" : "64,256,1024")).split(",").map(Number);
/** Runs of each transfer (BENCH_TRANSFER_RUNS; 3, or 1 with BENCH_QUICK). */
const TRANSFER_RUNS = Number(process.env.BENCH_TRANSFER_RUNS ?? (QUICK ? 1 : 3));
/**
 * Seconds one transfer may take before it is killed and recorded as failed (BENCH_TRANSFER_TIMEOUT;
 * default 60 s plus 1 s per 4 MiB: 124 s for 256 MiB, 316 s for 1 GiB, 2 MB/s at worst).
 */
const timeoutFor = (mib) => Number(process.env.BENCH_TRANSFER_TIMEOUT ?? 60 + Math.ceil(mib / 4));

/** The run with the median time of the runs that succeeded ({ seconds, maxRssBytes }), else the first failure. */
function medianRun(list) {
  const ok = list.filter((r) => !r.failed).sort((a, b) => a.seconds - b.seconds);
  return ok.length ? ok[Math.floor(ok.length / 2)] : list[0];
}

/**
 * Runs one measured transfer under `timeout` (coreutils; it kills the transfer, not GNU time, so
 * the peak RSS stays the transfer's) and records a failure instead of throwing: { failed } with
 * the error's first line, so that the bench goes on with the other transfers.
 */
function attempt(what, seconds, run) {
  try {
    return run(["timeout", "--kill-after=5", String(seconds)]);
  } catch (error) {
    // timeout's status: 124 after SIGTERM, 137 after the SIGKILL that follows.
    const timedOut = error?.status === 124 || error?.status === 137;
    // GNU time adds "Command exited with non-zero status N" and the peak RSS line to stderr.
    const lines = String(error?.stderr ?? error?.message ?? error)
      .split("\n")
      .filter((l) => l.trim() && !/^Command (exited|terminated)|^\d+$/.test(l));
    const first = timedOut ? `timed out after ${seconds} s` : (lines[0] ?? String(error)).trim();
    log(`transfers: ${what} failed: ${first}`);
    return { failed: first.slice(0, 160) };
  }
}

/** curl, timed, under `prefix` (e.g. `ip netns exec <ns>`) and `limit` (the timeout command). */
function curl(prefix, args, limit = []) {
  const all = [...prefix, ...limit, "curl", ...args];
  return measured(all[0], all.slice(1));
}

/** ONE STREAM of ours: one PUT however large the file, one GET (as curl). "ours" is the defaults. */
const ONE_STREAM = JSON.stringify({ downloadConcurrency: 1, singlePutMaxBytes: 5 * 1024 ** 3 });

/** Our transfer in its own process (transfer-child.mjs), with `options` as StorageOptions JSON. */
function ours(direction, target, file, server, options, prefix, limit) {
  const { endpoint, accessKeyId, secretAccessKey } = server;
  const child = join(root, "bench", "transfer-child.mjs");
  const [command, ...args] = [...prefix, ...limit, process.execPath, child, direction, target, file, endpoint];
  const r = measured(command, [...args, accessKeyId, secretAccessKey], { BENCH_STORAGE_OPTIONS: options });
  return JSON.parse(r.stdout);
}

/**
 * Deletes the objects under `prefix` and aborts the multipart uploads left open there (a transfer
 * killed by its timeout leaves its parts): radosgw's in-memory OSD holds 3 GiB, less than one run
 * writes. Best effort, like any cleanup; what it could not delete is logged.
 */
export function cleanUp(server, auth, prefix, curlPrefix) {
  const base = `${server.endpoint}/${server.bucket}`;
  const run = (args) => {
    const all = [...curlPrefix, "curl", "-sSf", "--max-time", "60", ...auth, ...args];
    return execFileSync(all[0], all.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  };
  try {
    const objects = run([`${base}?list-type=2&prefix=${encodeURIComponent(prefix)}`]);
    for (const [, key] of objects.matchAll(/<Key>([^<]+)<\/Key>/g)) run(["-X", "DELETE", `${base}/${key}`]);
    // curl signs the query as written (SigV4 wants its parameters sorted, each with "=").
    const uploads = run([`${base}?prefix=${encodeURIComponent(prefix)}&uploads=`]);
    for (const [, key, id] of uploads.matchAll(/<Key>([^<]+)<\/Key>\s*<UploadId>([^<]+)<\/UploadId>/g))
      run(["-X", "DELETE", `${base}/${key}?uploadId=${encodeURIComponent(id)}`]);
  } catch (error) {
    // curl's stderr, not the error's message: that holds the command line, credentials included.
    const why = String(error?.stderr ?? "").trim() || `exit status ${error?.status}`;
    log(`transfers: cleaning up ${prefix} failed: ${why.split("\n")[0]}`);
  }
}

/** One size: TRANSFER_RUNS of each transfer, interleaved; the runs of each kind. */
function runsOf(work, server, file, mib, key, prefix, auth) {
  const { endpoint, bucket } = server;
  const url = `${endpoint}/${bucket}/${key}`;
  const back = join(work, `back-${mib}`);
  const limit = timeoutFor(mib);
  const runs = { up: [], upOne: [], upCurl: [], down: [], downOne: [], downCurl: [] };
  const mine = (kind, direction, target, options) =>
    runs[kind].push(
      attempt(`${server.label} ${mib} MiB ${kind}`, limit, (timeout) =>
        ours(direction, target, direction === "up" ? file : back, server, options, prefix, timeout),
      ),
    );
  const theirs = (kind, args) =>
    runs[kind].push(attempt(`${server.label} ${mib} MiB ${kind}`, limit, (timeout) => curl(prefix, args, timeout)));
  // At most two copies on the store at once (curl's and the one being written): radosgw's
  // in-memory OSD holds 3 GiB, and the 1 GiB rows once filled it.
  const drop = (suffix) => cleanUp(server, auth, `${key}${suffix}`, prefix);
  for (let i = 0; i < TRANSFER_RUNS; i++) {
    mine("up", "up", `s3://${bucket}/${key}-ours`, "{}");
    drop("-ours");
    mine("upOne", "up", `s3://${bucket}/${key}-one`, ONE_STREAM);
    drop("-one");
    theirs("upCurl", ["-sSf", ...auth, "-T", file, `${url}-curl`]);
    // All three downloads read the object curl wrote: the same object (a multipart one may be laid
    // out differently by the store), and one that does not depend on our upload having worked.
    mine("down", "down", `s3://${bucket}/${key}-curl`, "{}");
    rmSync(back, { force: true });
    mine("downOne", "down", `s3://${bucket}/${key}-curl`, ONE_STREAM);
    rmSync(back, { force: true });
    theirs("downCurl", ["-sSf", ...auth, "-o", back, `${url}-curl`]);
    rmSync(back, { force: true });
  }
  return runs;
}

/**
 * Upload and download of each size: ours (default strategy), ours in one stream, curl; rows for
 * BENCHMARKS.md and `results.transfers`. A failed or timed-out transfer is a row's "failed"
 * cell (with the error's first line), and the bench goes on. `server`: { label, endpoint,
 * accessKeyId, secretAccessKey, bucket, sigv4 }.
 */
export async function transfersOn(work, server, results, prefix = [], sizes = SIZES) {
  const { label, endpoint, bucket } = server;
  const rows = [];
  const auth = server.sigv4 ? sigv4Args(server.accessKeyId, server.secretAccessKey) : [];
  // Warm the server up (a new bucket's first write is slow on radosgw) before measuring.
  const warm = join(work, "warm");
  writeFileSync(warm, "warm-up");
  attempt(`${label} warm-up`, 60, (t) =>
    curl(prefix, ["-sf", ...auth, "-T", warm, `${endpoint}/${bucket}/warm-up`], t),
  );
  const { OPTIONS } = await import("../packages/klms-tool/dist/config/options.js");
  // Whether the default strategy is itself one stream at a size: then "above one stream" cannot be met.
  const oneStreamByDefault = {
    upload: (bytes) => bytes < OPTIONS.singlePutMaxBytes.default,
    download: (bytes) => bytes < OPTIONS.rangedGetMinBytes.default,
  };
  for (const mib of sizes) {
    const file = join(work, `blob-${mib}`);
    if (!existsSync(file))
      execFileSync("head", ["-c", String(mib * 1024 * 1024), "/dev/urandom"], {
        stdio: ["ignore", openSync(file, "w"), "inherit"],
      });
    const keyPrefix = `bench/${mib}-${Date.now()}`;
    let runs;
    try {
      runs = runsOf(work, server, file, mib, `${keyPrefix}/object`, prefix, auth);
    } finally {
      // Leave the store as it was (objects, and parts of uploads killed by the timeout).
      cleanUp(server, auth, `${keyPrefix}/`, prefix);
    }
    const m = Object.fromEntries(Object.entries(runs).map(([k, list]) => [k, medianRun(list)]));
    for (const [dir, a, one, curl] of [
      ["upload", m.up, m.upOne, m.upCurl],
      ["download", m.down, m.downOne, m.downCurl],
    ]) {
      const entry = { store: label, mib, direction: dir, oneStream: oneStreamByDefault[dir](mib * 1024 * 1024) };
      rows.push(transferRow(results, entry, a, one, curl));
    }
    log(`transfers: ${label} ${mib} MiB done`);
  }
  return rows;
}

/**
 * One row of the table (and its entry in `results.transfers`: `entry` plus the ratios); a failed
 * transfer's cells say so. `entry.oneStream`: the default strategy is one stream at this size.
 */
function transferRow(results, entry, a, one, curl) {
  const { store: label, mib, direction: dir } = entry;
  const bytes = mib * 1024 * 1024;
  const cell = (x, f) => (x.failed ? `failed: ${x.failed.replaceAll("|", "\\|")}` : f(x));
  const mbps = (x) => cell(x, (y) => `${(bytes / 1e6 / y.seconds).toFixed(0)} MB/s`);
  const mb = (x) => (x.failed ? "–" : `${(x.maxRssBytes / 1e6).toFixed(0)} MB`);
  const ratio = (x, y) => (x.failed || y.failed ? Number.NaN : y.seconds / x.seconds);
  const toCurl = ratio(a, curl);
  const toOne = ratio(a, one);
  const shown = (r) => (Number.isNaN(r) ? "n/a" : r.toFixed(2));
  const failed = [a, one, curl].find((x) => x.failed)?.failed;
  results.transfers.push({ ...entry, toCurl, toOne, rss: a.maxRssBytes, failed });
  return `| ${label} | ${mib} MiB | ${dir} | ${mbps(a)} | ${mbps(one)} | ${mbps(curl)} | **${shown(toCurl)}** | ${shown(toOne)} | ${mb(a)} | ${mb(one)} | ${mb(curl)} |`;
}

/** The kit's default strategies in words, from its configuration table (so that the text stays true). */
async function defaults() {
  // Imported here, not at the top: run.mjs builds the kit first when dist/ is missing.
  const { formatDefault, OPTIONS } = await import("../packages/klms-tool/dist/config/options.js");
  const d = (name) => formatDefault(OPTIONS[name]);
  return (
    `a file of ${d("singlePutMaxBytes")} or more up in ${d("partSize")} parts, ${d("uploadConcurrency")} at a time, ` +
    `smaller ones in one PUT; an object of ${d("rangedGetMinBytes")} or more down as ${d("downloadConcurrency")} ` +
    `parallel ranged GETs of ${d("downloadRangeSize")}`
  );
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
    // The bucket may already exist (409 then): only a store that does not answer stops here.
    execFileSync("curl", ["-s", "--max-time", "60", ...sigv4Args(ak, sk), "-X", "PUT", `${ep}/bench`]);
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
curl's measured by GNU time; all three downloads read the object curl uploaded. "ours" is the
default strategy (${await defaults()}), "one stream" the same helpers with one PUT however
large the file and \`downloadConcurrency: 1\` (one PUT, one GET, as curl). A transfer that fails or
takes longer than its timeout is shown as failed, with the error's first line. Goals: ours / curl at least 0.9
(radosgw), ours above one stream from 256 MiB, peak RSS under 200 MB and flat as the object grows.
Client and server share the same 2 cores: loopback figures, bound by CPU (see the network benchmark).

${TRANSFER_HEADER}
${rows.join("\n")}
`;
}
