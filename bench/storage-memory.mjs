// Memory of streamed transfers: does the storage module's peak RSS stay flat as objects grow?
//
//   npx tsc -b packages/klms-tool packages/klms-local
//   node bench/storage-memory.mjs [--sizes 64,256,1024] [--rgw-sizes 64,256]   # MiB; default 64,256,1024
//
// For each size: a stream of unknown length (generated, never buffered) goes up through
// storage.upload (multipart, lib-storage), then comes back through storage.open and is hashed
// on the fly; sha256 up and down must be equal. Each transfer runs in a fresh child process, so
// its peak RSS (getrusage maxrss) is its own. Baseline: curl PUT of a file of the same size and
// curl GET to /dev/null, peak RSS from GNU time. Runs against the embedded store (klms-local), and
// against radosgw too when KLMS_TEST_RGW_ENDPOINT / _ACCESS_KEY / _SECRET_KEY are set
// (scripts/ci-rgw.sh prints them). Prints a markdown table.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { sigv4Args } from "./curl.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "packages", "klms-tool", "dist", "index.js");
const MiB = 1024 * 1024;

if (process.argv[2] === "--child") await child(process.argv.slice(3));
else await main();

/** One transfer, alone in this process: prints {seconds, bytes, sha256, maxRssBytes}. */
async function child([direction, path, mib, endpoint, accessKeyId, secretAccessKey]) {
  const { createStorage, minioSettings } = await import(dist);
  const storage = createStorage(
    minioSettings({ endpoint_url: endpoint, id: accessKeyId, key: secretAccessKey }, { env: {} }),
    { maxAttempts: 3 },
  );
  // Load the SDK before the clock starts: the figure is the transfer's, not the import's.
  await storage.client();
  const hash = createHash("sha256");
  const start = performance.now();
  let bytes = 0;
  if (direction === "up") {
    await storage.upload(path, generated(Number(mib) * MiB, hash));
    bytes = storage.bytesOut;
  } else {
    for await (const chunk of await storage.open(path)) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  storage.close();
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ seconds, bytes, sha256: hash.digest("hex"), maxRssBytes })}\n`);
}

/** `size` bytes made on demand, 1 MiB at a time, hashed as they leave: no length is announced. */
function generated(size, hash) {
  const block = randomBytes(MiB);
  let left = size;
  let n = 0;
  return new Readable({
    read() {
      if (left === 0) return this.push(null);
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, left)));
      chunk.writeUInt32BE(n++, 0); // every block differs, so a misplaced part would show in the hash
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
}

async function main() {
  const option = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return (i > 0 ? process.argv[i + 1] : fallback).split(",").map(Number);
  };
  const sizes = option("--sizes", process.env.BENCH_SIZES ?? "64,256,1024");
  // radosgw's in-memory OSD keeps deleted objects until its garbage collector runs (hours by
  // default), so a small memstore may need smaller sizes there.
  const rgwSizes = option("--rgw-sizes", sizes.join(","));
  if (!existsSync(dist)) {
    console.error("build first: npx tsc -b packages/klms-tool packages/klms-local");
    process.exit(2);
  }
  const work = mkdtempSync(join(tmpdir(), "klms-storage-memory-"));
  const rows = [];
  const { startObjectStore } = await import(join(root, "packages", "klms-local", "dist", "index.js"));
  const store = await startObjectStore({ directory: join(work, "objects"), buckets: ["bench"] });
  try {
    rows.push(
      ...runOn("embedded (klms-local store)", store.url, store.accessKeyId, store.secretAccessKey, [], sizes, work),
    );
  } finally {
    await store.stop();
    rmSync(join(work, "objects"), { recursive: true, force: true });
  }
  const env = process.env;
  if (env.KLMS_TEST_RGW_ENDPOINT && env.KLMS_TEST_RGW_ACCESS_KEY && env.KLMS_TEST_RGW_SECRET_KEY) {
    const ep = env.KLMS_TEST_RGW_ENDPOINT;
    const sign = sigv4Args(env.KLMS_TEST_RGW_ACCESS_KEY, env.KLMS_TEST_RGW_SECRET_KEY);
    spawnSync("curl", ["-s", "-o", "/dev/null", ...sign, "-X", "PUT", `${ep}/bench-memory`]);
    rows.push(
      ...runOn(
        "radosgw",
        ep,
        env.KLMS_TEST_RGW_ACCESS_KEY,
        env.KLMS_TEST_RGW_SECRET_KEY,
        sign,
        rgwSizes,
        work,
        "bench-memory",
      ),
    );
  } else {
    console.error("radosgw: skipped (KLMS_TEST_RGW_ENDPOINT/_ACCESS_KEY/_SECRET_KEY not set; see scripts/ci-rgw.sh)");
  }
  rmSync(work, { recursive: true, force: true });
  console.log(`
