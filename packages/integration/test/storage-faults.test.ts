/**
 * Storage fault classes (issue 12, items 2, 9, 10, 11) against the embedded object store and
 * against small real HTTP servers on 127.0.0.1 that misbehave on purpose (never answer, stall
 * a body, close mid-body, list inconsistently). Every test asserts the error the caller gets,
 * and that the storage still works afterwards. Tests that used to hang carry a test timeout, so
 * that before the fixes they fail instead of hanging the run.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createReadStream, truncateSync, writeFileSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type ObjectStore, startObjectStore } from "../../klms-local/src/object-store.ts";
import type { MinioSettings } from "../../klms-tool/src/contract/minio.ts";
import { createStorage, type Storage, StorageError, type StorageOptions } from "../../klms-tool/src/index.ts";
import { explain } from "../../klms-tool/src/storage/errors.ts";
import { createOutputTarget } from "../../klms-tool/src/storage/task-files.ts";

const BUCKET = "klms-bucket";
const MiB = 1024 * 1024;
/** Guards the tests whose fault used to hang forever: they fail at this limit instead. */
const HANG_GUARD = { timeout: 120_000 };

/** The embedded store's settings, as the other storage tests build them. */
function storeSettings(store: ObjectStore): MinioSettings {
  return {
    endpoint: store.url,
    host: "127.0.0.1",
    port: 0,
    useSSL: false,
    ...store.mint("dev", 3600),
    source: "endpoint_url",
  };
}

/** Settings for a fake endpoint (the misbehaving servers below check no credential). */
function endpointSettings(url: string): MinioSettings {
  return {
    endpoint: url,
    host: "127.0.0.1",
    port: 0,
    useSSL: false,
    accessKeyId: "AKIAFAKE",
    secretAccessKey: "fake-secret-value",
    source: "endpoint_url",
  };
}

/** A readable that yields `failAfter` bytes and then fails with "disk gone" (a failing source). */
function failingSource(failAfter: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= failAfter) {
        this.destroy(new Error("disk gone while reading the source"));
        return;
      }
      const n = Math.min(MiB, failAfter - sent);
      sent += n;
      this.push(Buffer.alloc(n, 7));
    },
  });
}

