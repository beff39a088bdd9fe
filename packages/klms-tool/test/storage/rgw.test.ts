/**
 * The storage module against a real S3 server: Ceph radosgw (scripts/rgw-up.sh), with SigV4
 * checked and STS session tokens, as MinIO hands them to KLMS tasks. Runs when
 * KLMS_TEST_RGW_ENDPOINT is set (.ci/run always sets it); skips with the reason otherwise.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, truncateSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { MinioSettings } from "../../src/contract/minio.ts";
import { createStorage, type Storage, StorageError } from "../../src/index.ts";

const env = process.env;
const endpoint = env.KLMS_TEST_RGW_ENDPOINT;
const skip = endpoint ? false : 'no radosgw: set KLMS_TEST_RGW_* with eval "$(scripts/rgw-up.sh)" (.ci/run does)';
const MiB = 1024 * 1024;
const bucket = `klms-it-${randomUUID().slice(0, 8)}`;

/** Real session credentials from STS AssumeRole, signed with SigV4 by curl. */
async function assumeRole(): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string }> {
  const { stdout } = await promisify(execFile)("curl", [
    "-sf",
    "--aws-sigv4",
    "aws:amz:us-east-1:sts",
    "--user",
    `${env.KLMS_TEST_RGW_ACCESS_KEY}:${env.KLMS_TEST_RGW_SECRET_KEY}`,
    "-X",
    "POST",
    "--data",
    `Action=AssumeRole&RoleArn=${env.KLMS_TEST_RGW_ROLE_ARN}&RoleSessionName=klms-test&Version=2011-06-15&DurationSeconds=3600`,
    `${endpoint}/`,
  ]);
  const field = (name: string) => {
    const m = new RegExp(`<${name}>([^<]+)</${name}>`).exec(stdout);
    if (!m?.[1]) throw new Error(`STS answered without ${name}`);
    return m[1];
  };
  return {
    accessKeyId: field("AccessKeyId"),
    secretAccessKey: field("SecretAccessKey"),
    sessionToken: field("SessionToken"),
  };
}

function settings(creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): MinioSettings {
  const u = new URL(endpoint as string);
  return {
    endpoint: u.origin,
    host: u.hostname,
    port: Number(u.port),
    useSSL: false,
    source: "endpoint_url",
    ...creds,
  };
}

/** `size` bytes made on the fly, never held in memory, and their sha256 once read. */
function generated(size: number): { stream: Readable; sha256: () => string } {
  const hash = createHash("sha256");
  const block = createHash("sha512").update("klms").digest();
  let left = size;
  let n = 0;
  const stream = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const len = Math.min(left, 1 * MiB);
      const chunk = Buffer.alloc(len);
      for (let i = 0; i < len; i += 64) block.copy(chunk, i, 0, Math.min(64, len - i));
      chunk.writeUInt32LE(n++, 0);
      hash.update(chunk);
      left -= len;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest("hex") };
}

/** A readable that yields `failAfter` bytes and then fails (a source that breaks mid-upload). */
function failingSource(failAfter: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= failAfter) return void this.destroy(new Error("disk gone while reading the source"));
      const n = Math.min(MiB, failAfter - sent);
      sent += n;
      this.push(Buffer.alloc(n, 7));
    },
  });
}

/** Guards the tests whose fault used to hang forever: they fail at this limit instead. */
const HANG_GUARD = { timeout: 180_000 };