Streamed transfers (stream of unknown length up, stream down and hashed), each in a fresh process.
Throughput in MB/s (10^6 bytes); peak RSS of the whole process in MB. Client and server share the machine.

| store | size | direction | storage MB/s | storage peak RSS | curl MB/s | curl peak RSS | sha256 equal |
|---|---|---|---|---|---|---|---|
${rows.join("\n")}
`);
}

function runOn(label, endpoint, accessKeyId, secretAccessKey, sign, sizes, work, bucket = "bench") {
  const rows = [];
  for (const mib of sizes) {
    const key = `memory/${mib}-${Date.now()}.bin`;
    const path = `s3://${bucket}/${key}`;
    const args = [endpoint, accessKeyId, secretAccessKey];
    const up = ours(["up", path, String(mib), ...args]);
    const down = ours(["down", path, String(mib), ...args]);
    const same = up.sha256 === down.sha256 && down.bytes === mib * MiB;
    // curl reads a file (it cannot sign a stream of unknown length); make it outside the measurement.
    const file = join(work, `blob-${mib}`);
    execFileSync("head", ["-c", String(mib * MiB), "/dev/urandom"], {
      stdio: ["ignore", openSync(file, "w"), "inherit"],
    });
    const url = `${endpoint}/${bucket}/${key}.curl`;
    const curlUp = timed("curl", ["-sfS", ...sign, "-T", file, url]);
    rmSync(file, { force: true });
    const curlDown = timed("curl", ["-sfS", ...sign, "-o", "/dev/null", url]);
    for (const k of [key, `${key}.curl`]) {
      spawnSync("curl", ["-s", "-o", "/dev/null", ...sign, "-X", "DELETE", `${endpoint}/${bucket}/${k}`]);
    }
    const mbps = (s) => ((mib * MiB) / 1e6 / s).toFixed(0);
    const mb = (b) => (b / 1e6).toFixed(0);
    rows.push(
      `| ${label} | ${mib} MiB | upload | ${mbps(up.seconds)} | ${mb(up.maxRssBytes)} MB | ${mbps(curlUp.seconds)} | ${mb(curlUp.maxRssBytes)} MB | ${same ? "yes" : "NO"} |`,
      `| ${label} | ${mib} MiB | download | ${mbps(down.seconds)} | ${mb(down.maxRssBytes)} MB | ${mbps(curlDown.seconds)} | ${mb(curlDown.maxRssBytes)} MB | ${same ? "yes" : "NO"} |`,
    );
    console.error(rows.slice(-2).join("\n"));
  }
  return rows;
}

/** A transfer of ours in a fresh process. */
function ours(args) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", ...args], {
    encoding: "utf8",
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  });
  if (r.status !== 0) throw new Error(`transfer ${args[0]} ${args[1]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

/** A command's wall time and peak RSS (GNU time). */
function timed(command, args) {
  const t = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", command, ...args], { encoding: "utf8" });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}`);
  return { seconds, maxRssBytes: Number(r.stderr.trim().split("\n").pop()) * 1024 };
}