/** A real HTTP server on 127.0.0.1 with the given handler; `close()` ends it and its sockets. */
async function serve(
  handler: (req: import("node:http").IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(handler);
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function listPage(keys: string[], truncated: boolean, next?: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Name>${BUCKET}</Name><Prefix></Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
    `<IsTruncated>${truncated}</IsTruncated>${next ? `<NextContinuationToken>${next}</NextContinuationToken>` : ""}` +
    keys.map((k) => `<Contents><Key>${k}</Key><Size>1</Size></Contents>`).join("") +
    "</ListBucketResult>"
  );
}

describe("storage faults against the embedded object store", () => {
  let store: ObjectStore;
  let storage: Storage;
  let dir: string;
  /** Keys of single PUTs aborted half-way: none may exist afterwards. */
  const aborted: string[] = [];
  const make = (options: StorageOptions = {}) => createStorage(storeSettings(store), { partSize: 5 * MiB, ...options });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "klms-storage-faults-"));
    store = await startObjectStore({ directory: join(dir, "objects"), buckets: [BUCKET] });
    storage = make();
    await storage.put(`s3://${BUCKET}/big/four.bin`, Buffer.alloc(4 * MiB, 1));
    await storage.put(`s3://${BUCKET}/big/rows.csv`, `a,b\n${"1,2\n".repeat(MiB)}`);
  });
  after(async () => {
    storage.close();
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // The SDK's pool holds 50 sockets: 60 early exits that each kept one made the 51st call wait forever.
  test("60 opened streams destroyed at once, then any call works", HANG_GUARD, async () => {
    for (let i = 0; i < 60; i++) (await storage.open(`s3://${BUCKET}/big/four.bin`)).destroy();
    assert.equal((await storage.getBuffer(`s3://${BUCKET}/big/four.bin`)).length, 4 * MiB);
  });

  test("60 getBuffer calls over maxBytes, then any call works", HANG_GUARD, async () => {
    for (let i = 0; i < 60; i++) {
      await assert.rejects(
        storage.getBuffer(`s3://${BUCKET}/big/four.bin`, { maxBytes: 1000 }),
        (e: unknown) => e instanceof StorageError && e.code === "TooLarge",
      );
    }
    assert.equal((await storage.stat(`s3://${BUCKET}/big/four.bin`))?.size, 4 * MiB);
  });

  test("60 CSV reads that break after the first line (for await), then any call works", HANG_GUARD, async () => {
    for (let i = 0; i < 60; i++) {
      let first = "";
      for await (const chunk of await storage.open(`s3://${BUCKET}/big/rows.csv`)) {
        first = String(chunk).split("\n")[0] ?? "";
        break;
      }
      assert.equal(first, "a,b");
    }
    assert.equal(await storage.exists(`s3://${BUCKET}/big/rows.csv`), true);
  });

  // readline does not destroy its input when a loop over it breaks: the stream stays paused and
  // holds its socket. The idle timeout releases it (quietly: nobody listens to it any more).
  test(
    "60 readline loops that break after the first line: the idle timeout frees their connections",
    HANG_GUARD,
    async () => {
      const short = make({ idleTimeoutMs: 1000 });
      try {
        for (let i = 0; i < 60; i++) {
          const lines = createInterface({ input: await short.open(`s3://${BUCKET}/big/rows.csv`) });
          for await (const line of lines) {
            assert.equal(line, "a,b");
            break;
          }
        }
        assert.equal(
          await short.getText(`s3://${BUCKET}/big/rows.csv`, { maxBytes: 8 * MiB }).then((t) => t.length),
          4 + 4 * MiB,
        );
      } finally {
        short.close();
      }
    },
  );

  for (const failAfter of [0, MiB, 12 * MiB]) {
    test(
      `upload of a stream that fails after ${failAfter / MiB} MiB settles with the source's error`,
      HANG_GUARD,
      async () => {
        const key = `s3://${BUCKET}/failing/${failAfter}.bin`;
        await assert.rejects(storage.upload(key, failingSource(failAfter)), (e: unknown) => {
          assert.ok(e instanceof StorageError, String(e));
          assert.equal(e.code, "SourceError");
          assert.match(
            e.message,
            /^upload s3:\/\/klms-bucket\/failing\/\d+\.bin failed: reading the data to upload failed: Error \(disk gone while reading the source\)$/,
          );
          return true;
        });
        assert.equal(await storage.exists(key), false, "no object is left");
      },
    );
  }

  test("upload of fs.createReadStream of a missing file settles with ENOENT, naming the file", HANG_GUARD, async () => {
    const missing = join(dir, "no-such-file.csv");
    await assert.rejects(
      storage.upload(`s3://${BUCKET}/failing/missing.csv`, createReadStream(missing)),
      (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, "ENOENT");
        assert.ok(e.message.includes(`(local file ${missing})`), e.message);
        assert.match(e.message, /reading the data to upload failed: the local file or folder does not exist/);
        assert.doesNotMatch(e.message, /object store answered/);
        return true;
      },
    );
    await assert.rejects(storage.upload(`s3://${BUCKET}/failing/missing.csv`, missing), (e: unknown) => {
      return e instanceof StorageError && e.code === "ENOENT" && e.message.includes(missing);
    });
  });

  test(
    "a file that shrinks during a single-PUT upload fails with the cause instead of hanging",
    HANG_GUARD,
    async () => {
      const file = join(dir, "shrinking.bin");
      await writeFile(
        file,
        Readable.from(
          (function* () {
            for (let i = 0; i < 200; i++) yield Buffer.alloc(MiB, i);
          })(),
        ),
      );
      let truncated = false;
      const key = `s3://${BUCKET}/changing/shrunk.bin`;
      await assert.rejects(
        storage.upload(key, file, {
          onProgress: (p) => {
            if (!truncated && p.done >= 20 * MiB) {
              truncated = true;
              truncateSync(file, 50 * MiB);
            }
          },
        }),
        (e: unknown) => {
          assert.ok(e instanceof StorageError, String(e));
          assert.equal(e.code, "SourceChanged");
          assert.match(
            e.message,
            /the local file .*shrinking\.bin changed while it was being uploaded \(it shrank: 52428800 of 209715200 bytes were read\)/,
          );
          assert.match(e.message, /nothing was stored/);
          return true;
        },
      );
      assert.ok(truncated);
      aborted.push(key);
      await rm(file);
    },
  );

  test("a file that grows during an upload fails naming the cause, not the session token", HANG_GUARD, async () => {
    const file = join(dir, "growing.bin");
    await writeFile(file, Buffer.alloc(12 * MiB, 3));
    let grown = false;
    const key = `s3://${BUCKET}/changing/grown.bin`;
    await assert.rejects(
      storage.upload(key, file, {
        onProgress: (p) => {
          if (!grown && p.done >= MiB) {
            grown = true;
            writeFileSync(file, Buffer.alloc(2 * MiB, 4), { flag: "a" });
          }
        },
      }),
      (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, "SourceChanged");
        assert.match(e.message, /changed while it was being uploaded \(it grew: more than 12582912 bytes were read\)/);
        assert.doesNotMatch(e.message, /token|skey|credential/);
        return true;
      },
    );
    aborted.push(key);
    // The same in parts (a file over singlePutMaxBytes). The first progress event comes when a
    // part is stored; by then at most uploadConcurrency + 1 parts (40 MiB) of the 60 have been read.
    const parts = make({ singlePutMaxBytes: 5 * MiB });
    try {
      await writeFile(file, Buffer.alloc(60 * MiB, 3));
      let again = false;
      await assert.rejects(
        parts.upload(`${key}.parts`, file, {
          onProgress: () => {
            if (!again) {
              again = true;
              return appendFile(file, Buffer.alloc(6 * MiB, 4));
            }
          },
        }),
        (e: unknown) => e instanceof StorageError && e.code === "SourceChanged" && /it grew/.test(e.message),
      );
      assert.equal(await parts.exists(`${key}.parts`), false);
    } finally {
      parts.close();
      await rm(file);
    }
  });

  // The object appears whole or not at all: a PUT the client cut half-way stores nothing
  // (radosgw too: storage-rgw.test.ts asserts it there).
  test("a single PUT aborted half-way leaves no object on the embedded store", async () => {
    assert.equal(aborted.length, 2, "the shrink and grow tests ran first");
    for (const key of aborted) assert.equal(await storage.exists(key), false, key);
  });

  test("an output target given a missing file fails naming the file, as a local problem", async () => {
    const missing = join(dir, "never-written.csv");
    const ctx = { storage: () => storage, workdir: dir, onUpload: () => assert.fail("nothing was uploaded") };
    const target = createOutputTarget("report", `s3://${BUCKET}/out/`, ctx);
    await assert.rejects(target.upload(missing), (e: unknown) => {
      assert.ok(e instanceof StorageError, String(e));
      assert.equal(e.code, "ENOENT");
      assert.equal(
        e.message,
        `upload s3://${BUCKET}/out/never-written.csv failed (local file ${missing}): reading the data to upload failed: ` +
          "the local file or folder does not exist (ENOENT): check the path",
      );
      return true;
    });
  });

  test("cancelling while an opened stream is read ends it with the cancellation", HANG_GUARD, async () => {
    const controller = new AbortController();
    const stream = await storage.open(`s3://${BUCKET}/big/four.bin`, { signal: controller.signal });
    let read = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          read += (chunk as Buffer).length;
          controller.abort();
        }
      })(),
      (e: unknown) => e instanceof StorageError && e.code === "AbortError" && /was cancelled/.test(e.message),
    );
    assert.ok(read > 0 && read < 4 * MiB, `stopped early (${read} bytes read)`);
    assert.equal(await storage.exists(`s3://${BUCKET}/big/four.bin`, { signal: new AbortController().signal }), true);
  });

  test("zero-byte folder markers become folders in downloadFolder", async () => {
    await storage.put(`s3://${BUCKET}/data/`, "");
    await storage.put(`s3://${BUCKET}/data/sub/`, "");
    await storage.put(`s3://${BUCKET}/data/empty/`, "");
    await storage.put(`s3://${BUCKET}/data/sub/x.csv`, "x\n1\n");
    const target = join(dir, "markers");
    const files = await storage.downloadFolder(`s3://${BUCKET}/data/`, target);
    assert.deepEqual(files, [join(target, "sub", "x.csv")]);
    assert.deepEqual((await readdir(target)).sort(), ["empty", "sub"]);
    assert.ok((await stat(join(target, "empty"))).isDirectory());
    assert.equal(await readFile(join(target, "sub", "x.csv"), "utf8"), "x\n1\n");
    // A key ending in "/" that holds data is not silently dropped.
    await storage.put(`s3://${BUCKET}/data/odd/`, "not empty");
    await assert.rejects(
      storage.downloadFolder(`s3://${BUCKET}/data/`, join(dir, "markers-2")),
      (e: unknown) =>
        e instanceof StorageError &&
        e.code === "BadPath" &&
        /ends with "\/" like a folder but holds 9 bytes/.test(e.message),
    );
  });

  test("a full disk during download() is a local disk problem, and leaves no partial file", async (t) => {
    if (process.getuid?.() !== 0) return t.skip("mounting a 1 MiB tmpfs needs root");
    const small = join(dir, "small-disk");
    await mkdir(small);
    try {
      await promisify(execFile)("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]);
    } catch (error) {
      return t.skip(`cannot mount a tmpfs here: ${(error as Error).message}`);
    }
    try {
      await assert.rejects(storage.downloadInto(`s3://${BUCKET}/big/four.bin`, small), (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, "ENOSPC");
        assert.ok(
          e.message.startsWith(`download s3://${BUCKET}/big/four.bin failed (local file ${join(small, "four.bin")}): `),
          e.message,
        );
        assert.match(e.message, /the local disk is full \(ENOSPC\)/);
        assert.doesNotMatch(e.message, /object store/);
        return true;
      });
      assert.deepEqual(await readdir(small), [], "the partial file is removed");
    } finally {
      await promisify(execFile)("umount", [small]);
    }
  });
});

