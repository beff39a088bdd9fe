import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { type ObjectStore, startObjectStore } from "../../klms-local/src/object-store.ts";
import { createStorage, type Storage, StorageError, type TransferProgress } from "../../klms-tool/src/index.ts";
import { parsePath } from "../../klms-tool/src/internal.ts";
import { createLogger } from "../../klms-tool/src/log/logger.ts";
import { Masker } from "../../klms-tool/src/log/mask.ts";
import { explain } from "../../klms-tool/src/storage/errors.ts";
import { safeRelativePath } from "../../klms-tool/src/storage/paths.ts";
import { progressReporter } from "../../klms-tool/src/storage/progress.ts";
import { createInputFile, createOutputTarget } from "../../klms-tool/src/storage/task-files.ts";

const BUCKET = "klms-bucket";
const MiB = 1024 * 1024;

/** A stream of `size` pseudo-random bytes, made on the fly (never held in memory), and its sha256. */
function generated(size: number, seed = 1): { stream: Readable; sha256: Promise<string> } {
  const hash = createHash("sha256");
  let left = size;
  let x = seed;
  let resolve!: (v: string) => void;
  const sha256 = new Promise<string>((r) => {
    resolve = r;
  });
  const stream = new Readable({
    read() {
      if (left === 0) {
        resolve(hash.digest("hex"));
        this.push(null);
        return;
      }
      const n = Math.min(left, 256 * 1024);
      const chunk = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        x = (x * 1103515245 + 12345) >>> 0;
        chunk.writeUInt32LE(x, Math.min(i, n - 4));
      }
      hash.update(chunk);
      left -= n;
      this.push(chunk);
    },
  });
  return { stream, sha256 };
}

async function sha256Of(stream: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest("hex");
}

describe("storage paths", () => {
  const good: [string, string, string][] = [
    ["s3://klms-bucket/a/b.csv", "klms-bucket", "a/b.csv"],
    ["klms-bucket/a/b.csv", "klms-bucket", "a/b.csv"],
    ["S3://klms-bucket/x", "klms-bucket", "x"],
    ["s3://klms-bucket/folder/", "klms-bucket", "folder/"],
    ["s3://klms-bucket", "klms-bucket", ""],
  ];
  for (const [path, bucket, key] of good) {
    test(`parses ${path}`, () => assert.deepEqual(parsePath(path), { bucket, key }));
  }
  const bad: [string, RegExp][] = [
    ["", /an object path is required, like s3:\/\/bucket/],
    ["https://host/b/k", /not an object store path: use s3:\/\/bucket\/key \(got the scheme "https"\)/],
    ["s3://UPPER/k", /no valid bucket name/],
    ["s3://a/k", /no valid bucket name/],
  ];
  for (const [path, message] of bad) {
    test(`refuses ${JSON.stringify(path)}`, () =>
      assert.throws(
        () => parsePath(path),
        (e: unknown) => e instanceof StorageError && message.test(e.message),
      ));
  }
  test("a bucket without a key where an object is needed", () => {
    assert.throws(
      () => parsePath("s3://klms-bucket/", { requireKey: true }),
      /names a bucket but no object: add the key/,
    );
  });
  test("keys that would escape a folder are refused", () => {
    for (const key of ["p/../x", "p/./x", "p//x", "p/a\\..\\x", "p/"])
      assert.equal(safeRelativePath(key, "p/"), undefined, key);
    assert.equal(safeRelativePath("p/a/b.csv", "p/"), "a/b.csv");
  });
});

