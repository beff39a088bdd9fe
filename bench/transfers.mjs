// Transfers: upload and download through the storage helpers vs curl, on the embedded store and radosgw.
import { execFileSync } from "node:child_process";
import { existsSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sigv4Args } from "./curl.mjs";
import { log, measured, QUICK, root } from "./lib.mjs";

const SIZES = (process.env.BENCH_SIZES ?? (QUICK ? "16,256" : "64,256,1024")).split(",").map(Number);

async function transfersOn(work, label, endpoint, accessKeyId, secretAccessKey, bucket, sigv4) {
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

export async function transfers({ work, startObjectStore }) {
  log(`transfers: ${SIZES.join(", ")} MiB through the storage helpers vs curl`);
  const store = await startObjectStore({ directory: join(work, "objects"), buckets: ["bench"] });
  const rows = [];
  try {
    rows.push(
      ...(await transfersOn(
        work,
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
    rows.push(...(await transfersOn(work, "radosgw", ep, ak, sk, "bench", true)));
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