describe("storage against misbehaving servers (real HTTP servers on 127.0.0.1)", () => {
  test("a server that never answers: the idle timeout ends the wait with a clear error", HANG_GUARD, async () => {
    const server = await serve(() => {});
    const storage = createStorage(endpointSettings(server.url), { maxAttempts: 1, idleTimeoutMs: 300 });
    try {
      await assert.rejects(storage.stat(`s3://${BUCKET}/x.csv`), (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, "TimeoutError");
        assert.match(
          e.message,
          /^stat s3:\/\/klms-bucket\/x\.csv at http:\/\/127\.0\.0\.1:\d+ failed: the object store did not answer in time/,
        );
        return true;
      });
    } finally {
      storage.close();
      await server.close();
    }
  });

  // KLMS_S3_IDLE_TIMEOUT (and the deprecated KLMS_S3_IDLE_TIMEOUT_MS) for task.storage: test/config/options.test.ts.

  test("a server that never answers: cancellation ends the wait at once", HANG_GUARD, async () => {
    const server = await serve(() => {});
    const storage = createStorage(endpointSettings(server.url), { maxAttempts: 1 });
    const controller = new AbortController();
    try {
      const pending = storage.getText(`s3://${BUCKET}/x.csv`, { signal: controller.signal });
      setImmediate(() => controller.abort());
      await assert.rejects(
        pending,
        (e: unknown) => e instanceof StorageError && e.code === "AbortError" && /was cancelled/.test(e.message),
      );
    } finally {
      storage.close();
      await server.close();
    }
  });

  test("a body that stalls mid-way fails with the idle timeout, not a hang", HANG_GUARD, async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "1000", "content-type": "text/csv" });
      res.write("a,b\n1,2\n");
    });
    const storage = createStorage(endpointSettings(server.url), { maxAttempts: 1, idleTimeoutMs: 300 });
    try {
      await assert.rejects(
        storage.getText(`s3://${BUCKET}/x.csv`),
        (e: unknown) => e instanceof StorageError && e.code === "TimeoutError",
      );
    } finally {
      storage.close();
      await server.close();
    }
  });

  test("a connection closed mid-body is a network error, and nothing is left on disk", async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { "content-length": "100000" });
      res.write(Buffer.alloc(1000));
      setImmediate(() => req.socket.destroy());
    });
    const storage = createStorage(endpointSettings(server.url), { maxAttempts: 1 });
    const target = await mkdtemp(join(tmpdir(), "klms-reset-"));
    try {
      await assert.rejects(storage.downloadInto(`s3://${BUCKET}/x.bin`, target), (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, "ECONNRESET");
        assert.match(e.message, /the connection to the object store was closed in the middle of the request/);
        return true;
      });
      assert.deepEqual(await readdir(target), []);
    } finally {
      storage.close();
      await server.close();
      await rm(target, { recursive: true, force: true });
    }
  });

  test("a listing page marked truncated without a continuation token is an error", async () => {
    let requests = 0;
    const server = await serve((_req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(listPage(["a.csv", "b.csv"], true));
    });
    const storage = createStorage(endpointSettings(server.url), { maxAttempts: 1 });
    const keys: string[] = [];
    try {
      await assert.rejects(
        (async () => {
          for await (const o of storage.list(`s3://${BUCKET}/`)) keys.push(o.key);
        })(),
        (e: unknown) =>
          e instanceof StorageError &&
          e.code === "BadListing" &&
          /page 1 is marked truncated but has no continuation token/.test(e.message),
      );
      assert.deepEqual(keys, ["a.csv", "b.csv"], "the first page was seen, then the listing failed");
      assert.equal(requests, 1);
    } finally {
      storage.close();
      await server.close();
    }
  });

  test("a listing that repeats its continuation token is an error, not an endless loop", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(listPage(["a.csv"], true, "same-token"));
    });
    const storage = createStorage(endpointSettings(server.url), { maxAttempts: 1 });
    try {
      await assert.rejects(
        storage
          .downloadFolder(`s3://${BUCKET}/`, join(tmpdir(), `klms-never-${process.pid}`))
          .finally(() => rm(join(tmpdir(), `klms-never-${process.pid}`), { recursive: true, force: true })),
        (e: unknown) =>
          e instanceof StorageError && e.code === "BadListing" && /same continuation token twice/.test(e.message),
      );
    } finally {
      storage.close();
      await server.close();
    }
  });
});