describe("storage errors", () => {
  const secret = "wJalrXUtnFEMI-very-secret";
  const token = "FQoGZXIvYXdzE-session-token";
  // What the SDK throws: the S3 error code as the name, or a network errno; the message may echo
  // request details, so it carries the credentials here to prove they do not reach the result.
  const cases: [string, object, RegExp][] = [
    ["ExpiredToken", { name: "ExpiredToken" }, /have expired .*run the task again/],
    ["InvalidAccessKeyId", { name: "InvalidAccessKeyId" }, /access key is not known .*check minio\.id/],
    ["SignatureDoesNotMatch", { name: "SignatureDoesNotMatch" }, /secret key \(minio\.key\) does not match/],
    ["AccessDenied", { name: "AccessDenied" }, /access denied: .*session token \(minio\.skey\)/],
    ["NoSuchBucket", { name: "NoSuchBucket" }, /the bucket does not exist: check the bucket name/],
    ["NoSuchKey", { name: "NoSuchKey" }, /the object does not exist: check the path/],
    ["NoSuchKey", { name: "NotFound", $metadata: { httpStatusCode: 404 } }, /the object does not exist/],
    [
      "ECONNREFUSED",
      { name: "Error", code: "ECONNREFUSED" },
      /nothing answers at the endpoint: check minio\.endpoint_url/,
    ],
  ];
  for (const [code, error, hint] of cases) {
    test(`${code} (${(error as { name: string }).name}) is explained without credentials`, () => {
      const e = explain(Object.assign(new Error(`request with ${secret} and ${token}`), error), {
        action: "download",
        bucket: "klms-bucket",
        key: "in/data.csv",
        endpoint: "https://minio.example.org",
      });
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, code);
      assert.match(e.message, /^download s3:\/\/klms-bucket\/in\/data\.csv at https:\/\/minio\.example\.org failed: /);
      assert.match(e.message, hint);
      assert.ok(!e.message.includes(secret) && !e.message.includes(token));
    });
  }
});

