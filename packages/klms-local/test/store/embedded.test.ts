/**
 * What only the embedded store can be asked (radosgw runs the shared table in store.test.ts):
 * STS errors, signed aws-chunked bodies (against AWS's published example), root keys and session
 * tokens, and what survives a restart.
 */
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { issueDevToken, verifyToken } from "../../src/auth.js";
import { type ObjectStore, startObjectStore } from "../../src/object-store.js";
import { chunkSignatureOf, sha256Hex, signingKey } from "../../src/store/sigv4.js";

const SECRET = "embedded-store-test-secret";

class Sha256 {
  readonly #h;
  constructor(secret?: string | Uint8Array) {
    this.#h = secret ? createHmac("sha256", secret) : createHash("sha256");
  }
  update(data: string | Uint8Array) {
    this.#h.update(data);
  }
  async digest() {
    return new Uint8Array(this.#h.digest());
  }
  reset() {}
}

async function start(dir: string): Promise<ObjectStore> {
  return startObjectStore({
    directory: join(dir, "objects"),
    buckets: ["bkt"],
    secret: SECRET,
    verifyWebIdentity: (jwt) => verifyToken(jwt, SECRET),
  });
}

function client(store: ObjectStore, creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  return new S3Client({
    endpoint: store.url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: creds,
    maxAttempts: 1,
  });
}

async function sts(store: ObjectStore, query: string): Promise<{ status: number; xml: string }> {
  const reply = await fetch(`${store.url}/?${query}`, { method: "POST" });
  return { status: reply.status, xml: await reply.text() };
}

test("chunk signatures match AWS's published streaming PUT example", () => {
  const key = signingKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524/us-east-1/s3/aws4_request");
  const at = { amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request" };
  const seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  const c1 = chunkSignatureOf(key, at, seed, sha256Hex(Buffer.alloc(65536, "a")));
  const c2 = chunkSignatureOf(key, at, c1, sha256Hex(Buffer.alloc(1024, "a")));
  const c3 = chunkSignatureOf(key, at, c2, sha256Hex(""));
  assert.deepEqual(
    [c1, c2, c3],
    [
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ],
  );
});

describe("the embedded store alone", () => {
  let dir: string;
  let store: ObjectStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "klms-store-only-"));
    store = await start(dir);
  });
  after(async () => {
    await store?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("STS refuses a bad, an expired or a missing web identity token and a bad duration, in STS's XML", async () => {
    const base = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15";
    const expired = issueDevToken(SECRET, 60, Date.now() - 3600_000);
    const cases: [string, string][] = [
      [`${base}&WebIdentityToken=${issueDevToken("another-secret")}`, "InvalidIdentityToken"],
      [`${base}&WebIdentityToken=${expired}`, "InvalidIdentityToken"],
      [base, "MissingParameter"],
      [`${base}&DurationSeconds=60&WebIdentityToken=${issueDevToken(SECRET)}`, "InvalidParameterValue"],
      [`Action=AssumeRole&Version=2011-06-15`, "InvalidAction"],
    ];
    for (const [query, code] of cases) {
      const { status, xml } = await sts(store, query);
      assert.equal(status, 400, xml);
      assert.match(xml, /<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">/);
      assert.match(xml, new RegExp(`<Code>${code}</Code>`));
    }
  });

  test("STS also takes its parameters as a form body (as AWS SDKs send them)", async () => {
    const body = `Action=AssumeRoleWithWebIdentity&Version=2011-06-15&WebIdentityToken=${issueDevToken(SECRET)}`;
    const reply = await fetch(`${store.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    const xml = await reply.text();
    assert.equal(reply.status, 200, xml);
    assert.match(xml, /<SubjectFromWebIdentityToken>dev<\/SubjectFromWebIdentityToken>/);
  });

  test("root keys work without a session token and are refused with one (MinIO: InvalidTokenId)", async () => {
    const root = client(store, { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey });
    await root.send(new PutObjectCommand({ Bucket: "bkt", Key: "root.txt", Body: "r" }));
    const withToken = client(store, {
      accessKeyId: store.accessKeyId,
      secretAccessKey: store.secretAccessKey,
      sessionToken: "x",
    });
    await assert.rejects(withToken.send(new GetObjectCommand({ Bucket: "bkt", Key: "root.txt" })), {
      name: "InvalidTokenId",
    });
    const minted = store.mint("dev", 900);
    const tampered = client(store, { ...minted, sessionToken: `${minted.sessionToken.slice(0, -4)}AAAA` });
    await assert.rejects(tampered.send(new GetObjectCommand({ Bucket: "bkt", Key: "root.txt" })), {
      name: "InvalidTokenId",
    });
    for (const c of [root, withToken, tampered]) c.destroy();
  });

  /** A PUT with a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body; `tamper` changes a byte after signing. */
  async function streamingPut(key: string, data: Buffer, tamper: boolean): Promise<number> {
    const creds = store.mint("dev", 900);
    const url = new URL(store.url);
    const chunks = [data.subarray(0, 70_000), data.subarray(70_000), Buffer.alloc(0)];
    const framed = chunks.reduce((n, c) => n + c.length.toString(16).length + 17 + 64 + 2 + c.length + 2, 0);
    const headers: Record<string, string> = {
      host: url.host,
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": String(data.length),
      "content-length": String(framed),
    };
    const signer = new SignatureV4({
      credentials: creds,
      region: "us-east-1",
      service: "s3",
      sha256: Sha256,
      uriEscapePath: false,
    });
    const path = `/bkt/${key}`;
    const signed = await signer.sign({
      method: "PUT",
      protocol: "http:",
      hostname: url.hostname,
      path,
      query: {},
      headers,
    });
    const auth = String(signed.headers.authorization);
    const amzDate = String(signed.headers["x-amz-date"]);
    const scope = (/Credential=[^/]+\/([^,]+)/.exec(auth)?.[1] ?? "").trim();
    const k = signingKey(creds.secretAccessKey, scope);
    let previous = /Signature=([0-9a-f]{64})/.exec(auth)?.[1] ?? "";
    const parts: Buffer[] = [];
    for (const chunk of chunks) {
      previous = chunkSignatureOf(k, { amzDate, scope }, previous, sha256Hex(chunk));
      const body = tamper && chunk.length > 0 ? Buffer.from(chunk).fill(0, 0, 1) : chunk;
      parts.push(
        Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`),
        body,
        Buffer.from("\r\n"),
      );
    }
    return new Promise((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, method: "PUT", path, headers: signed.headers },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(Buffer.concat(parts));
    });
  }

  test("a signed aws-chunked body is decoded and each chunk checked; a tampered chunk stores nothing", async () => {
    const data = Buffer.alloc(100_000, 1);
    data.write("first bytes", 0);
    assert.equal(await streamingPut("streamed.bin", data, false), 200);
    const root = client(store, { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey });
    const got = await root.send(new GetObjectCommand({ Bucket: "bkt", Key: "streamed.bin" }));
    assert.ok(Buffer.from(await (got.Body?.transformToByteArray() ?? [])).equals(data));
    assert.equal(await streamingPut("tampered.bin", data, true), 403);
    await assert.rejects(root.send(new GetObjectCommand({ Bucket: "bkt", Key: "tampered.bin" })), {
      name: "NoSuchKey",
    });
    root.destroy();
  });

  test("objects and minted credentials survive a restart; crash leftovers are removed", async () => {
    const creds = store.mint("dev", 3600);
    const s3 = client(store, creds);
    await s3.send(new PutObjectCommand({ Bucket: "bkt", Key: "kept.txt", Body: "kept" }));
    s3.destroy();
    await store.stop();
    await writeFile(join(dir, "objects", "bkt", "0123-orphan.data"), "half");
    store = await start(dir);
    await writeFile(join(dir, "objects", ".tmp", "stale"), "x");
    const again = client(store, creds);
    const got = await again.send(new GetObjectCommand({ Bucket: "bkt", Key: "kept.txt" }));
    assert.equal(await got.Body?.transformToString(), "kept");
    again.destroy();
    assert.ok(!(await readdir(join(dir, "objects", "bkt"))).includes("0123-orphan.data"));
  });
});