describe("storage against radosgw (real SigV4, real session tokens)", { skip }, () => {
  let creds: Awaited<ReturnType<typeof assumeRole>>;
  let storage: Storage;
  let dir: string;

  before(async () => {
    creds = await assumeRole();
    storage = createStorage(settings(creds), { maxAttempts: 2 });
    const client = await storage.client();
    const { CreateBucketCommand } = await import("@aws-sdk/client-s3");
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    dir = await mkdtemp(join(tmpdir(), "klms-rgw-"));
  });
  after(async () => {
    storage?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("a session token from STS works; the credentials never show in errors", async () => {
    assert.equal(await storage.put(`s3://${bucket}/hello.txt`, "hello"), `s3://${bucket}/hello.txt`);
    assert.equal(await storage.getText(`s3://${bucket}/hello.txt`), "hello");
  });

  const refused: [string, () => MinioSettings, RegExp][] = [
    [
      "a wrong secret key (SigV4 is checked)",
      () => settings({ ...creds, secretAccessKey: `${creds.secretAccessKey}x` }),
      /SignatureDoesNotMatch|AccessDenied/,
    ],
    [
      "a missing session token",
      () => settings({ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }),
      /AccessDenied|InvalidAccessKeyId/,
    ],
    [
      "a tampered session token",
      () => settings({ ...creds, sessionToken: `${creds.sessionToken.slice(0, -8)}AAAAAAAA` }),
      /InvalidArgument|AccessDenied|InvalidToken/,
    ],
    [
      "an unknown access key",
      () => settings({ accessKeyId: "NOSUCHKEY123", secretAccessKey: "nope-nope-nope" }),
      /InvalidAccessKeyId|AccessDenied/,
    ],
  ];
  for (const [name, make, code] of refused) {
    test(`refused: ${name}, with an explanation`, async () => {
      const s = settings(make() as never);
      const bad = createStorage(s, { maxAttempts: 1 });
      try {
        await assert.rejects(bad.getText(`s3://${bucket}/hello.txt`), (e: unknown) => {
          assert.ok(e instanceof StorageError, String(e));
          assert.match(e.code, code);
          assert.match(e.message, /download s3:\/\/klms-it-\w+\/hello\.txt at http:\/\/127\.0\.0\.1:\d+ failed: /);
          for (const secret of [creds.secretAccessKey, creds.sessionToken, s.secretAccessKey])
            assert.ok(!e.message.includes(secret));
          return true;
        });
      } finally {
        bad.close();
      }
    });
  }

  test("256 MiB streamed up in parts and down again, checksums equal", async () => {
    const size = 256 * MiB + 17;
    const data = generated(size);
    await storage.upload(`s3://${bucket}/big/blob.bin`, data.stream);
    const uploaded = data.sha256();
    assert.equal((await storage.stat(`s3://${bucket}/big/blob.bin`))?.size, size);
    const hash = createHash("sha256");
    for await (const chunk of await storage.open(`s3://${bucket}/big/blob.bin`)) hash.update(chunk as Buffer);
    assert.equal(hash.digest("hex"), uploaded);
    const file = await storage.downloadInto(`s3://${bucket}/big/blob.bin`, dir);
    const fileHash = createHash("sha256");
    for await (const chunk of createReadStream(file)) fileHash.update(chunk as Buffer);
    assert.equal(fileHash.digest("hex"), uploaded);
    await storage.delete(`s3://${bucket}/big/blob.bin`);
  });

  test("listing pages through more than one page; folders go up whole", async () => {
    const src = join(dir, "folder");
    await mkdir(join(src, "nested"), { recursive: true });
    for (let i = 0; i < 12; i++) await writeFile(join(src, `part-${String(i).padStart(2, "0")}.csv`), `row ${i}\n`);
    await writeFile(join(src, "nested", "meta.json"), "{}");
    assert.equal((await storage.uploadFolder(src, `s3://${bucket}/folder/`)).length, 13);
    const keys: string[] = [];
    for await (const o of storage.list(`s3://${bucket}/folder/`, { pageSize: 5 })) keys.push(o.key);
    assert.equal(keys.length, 13);
    assert.ok(keys.includes("folder/nested/meta.json"));
  });

  /** The multipart uploads still open on the bucket, polled until none (an abort may still be on its way). */
  async function openUploads(): Promise<unknown[]> {
    const client = await storage.client();
    const { ListMultipartUploadsCommand } = await import("@aws-sdk/client-s3");
    let uploads: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      uploads = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
      if (uploads.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return uploads;
  }

  test("60 opened streams destroyed at once, then any call works", HANG_GUARD, async () => {
    await storage.put(`s3://${bucket}/four.bin`, Buffer.alloc(4 * MiB, 1));
    for (let i = 0; i < 60; i++) (await storage.open(`s3://${bucket}/four.bin`)).destroy();
    assert.equal(
      (await storage.getBuffer(`s3://${bucket}/four.bin`, { maxBytes: 1000 }).catch((e) => e)).code,
      "TooLarge",
    );
    assert.equal((await storage.getBuffer(`s3://${bucket}/four.bin`)).length, 4 * MiB);
  });

  for (const failAfter of [0, MiB, 12 * MiB]) {
    test(
      `a stream that fails after ${failAfter / MiB} MiB: the upload settles, no multipart upload stays open`,
      HANG_GUARD,
      async () => {
        const key = `s3://${bucket}/failing-${failAfter}.bin`;
        await assert.rejects(
          storage.upload(key, failingSource(failAfter)),
          (e: unknown) =>
            e instanceof StorageError &&
            e.code === "SourceError" &&
            /reading the data to upload failed: Error \(disk gone while reading the source\)$/.test(e.message),
        );
        assert.equal(await storage.exists(key), false);
        assert.deepEqual(await openUploads(), [], "no multipart upload is left behind");
      },
    );
  }

  test("fs.createReadStream of a missing file: the upload settles with ENOENT", HANG_GUARD, async () => {
    const missing = join(dir, "missing.csv");
    await assert.rejects(
      storage.upload(`s3://${bucket}/missing.csv`, createReadStream(missing)),
      (e: unknown) => e instanceof StorageError && e.code === "ENOENT" && e.message.includes(missing),
    );
    assert.deepEqual(await openUploads(), []);
  });

  test(
    "a 200 MiB file truncated to 50 MiB during its single PUT fails with the cause, stores nothing",
    HANG_GUARD,
    async () => {
      const file = join(dir, "shrinking.bin");
      await writeFile(file, generated(200 * MiB).stream);
      let truncated = false;
      await assert.rejects(
        storage.upload(`s3://${bucket}/shrunk.bin`, file, {
          onProgress: (p) => {
            if (!truncated && p.done >= 20 * MiB) {
              truncated = true;
              truncateSync(file, 50 * MiB);
            }
          },
        }),
        (e: unknown) =>
          e instanceof StorageError &&
          e.code === "SourceChanged" &&
          /it shrank: 52428800 of 209715200 bytes were read/.test(e.message),
      );
      assert.equal(await storage.exists(`s3://${bucket}/shrunk.bin`), false);
      await rm(file);
    },
  );

  test("a file that grows during its upload fails naming the cause, not the session token", HANG_GUARD, async () => {
    const file = join(dir, "growing.bin");
    await writeFile(file, Buffer.alloc(12 * MiB, 3));
    let grown = false;
    await assert.rejects(
      storage.upload(`s3://${bucket}/grown.bin`, file, {
        onProgress: (p) => {
          if (!grown && p.done >= MiB) {
            grown = true;
            writeFileSync(file, Buffer.alloc(2 * MiB, 4), { flag: "a" });
          }
        },
      }),
      (e: unknown) =>
        e instanceof StorageError &&
        e.code === "SourceChanged" &&
        /it grew/.test(e.message) &&
        !/token|skey/.test(e.message),
    );
    assert.equal(await storage.exists(`s3://${bucket}/grown.bin`), false);
    await rm(file);
  });

  test("zero-byte folder markers become folders in downloadFolder", async () => {
    await storage.put(`s3://${bucket}/data/`, "");
    await storage.put(`s3://${bucket}/data/empty/`, "");
    await storage.put(`s3://${bucket}/data/x.csv`, "x\n");
    const target = join(dir, "markers");
    assert.deepEqual(await storage.downloadFolder(`s3://${bucket}/data/`, target), [join(target, "x.csv")]);
    assert.deepEqual((await readdir(target)).sort(), ["empty", "x.csv"]);
  });

  test("a cancelled multipart upload leaves no object and no pending upload", async () => {
    const controller = new AbortController();
    let aborted = false;
    const pending = storage.upload(`s3://${bucket}/cancelled.bin`, generated(64 * MiB).stream, {
      signal: controller.signal,
      onProgress: (p) => {
        if (!aborted && p.done >= 8 * MiB) {
          aborted = true;
          controller.abort();
        }
      },
    });
    await assert.rejects(pending, (e: unknown) => e instanceof StorageError && e.code === "AbortError");
    assert.equal(await storage.exists(`s3://${bucket}/cancelled.bin`), false);
    const client = await storage.client();
    const { ListMultipartUploadsCommand } = await import("@aws-sdk/client-s3");
    // The abort request may still be on its way when upload() rejects.
    let uploads: unknown[] = [];
    for (let i = 0; i < 20; i++) {
      uploads = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
      if (uploads.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(uploads, [], "no multipart upload is left behind");
  });
});