describe("progress reporter", () => {
  test("a terminal gets one line redrawn in place, with a bar", () => {
    let out = "";
    const write = (s: string) => {
      out += s;
      return true;
    };
    const stream = { isTTY: true, write } as unknown as NodeJS.WriteStream;
    const report = progressReporter({
      log: createLogger({ source: "t", masker: new Masker(), write: () => {} }),
      stream,
      intervalMs: 0,
    });
    report({ direction: "upload", path: "s3://b/k", done: 512, total: 1024 });
    report({ direction: "upload", path: "s3://b/k", done: 1024, total: 1024 });
    assert.match(out, /^\r\[#{12}\.{12}\] 50% upload s3:\/\/b\/k 512 B \/ 1\.0 KiB/);
    assert.match(out, /\r\[#{24}\] 100% upload s3:\/\/b\/k 1\.0 KiB \/ 1\.0 KiB\x1b\[K\n$/);
    assert.equal(out.split("\n").length, 2, "a single line, ended once");
  });
  test("elsewhere, log lines at most every interval, and the last one", () => {
    const lines: string[] = [];
    const log = createLogger({ source: "t", masker: new Masker(), write: (l) => lines.push(l) });
    const stream = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
    const report = progressReporter({ log, stream, intervalMs: 60_000 });
    for (let done = 0; done <= 100; done += 10) report({ direction: "download", path: "s3://b/k", done, total: 100 });
    assert.equal(lines.length, 2, "the first event, then none until the transfer ends");
    assert.match(lines[1] ?? "", /download s3:\/\/b\/k 100 B \/ 100 B \(100%\)/);
  });
});

describe("storage against the embedded object store", () => {
  let store: ObjectStore;
  let storage: Storage;
  let dir: string;
  const events: TransferProgress[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "klms-storage-"));
    store = await startObjectStore({ directory: join(dir, "objects"), buckets: [BUCKET] });
    storage = createStorage(
      {
        endpoint: store.url,
        host: "127.0.0.1",
        port: 0,
        useSSL: false,
        ...store.mint("dev", 3600),
        source: "endpoint_url",
      },
      { partSize: 5 * MiB, onProgress: (p) => events.push(p) },
    );
  });
  after(async () => {
    storage.close();
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("put, stat, exists, getText, delete", async () => {
    assert.equal(await storage.put(`s3://${BUCKET}/t/hello.txt`, "hello"), `s3://${BUCKET}/t/hello.txt`);
    assert.equal((await storage.stat(`${BUCKET}/t/hello.txt`))?.size, 5);
    assert.equal(await storage.getText({ bucket: BUCKET, key: "t/hello.txt" }), "hello");
    assert.equal(await storage.exists(`s3://${BUCKET}/t/missing`), false);
    await storage.delete(`s3://${BUCKET}/t/hello.txt`);
    assert.equal(await storage.exists(`s3://${BUCKET}/t/hello.txt`), false);
  });

  test("a stream of unknown length goes up in parts and comes back identical", async () => {
    const size = 23 * MiB + 123;
    const data = generated(size);
    events.length = 0;
    await storage.upload(`s3://${BUCKET}/big/data.bin`, data.stream);
    assert.equal((await storage.stat(`s3://${BUCKET}/big/data.bin`))?.size, size);
    assert.equal(
      await sha256Of((await storage.open(`s3://${BUCKET}/big/data.bin`)) as AsyncIterable<Buffer>),
      await data.sha256,
    );
    assert.ok(
      events.some((e) => e.direction === "upload" && e.done === size),
      "upload progress reaches the size",
    );
    assert.ok(events.some((e) => e.direction === "download" && e.total === size && e.done === size));
    assert.ok(storage.bytesOut >= size && storage.bytesIn >= size);
  });

  test("a file goes up in one PUT below the threshold and in parts above it, intact both ways", async () => {
    const file = join(dir, "twelve.bin");
    const data = generated(12 * MiB + 5, 3);
    await writeFile(file, data.stream);
    const expected = await data.sha256;
    const small = createStorage(
      {
        endpoint: store.url,
        host: "",
        port: 0,
        useSSL: false,
        accessKeyId: store.accessKeyId,
        secretAccessKey: store.secretAccessKey,
        source: "endpoint_url",
      },
      { singlePutMaxBytes: 5 * MiB, partSize: 5 * MiB },
    );
    try {
      events.length = 0;
      await storage.upload(`s3://${BUCKET}/file/one-put.bin`, file);
      await small.upload(`s3://${BUCKET}/file/parts.bin`, file);
      for (const key of ["file/one-put.bin", "file/parts.bin"]) {
        assert.equal(
          await sha256Of((await storage.open(`s3://${BUCKET}/${key}`)) as AsyncIterable<Buffer>),
          expected,
          key,
        );
      }
      assert.ok(
        events.some((e) => e.path.endsWith("one-put.bin") && e.done === 12 * MiB + 5 && e.total === 12 * MiB + 5),
      );
    } finally {
      small.close();
    }
  });

  test("download keeps the base name; a failed download leaves no file", async () => {
    await storage.put(`s3://${BUCKET}/in/series-1.csv`, "a,b\n1,2\n");
    const local = await storage.downloadInto(`s3://${BUCKET}/in/series-1.csv`, join(dir, "dl"));
    assert.equal(local, join(dir, "dl", "series-1.csv"));
    assert.equal(await readFile(local, "utf8"), "a,b\n1,2\n");
    await assert.rejects(
      storage.downloadInto(`s3://${BUCKET}/in/nope.csv`, join(dir, "dl")),
      (e: unknown) => e instanceof StorageError && e.code === "NoSuchKey" && /does not exist/.test(e.message),
    );
    assert.deepEqual(await readdir(join(dir, "dl")), ["series-1.csv"]);
  });

  test("a cancelled download leaves no partial file", async () => {
    const data = generated(12 * MiB, 11);
    await storage.upload(`s3://${BUCKET}/dl/big.bin`, data.stream);
    const controller = new AbortController();
    const target = join(dir, "cancelled");
    await assert.rejects(
      storage.downloadInto(`s3://${BUCKET}/dl/big.bin`, target, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.done >= MiB) controller.abort();
        },
      }),
      (e: unknown) => e instanceof StorageError,
    );
    assert.deepEqual(await readdir(target), []);
  });

  test("keys that name no file cannot be downloaded into a folder", async () => {
    for (const path of [`s3://${BUCKET}/dl/..`, `s3://${BUCKET}/dl/.`, `s3://${BUCKET}/dl/`]) {
      await assert.rejects(
        storage.downloadInto(path, join(dir, "safe")),
        (e: unknown) => e instanceof StorageError && e.code === "BadPath",
        path,
      );
    }
  });

  test("getBuffer refuses an object over its limit", async () => {
    await storage.put(`s3://${BUCKET}/in/ten.bin`, Buffer.alloc(10));
    await assert.rejects(
      storage.getBuffer(`s3://${BUCKET}/in/ten.bin`, { maxBytes: 5 }),
      /over the 5-byte limit for reading into memory: use open\(\) or download\(\)/,
    );
  });

  test("folders go up and down, and listing pages", async () => {
    const src = join(dir, "folder");
    await mkdir(join(src, "sub"), { recursive: true });
    for (let i = 0; i < 7; i++) await writeFile(join(src, `f${i}.txt`), `file ${i}`);
    await writeFile(join(src, "sub", "deep.txt"), "deep");
    const written = await storage.uploadFolder(src, `s3://${BUCKET}/out/run1/`);
    assert.equal(written.length, 8);
    const listed: string[] = [];
    for await (const o of storage.list(`s3://${BUCKET}/out/run1/`, { pageSize: 3 })) listed.push(o.key);
    assert.equal(listed.length, 8, "three pages of three, three and two");
    assert.ok(listed.includes("out/run1/sub/deep.txt"));
    const back = await storage.downloadFolder(`s3://${BUCKET}/out/run1`, join(dir, "back"));
    assert.equal(back.length, 8);
    assert.equal(await readFile(join(dir, "back", "sub", "deep.txt"), "utf8"), "deep");
  });

  test("a cancelled upload leaves no object", async () => {
    const controller = new AbortController();
    const data = generated(40 * MiB, 7);
    let started = false;
    const pending = storage.upload(`s3://${BUCKET}/cancel/x.bin`, data.stream, {
      signal: controller.signal,
      onProgress: () => {
        if (!started) {
          started = true;
          controller.abort();
        }
      },
    });
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof StorageError && e.code === "AbortError" && /was cancelled/.test(e.message),
    );
    assert.equal(await storage.exists(`s3://${BUCKET}/cancel/x.bin`), false);
  });

  test("errors say what to check and never show a credential", async () => {
    const wrong = createStorage(
      {
        endpoint: store.url,
        host: "",
        port: 0,
        useSSL: false,
        accessKeyId: "NOT-A-KEY-1234",
        secretAccessKey: "s3cr3t-value-xyz",
        source: "endpoint_url",
      },
      { maxAttempts: 1 },
    );
    await assert.rejects(wrong.put(`s3://${BUCKET}/x`, "x"), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, "InvalidAccessKeyId");
      assert.match(
        e.message,
        /upload s3:\/\/klms-bucket\/x at http:\/\/127\.0\.0\.1:\d+ failed: the access key is not known/,
      );
      assert.doesNotMatch(e.message, /NOT-A-KEY-1234|s3cr3t-value-xyz/);
      return true;
    });
    wrong.close();
    const nowhere = createStorage(
      {
        endpoint: "http://127.0.0.1:9",
        host: "",
        port: 9,
        useSSL: false,
        accessKeyId: "a",
        secretAccessKey: "b",
        source: "endpoint_url",
      },
      { maxAttempts: 1 },
    );
    await assert.rejects(
      nowhere.stat(`s3://${BUCKET}/x`),
      (e: unknown) => e instanceof StorageError && /nothing answers at the endpoint/.test(e.message),
    );
    nowhere.close();
    await assert.rejects(
      storage.put(`s3://no-such-bucket/x`, "x"),
      (e: unknown) => e instanceof StorageError && e.code === "NoSuchBucket",
    );
  });

  test("task files: inputs download and open; outputs upload and are recorded", async () => {
    await storage.put(`s3://${BUCKET}/task/in/a.csv`, "x\n1\n");
    const produced: Record<string, string> = {};
    const ctx = {
      storage: () => storage,
      workdir: join(dir, "work"),
      onUpload: (n: string, p: string) => {
        produced[n] = p;
      },
    };
    const file = createInputFile(`s3://${BUCKET}/task/in/a.csv`, ctx);
    assert.deepEqual([file.name, file.bucket, file.key], ["a.csv", BUCKET, "task/in/a.csv"]);
    assert.equal(await readFile(await file.download(), "utf8"), "x\n1\n");
    assert.equal(await file.text(), "x\n1\n");

    const report = createOutputTarget("report", `s3://${BUCKET}/task/out/report.csv`, ctx);
    await writeFile(join(dir, "local.csv"), "r\n");
    assert.equal(await report.upload(join(dir, "local.csv")), `s3://${BUCKET}/task/out/report.csv`);
    const folder = createOutputTarget("figures", `s3://${BUCKET}/task/out/figs/`, ctx);
    assert.equal(await folder.upload(join(dir, "local.csv")), `s3://${BUCKET}/task/out/figs/local.csv`);
    const missing = createOutputTarget("none", "", ctx);
    await assert.rejects(missing.write("x"), /gives no path for output "none"/);
    assert.deepEqual(produced, {
      report: `s3://${BUCKET}/task/out/report.csv`,
      figures: `s3://${BUCKET}/task/out/figs/local.csv`,
    });
  });
});