test("an empty or garbage metadata file is set aside with a warning naming it; the store starts without it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "klms-store-corrupt-"));
  const options = {
    directory: join(dir, "objects"),
    buckets: ["bkt"],
    secret: SECRET,
    verifyWebIdentity: (jwt: string) => verifyToken(jwt, SECRET),
  };
  let store = await startObjectStore(options);
  try {
    const s3 = client(store, store.mint("dev", 3600));
    for (const Key of ["good.txt", "empty.txt", "garbage.txt"]) {
      await s3.send(new PutObjectCommand({ Bucket: "bkt", Key, Body: Key }));
    }
    s3.destroy();
    await store.stop();
    const metaOf = (key: string) => join(dir, "objects", "bkt", `${sha256Hex(key)}.json`);
    await writeFile(metaOf("empty.txt"), "");
    await writeFile(metaOf("garbage.txt"), "{not json");
    const lines: string[] = [];
    store = await startObjectStore({ ...options, log: (line) => lines.push(line) });
    const again = client(store, store.mint("dev", 3600));
    const got = await again.send(new GetObjectCommand({ Bucket: "bkt", Key: "good.txt" }));
    assert.equal(await got.Body?.transformToString(), "good.txt");
    await assert.rejects(again.send(new GetObjectCommand({ Bucket: "bkt", Key: "empty.txt" })), { name: "NoSuchKey" });
    again.destroy();
    for (const key of ["empty.txt", "garbage.txt"]) {
      assert.ok(
        lines.some((l) => l.includes(metaOf(key)) && l.includes(".corrupt-")),
        `a warning names ${metaOf(key)}: ${lines.join(" | ")}`,
      );
    }
    const aside = (await readdir(join(dir, "objects", "bkt"))).filter((n) => n.includes(".json.corrupt-"));
    assert.equal(aside.length, 2);
  } finally {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
