/**
 * Parallel transfers (ranged-download.ts, parallel-upload.ts) through `Storage`: intact both ways
 * (sha256), no partial file when a range fails mid-way or the download is cancelled, no object
 * and no orphan parts when an upload is cancelled. Against the embedded object store, and
 * radosgw when KLMS_TEST_RGW_* is set (`source /work/rgw.env`, .ci/run).
 */
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { type ObjectStore, startObjectStore } from "../../klms-local/src/object-store.ts";
import type { MinioSettings } from "../../klms-tool/src/contract/minio.ts";
import { createStorage, type Storage, StorageError, type StorageOptions } from "../../klms-tool/src/index.ts";

const MiB = 1024 * 1024;
/** Small parts and thresholds, so that a few MiB take the parallel paths. */
const PARALLEL: StorageOptions = {
  partSize: 5 * MiB,
  uploadConcurrency: 4,
  singlePutMaxBytes: MiB,
  downloadConcurrency: 4,
  downloadRangeSize: MiB,
  rangedGetMinBytes: 2 * MiB,
};

function settings(endpoint: string, creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  const u = new URL(endpoint);
  // The credentials first: a MinioSettings passed as `creds` must not bring its own endpoint back.
  return {
    ...creds,
    endpoint: u.origin,
    host: u.hostname,
    port: Number(u.port),
    useSSL: false,
    source: "endpoint_url",
  } satisfies MinioSettings;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Multipart uploads still open under `prefix` (orphan parts). */
async function openUploads(storage: Storage, bucket: string, prefix: string): Promise<number> {
  const { ListMultipartUploadsCommand } = await import("@aws-sdk/client-s3");
  const client = await storage.client();
  const answer = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return answer.Uploads?.length ?? 0;
}

/**
 * A proxy in front of the store that cuts the connection half-way through the answer to the
 * first GET whose range does not start at byte 0: a range failing mid-way.
 */
async function cuttingProxy(target: string) {
  const upstream = new URL(target);
  let cut = 0;
  const server = createServer((req, res) => {
    const cutThis = req.method === "GET" && /^bytes=[1-9]/.test(req.headers.range ?? "") && cut++ === 0;
    const forward = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!cutThis) return void answer.pipe(res);
        let sent = 0;
        answer.on("data", (chunk: Buffer) => {
          sent += chunk.length;
          res.write(chunk);
          if (sent >= 256 * 1024) {
            answer.destroy();
            res.socket?.destroy();
          }
        });
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cuts: () => cut,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** The same checks on any S3 server: `connect` gives its endpoint, credentials and a bucket. */
interface Server {
  endpoint: string;
  creds: MinioSettings;
  bucket: string;
  stop(): Promise<void>;
}

function parallelSuite(name: string, connect: () => Promise<Server>) {
  describe(name, () => {
    let dir: string;
    let endpoint: string;
    let creds: MinioSettings;
    let bucket: string;
    let storage: Storage;
    let server: Server | undefined;
    const made: Storage[] = [];
    const make = (options: StorageOptions, at = endpoint) => {
      const s = createStorage(settings(at, creds), options);
      made.push(s);
      return s;
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "klms-parallel-"));
      server = await connect();
      ({ endpoint, creds, bucket } = server);
      storage = make({ ...PARALLEL, maxAttempts: 1 });
    });
    after(async () => {
      for (const s of made) s.close();
      await server?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    test("a file goes up in concurrent parts and comes back as parallel ranges, byte for byte", async () => {
      const file = join(dir, "data.bin");
      // Not a multiple of the part size: the last part and range are short.
      await writeFile(file, randomBytes(9 * MiB + 12_345));
      const uploaded: number[] = [];
      const key = `s3://${bucket}/parallel/data.bin`;
      await storage.upload(key, file, { onProgress: (p) => uploaded.push(p.done) });
      assert.equal(uploaded.at(-1), 9 * MiB + 12_345);
      assert.equal((await storage.stat(key))?.size, 9 * MiB + 12_345);
      assert.equal(await openUploads(storage, bucket, "parallel/"), 0);
      const downloaded: Array<{ done: number; total?: number }> = [];
      const before = storage.bytesIn;
      const back = await storage.download(key, join(dir, "back", "data.bin"), {
        onProgress: (p) => downloaded.push(p),
      });
      assert.equal(await sha256(back), await sha256(file));
      assert.equal(storage.bytesIn - before, 9 * MiB + 12_345);
      assert.deepEqual(downloaded.at(-1), {
        direction: "download",
        path: key,
        done: 9 * MiB + 12_345,
        total: 9 * MiB + 12_345,
      });
    });

    // Every upload strategy (one PUT, parts one or four at a time, a stream through lib-storage)
    // and every download strategy (one GET, parallel ranges) with sizes around the 5 MiB part and
    // the 1 MiB range boundaries, and an empty file.
    const UPLOADS: Record<string, (file: string) => [StorageOptions, string | (() => Readable)]> = {
      "one PUT": (file) => [{ ...PARALLEL, singlePutMaxBytes: 64 * MiB }, file],
      "parts, one at a time": (file) => [{ ...PARALLEL, uploadConcurrency: 1 }, file],
      "parts, four at a time": (file) => [PARALLEL, file],
      "a stream": (file) => [PARALLEL, () => createReadStream(file)],
    };
    const DOWNLOADS: Record<string, StorageOptions> = {
      "one GET": { ...PARALLEL, downloadConcurrency: 1 },
      "parallel ranges": { ...PARALLEL, rangedGetMinBytes: 0 },
    };
    const SIZES = [0, 1, 5 * MiB - 1, 5 * MiB + 1, 10 * MiB];
    test("every upload and download strategy moves the exact bytes, around part and range boundaries", async () => {
      const data = randomBytes(10 * MiB);
      for (const size of SIZES) {
        const file = join(dir, `exact-${size}`);
        await writeFile(file, data.subarray(0, size));
        const expected = createHash("sha256").update(data.subarray(0, size)).digest("hex");
        for (const [up, strategy] of Object.entries(UPLOADS)) {
          const [options, source] = strategy(file);
          const key = `s3://${bucket}/exact/${size}`;
          await make({ ...options, maxAttempts: 1 }).upload(key, typeof source === "string" ? source : source());
          assert.equal((await storage.stat(key))?.size, size, `${up}, ${size} bytes`);
          for (const [down, downOptions] of Object.entries(DOWNLOADS)) {
            const back = await make(downOptions).download(key, join(dir, "exact-back", `${size}`));
            assert.equal(await sha256(back), expected, `${up} then ${down}, ${size} bytes`);
          }
        }
      }
      assert.equal(await openUploads(storage, bucket, "exact/"), 0);
    });

    test("an empty object and one smaller than a part come back intact", async () => {
      await storage.put(`s3://${bucket}/parallel/empty`, "");
      const empty = await storage.download(`s3://${bucket}/parallel/empty`, join(dir, "small", "empty"));
      assert.equal(await sha256(empty), createHash("sha256").digest("hex"));
      const data = randomBytes(1000);
      await storage.put(`s3://${bucket}/parallel/small`, data);
      const small = await storage.download(`s3://${bucket}/parallel/small`, join(dir, "small", "small"));
      assert.equal(await sha256(small), createHash("sha256").update(data).digest("hex"));
    });

    test("a range cut mid-way fails the download and leaves no file, partial or whole", async () => {
      const file = join(dir, "cut.bin");
      await writeFile(file, randomBytes(5 * MiB));
      await storage.upload(`s3://${bucket}/parallel/cut.bin`, file);
      const proxy = await cuttingProxy(endpoint);
      try {
        const through = make({ ...PARALLEL, maxAttempts: 1 }, proxy.url);
        const target = join(dir, "cut");
        await assert.rejects(through.downloadInto(`s3://${bucket}/parallel/cut.bin`, target), (e: unknown) => {
          assert.ok(e instanceof StorageError, String(e));
          return true;
        });
        assert.equal(proxy.cuts() >= 1, true, "the proxy cut a range");
        assert.deepEqual(await readdir(target), []);
      } finally {
        await proxy.close();
      }
    });

    test("a cancelled parallel download leaves no file", async () => {
      const file = join(dir, "cancel.bin");
      await writeFile(file, randomBytes(8 * MiB));
      await storage.upload(`s3://${bucket}/parallel/cancel.bin`, file);
      const controller = new AbortController();
      const target = join(dir, "cancelled");
      await assert.rejects(
        storage.downloadInto(`s3://${bucket}/parallel/cancel.bin`, target, {
          signal: controller.signal,
          onProgress: (p) => {
            if (p.done >= MiB) controller.abort();
          },
        }),
        (e: unknown) => e instanceof StorageError && e.code === "AbortError" && /was cancelled/.test(e.message),
      );
      assert.deepEqual(await readdir(target), []);
    });

    test("a cancelled parallel upload leaves no object and no open multipart upload", async () => {
      const file = join(dir, "up-cancel.bin");
      await writeFile(file, randomBytes(12 * MiB));
      const controller = new AbortController();
      const key = `s3://${bucket}/parallel-cancel/x.bin`;
      await assert.rejects(
        storage.upload(key, file, {
          signal: controller.signal,
          onProgress: () => controller.abort(),
        }),
        (e: unknown) => e instanceof StorageError && e.code === "AbortError" && /was cancelled/.test(e.message),
      );
      assert.equal(await storage.exists(key), false);
      assert.equal(await openUploads(storage, bucket, "parallel-cancel/"), 0);
    });

    test("a missing file to upload in parts is a local problem naming the file", async () => {
      const missing = join(dir, "never.bin");
      // Over singlePutMaxBytes needs a size: stat fails first, as for every upload of a file.
      await assert.rejects(storage.upload(`s3://${bucket}/parallel/never.bin`, missing), (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, "ENOENT");
        assert.match(e.message, /never\.bin/);
        return true;
      });
    });
  });
}

parallelSuite("parallel transfers against the embedded object store", async () => {
  const root = await mkdtemp(join(tmpdir(), "klms-parallel-store-"));
  const store: ObjectStore = await startObjectStore({ directory: root, buckets: ["klms-parallel"] });
  return {
    endpoint: store.url,
    creds: settings(store.url, store.mint("dev", 3600)),
    bucket: "klms-parallel",
    stop: async () => {
      await store.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
});

const rgw = process.env.KLMS_TEST_RGW_ENDPOINT;
if (rgw) {
  parallelSuite("parallel transfers against radosgw", async () => {
    const creds = settings(rgw, {
      accessKeyId: process.env.KLMS_TEST_RGW_ACCESS_KEY ?? "",
      secretAccessKey: process.env.KLMS_TEST_RGW_SECRET_KEY ?? "",
    });
    const bucket = `klms-par-${randomUUID().slice(0, 8)}`;
    const admin = createStorage(creds);
    const { CreateBucketCommand } = await import("@aws-sdk/client-s3");
    await (await admin.client()).send(new CreateBucketCommand({ Bucket: bucket }));
    const stop = async () => {
      for await (const o of admin.list(`s3://${bucket}/`)) await admin.delete(o.path);
      const { DeleteBucketCommand } = await import("@aws-sdk/client-s3");
      await (await admin.client()).send(new DeleteBucketCommand({ Bucket: bucket }));
      admin.close();
    };
    return { endpoint: rgw, creds, bucket, stop };
  });
} else {
  test("parallel transfers against radosgw", {
    skip: 'no radosgw: set KLMS_TEST_RGW_* (source /work/rgw.env, or eval "$(scripts/rgw-up.sh)")',
  }, () => {});
}