describe("errors are classified from their real cause", () => {
  const op = { action: "download", bucket: BUCKET, key: "in/a.csv", endpoint: "http://127.0.0.1:9000" };
  test("an S3 answer is told as one", () => {
    const e = explain(
      Object.assign(new Error("We encountered an internal error"), {
        name: "InternalError",
        $metadata: { httpStatusCode: 500 },
      }),
      op,
    );
    assert.equal(e.code, "InternalError");
    assert.match(
      e.message,
      /failed: the object store answered HTTP 500: InternalError \(We encountered an internal error\)$/,
    );
  });
  test("a 400 answer without a code does not blame the session token outright", () => {
    const e = explain(
      Object.assign(new Error("BadRequest"), { name: "BadRequest", $metadata: { httpStatusCode: 400 } }),
      op,
    );
    assert.equal(e.code, "BadRequest");
    assert.match(e.message, /refused the request as malformed \(HTTP 400 without an error code/);
  });
  test("a socket error is a network problem", () => {
    const e = explain(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), op);
    assert.equal(e.code, "ECONNRESET");
    assert.match(e.message, /the connection to the object store was closed/);
    assert.doesNotMatch(e.message, /answered/);
  });
  test("a local file error passed to explain() is not presented as the store's answer", () => {
    const e = explain(
      Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" }),
      op,
    );
    assert.equal(e.code, "ENOSPC");
    assert.doesNotMatch(e.message, /object store answered/);
  });
});
