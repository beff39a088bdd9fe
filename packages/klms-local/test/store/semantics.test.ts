/**
 * What a request MEANS, against the real embedded store: UploadPartCopy (bytes, ranges, errors),
 * conditional GET/HEAD and copy sources, copy onto itself, ListObjectsV2's max-keys=0, tokens and
 * fetch-owner, response-* overrides, x-amz-checksum-*, storage classes, GetBucketPolicy, and every
 * header or parameter the store does not implement answering 501 (or MinIO's 400) without
 * touching the object. Expected values are S3's / MinIO's (cmd/api-errors.go), measured against
 * radosgw where it agrees. Requests are signed with the AWS SDK's signer (@smithy/signature-v4).
 */
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { crc32 } from "node:zlib";
import { SignatureV4 } from "@smithy/signature-v4";
import { type ObjectStore, startObjectStore } from "../../src/object-store.js";
import { crc32c } from "../../src/store/checksums.js";

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

interface Reply {
  status: number;
  code: string;
  body: Buffer;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

let store: ObjectStore;
let dir: string;
const B = "bkt";

/** One SigV4-signed request to the store (root key), body sent with its SHA-256 signed. */
async function s3(
  method: string,
  key: string,
  opts: {
    body?: Buffer | string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    /** Another store than the shared one, over https trusting `ca`. */
    over?: { store: ObjectStore; ca: Buffer };
  } = {},
): Promise<Reply> {
  const target = opts.over?.store ?? store;
  const url = new URL(target.url);
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
  const headers: Record<string, string> = {
    host: url.host,
    "x-amz-content-sha256": createHash("sha256")
      .update(body ?? "")
      .digest("hex"),
    ...opts.headers,
  };
  if (body !== undefined) headers["content-length"] = String(body.length);
  const path = `/${B}${key === "" ? "" : `/${key}`}`;
  const signer = new SignatureV4({
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    region: "us-east-1",
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const query = opts.query ?? {};
  const raw = { method, protocol: "http:", hostname: url.hostname, port: Number(url.port), path, query, headers };
  const signed = (await signer.sign(raw)).headers;
  const qs = new URLSearchParams(query).toString().replace(/\+/g, "%20");
  return new Promise((resolve, reject) => {
    const send = opts.over ? httpsRequest : request;
    const req = send(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: qs ? `${path}?${qs}` : path,
        headers: signed,
        ca: opts.over?.ca,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const all = Buffer.concat(chunks);
          const text = all.toString("utf8");
          const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? "";
          resolve({ status: res.statusCode ?? 0, code, body: all, text, headers: res.headers });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const field = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
const md5 = (b: Buffer | string) => createHash("md5").update(b).digest("hex");

async function createUpload(key: string): Promise<string> {
  const r = await s3("POST", key, { query: { uploads: "" } });
  assert.equal(r.status, 200, r.text);
  return field(r.text, "UploadId") as string;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "klms-store-sem-"));
  store = await startObjectStore({ directory: join(dir, "objects"), buckets: [B], secret: "semantics-secret" });
});
after(async () => {
  await store?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("UploadPartCopy", () => {
  const source = randomBytes(6 * 1024 * 1024 + 123);
  before(async () => {
    assert.equal((await s3("PUT", "upc/src.bin", { body: source })).status, 200);
  });

  test("parts copied by range join into the source's bytes; CopyPartResult carries the part's ETag", async () => {
    const id = await createUpload("upc/joined.bin");
    const cut = 5 * 1024 * 1024;
    const ranges = [`bytes=0-${cut - 1}`, `bytes=${cut}-${source.length - 1}`];
    const etags: string[] = [];
    for (const [i, range] of ranges.entries()) {
      const r = await s3("PUT", "upc/joined.bin", {
        query: { partNumber: String(i + 1), uploadId: id },
        headers: { "x-amz-copy-source": `/${B}/upc/src.bin`, "x-amz-copy-source-range": range },
      });
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /<CopyPartResult xmlns="[^"]+"><LastModified>\d{4}-[^<]+<\/LastModified><ETag>/);
      const expected = i === 0 ? source.subarray(0, cut) : source.subarray(cut);
      assert.equal(field(r.text, "ETag"), `&quot;${md5(expected)}&quot;`);
      etags.push(`"${md5(expected)}"`);
    }
    const parts = etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("");
    const done = await s3("POST", "upc/joined.bin", {
      query: { uploadId: id },
      body: `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`,
    });
    assert.equal(done.status, 200, done.text);
    const got = await s3("GET", "upc/joined.bin");
    assert.equal(got.body.length, source.length);
    assert.ok(got.body.equals(source), "the joined object is the source's bytes");
  });

  test("without a range the whole source is the part (a single-part copy is not empty)", async () => {
    const id = await createUpload("upc/whole.bin");
    const r = await s3("PUT", "upc/whole.bin", {
      query: { partNumber: "1", uploadId: id },
      headers: { "x-amz-copy-source": `${B}/upc/src.bin` },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(field(r.text, "ETag"), `&quot;${md5(source)}&quot;`);
    const listed = await s3("GET", "upc/whole.bin", { query: { uploadId: id } });
    assert.equal(field(listed.text, "Size"), String(source.length));
    await s3("DELETE", "upc/whole.bin", { query: { uploadId: id } });
  });

  test("a missing source, a malformed range and a range outside the source are refused and store no part", async () => {
    const id = await createUpload("upc/bad.bin");
    const cases: [Record<string, string>, number, string, RegExp][] = [
      [{ "x-amz-copy-source": `/${B}/upc/nope.bin` }, 404, "NoSuchKey", /key does not exist/],
      [{ "x-amz-copy-source": "/no-such-bucket/x" }, 404, "NoSuchBucket", /bucket does not exist/],
      ...["bytes=5-", "bytes=-5", "bytes=a-b", "5-10", "bytes=10-5"].map(
        (range): [Record<string, string>, number, string, RegExp] => [
          { "x-amz-copy-source": `/${B}/upc/src.bin`, "x-amz-copy-source-range": range },
          400,
          "InvalidArgument",
          /must be of the form bytes=first-last/,
        ],
      ),
      [
        { "x-amz-copy-source": `/${B}/upc/src.bin`, "x-amz-copy-source-range": `bytes=0-${source.length}` },
        400,
        "InvalidArgument",
        new RegExp(`not valid for source object of size: ${source.length}`),
      ],
    ];
    for (const [headers, status, code, message] of cases) {
      const r = await s3("PUT", "upc/bad.bin", { query: { partNumber: "1", uploadId: id }, headers });
      assert.deepEqual([r.status, r.code], [status, code], JSON.stringify(headers));
      assert.match(r.text, message);
    }
    const listed = await s3("GET", "upc/bad.bin", { query: { uploadId: id } });
    assert.doesNotMatch(listed.text, /<Part>/, "no part was stored");
    await s3("DELETE", "upc/bad.bin", { query: { uploadId: id } });
  });
});

test("ListParts pages by part-number-marker and max-parts; ListMultipartUploads takes key-marker, refuses delimiter", async () => {
  const id = await createUpload("lp/key");
  for (const n of [1, 2, 3]) {
    const r = await s3("PUT", "lp/key", { body: `p${n}`, query: { partNumber: String(n), uploadId: id } });
    assert.equal(r.status, 200, r.text);
  }
  const numbers = (xml: string) => [...xml.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
  const first = await s3("GET", "lp/key", { query: { uploadId: id, "max-parts": "2" } });
  assert.deepEqual([numbers(first.text), field(first.text, "IsTruncated")], [[1, 2], "true"]);
  assert.equal(field(first.text, "NextPartNumberMarker"), "2");
  const rest = await s3("GET", "lp/key", { query: { uploadId: id, "part-number-marker": "2" } });
  assert.deepEqual([numbers(rest.text), field(rest.text, "IsTruncated")], [[3], "false"]);
  const other = await createUpload("lp/other");
  const listed = await s3("GET", "", { query: { uploads: "", prefix: "lp/", "key-marker": "lp/key" } });
  assert.deepEqual(
    [...listed.text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]),
    ["lp/other"],
  );
  const grouped = await s3("GET", "", { query: { uploads: "", delimiter: "/" } });
  assert.deepEqual([grouped.status, grouped.code], [501, "NotImplemented"]);
  for (const [k, u] of [
    ["lp/key", id],
    ["lp/other", other],
  ] as const)
    await s3("DELETE", k, { query: { uploadId: u } });
});

describe("conditional requests", () => {
  let etag = "";
  let modified = 0;
  before(async () => {
    etag = (await s3("PUT", "cond.txt", { body: "conditional" })).headers.etag as string;
    modified = Date.parse((await s3("HEAD", "cond.txt")).headers["last-modified"] as string);
  });
  const past = () => new Date(modified - 3600_000).toUTCString();
  const future = () => new Date(modified + 3600_000).toUTCString();

  test("GET and HEAD: each of the four headers, alone and in S3's precedence pairs", async () => {
    const rows: [string, () => Record<string, string>, number][] = [
      ["If-Match equal", () => ({ "if-match": etag }), 200],
      ["If-Match *", () => ({ "if-match": "*" }), 200],
      ["If-Match other", () => ({ "if-match": '"0123"' }), 412],
      ["If-None-Match equal", () => ({ "if-none-match": etag }), 304],
      ["If-None-Match other", () => ({ "if-none-match": '"0123"' }), 200],
      ["If-Modified-Since past", () => ({ "if-modified-since": past() }), 200],
      ["If-Modified-Since future", () => ({ "if-modified-since": future() }), 304],
      ["If-Unmodified-Since past", () => ({ "if-unmodified-since": past() }), 412],
      ["If-Unmodified-Since future", () => ({ "if-unmodified-since": future() }), 200],
      ["If-Modified-Since not a date (ignored)", () => ({ "if-modified-since": "yesterday" }), 200],
      // S3: If-Match true wins over If-Unmodified-Since false; If-None-Match false over If-Modified-Since true.
      ["If-Match equal + If-Unmodified-Since past", () => ({ "if-match": etag, "if-unmodified-since": past() }), 200],
      [
        "If-None-Match equal + If-Modified-Since past",
        () => ({ "if-none-match": etag, "if-modified-since": past() }),
        304,
      ],
      [
        "If-None-Match other + If-Modified-Since future",
        () => ({ "if-none-match": '"0"', "if-modified-since": future() }),
        200,
      ],
      ["If-Match other + If-None-Match other", () => ({ "if-match": '"0"', "if-none-match": '"0"' }), 412],
    ];
    for (const method of ["GET", "HEAD"]) {
      for (const [name, headers, status] of rows) {
        const r = await s3(method, "cond.txt", { headers: headers() });
        assert.equal(r.status, status, `${method} ${name}: ${r.text}`);
        if (status === 412 && method === "GET") assert.equal(r.code, "PreconditionFailed");
        if (status === 304) {
          assert.equal(r.body.length, 0, `${method} ${name}: a 304 has no body`);
          assert.equal(r.headers.etag, etag);
        }
        if (status === 200 && method === "GET") assert.equal(r.text, "conditional");
      }
    }
  });

  test("x-amz-copy-source-if-* on CopyObject and UploadPartCopy: a failed one is 412 and copies nothing", async () => {
    const rows: [string, () => Record<string, string>, number][] = [
      ["match equal", () => ({ "x-amz-copy-source-if-match": etag }), 200],
      ["match other", () => ({ "x-amz-copy-source-if-match": '"0"' }), 412],
      ["none-match equal", () => ({ "x-amz-copy-source-if-none-match": etag }), 412],
      ["none-match other", () => ({ "x-amz-copy-source-if-none-match": '"0"' }), 200],
      ["modified-since past", () => ({ "x-amz-copy-source-if-modified-since": past() }), 200],
      ["modified-since future", () => ({ "x-amz-copy-source-if-modified-since": future() }), 412],
      ["unmodified-since past", () => ({ "x-amz-copy-source-if-unmodified-since": past() }), 412],
      ["unmodified-since future", () => ({ "x-amz-copy-source-if-unmodified-since": future() }), 200],
    ];
    const id = await createUpload("cond-part.txt");
    for (const [name, headers, status] of rows) {
      await s3("DELETE", "cond-copy.txt");
      const copy = await s3("PUT", "cond-copy.txt", {
        headers: { "x-amz-copy-source": `/${B}/cond.txt`, ...headers() },
      });
      assert.equal(copy.status, status, `CopyObject ${name}: ${copy.text}`);
      const head = await s3("HEAD", "cond-copy.txt");
      assert.equal(head.status, status === 200 ? 200 : 404, `CopyObject ${name} copied only when it holds`);
      const part = await s3("PUT", "cond-part.txt", {
        query: { partNumber: "1", uploadId: id },
        headers: { "x-amz-copy-source": `/${B}/cond.txt`, ...headers() },
      });
      assert.equal(part.status, status, `UploadPartCopy ${name}: ${part.text}`);
      if (status === 412) assert.equal(part.code, "PreconditionFailed");
    }
    await s3("DELETE", "cond-part.txt", { query: { uploadId: id } });
  });

  test("PutObject If-None-Match: * refuses to overwrite (412) and keeps the object", async () => {
    assert.equal((await s3("PUT", "once.txt", { body: "first", headers: { "if-none-match": "*" } })).status, 200);
    const again = await s3("PUT", "once.txt", { body: "second", headers: { "if-none-match": "*" } });
    assert.deepEqual([again.status, again.code], [412, "PreconditionFailed"]);
    assert.equal((await s3("GET", "once.txt")).text, "first");
    assert.deepEqual(await readdir(join(dir, "objects", ".tmp")), [], "the refused body was removed");
  });
});

describe("CopyObject onto itself", () => {
  test("without a change is 400 InvalidRequest; with REPLACE it replaces the metadata and keeps the bytes", async () => {
    await s3("PUT", "self.txt", { body: "self", headers: { "x-amz-meta-a": "1", "content-type": "text/plain" } });
    for (const headers of [{}, { "x-amz-metadata-directive": "COPY" }]) {
      const r = await s3("PUT", "self.txt", { headers: { "x-amz-copy-source": `/${B}/self.txt`, ...headers } });
      assert.deepEqual([r.status, r.code], [400, "InvalidRequest"]);
      assert.match(r.text, /copy an object to itself without changing the object&apos;s metadata/);
    }
    const bad = await s3("PUT", "self.txt", {
      headers: { "x-amz-copy-source": `/${B}/self.txt`, "x-amz-metadata-directive": "MERGE" },
    });
    assert.deepEqual([bad.status, bad.code], [400, "InvalidArgument"]);
    const ok = await s3("PUT", "self.txt", {
      headers: { "x-amz-copy-source": `/${B}/self.txt`, "x-amz-metadata-directive": "REPLACE", "x-amz-meta-b": "2" },
    });
    assert.equal(ok.status, 200, ok.text);
    const got = await s3("GET", "self.txt");
    assert.deepEqual([got.text, got.headers["x-amz-meta-a"], got.headers["x-amz-meta-b"]], ["self", undefined, "2"]);
  });
});

describe("ListObjectsV2", () => {
  before(async () => {
    for (const k of ["l/a", "l/b", "l/c"]) await s3("PUT", k, { body: k });
  });

  test("max-keys=0 is an empty page, not truncated, with no token", async () => {
    for (const query of [{ "list-type": "2" }, {}]) {
      const r = await s3("GET", "", { query: { ...query, prefix: "l/", "max-keys": "0" } });
      assert.equal(r.status, 200, r.text);
      assert.equal(field(r.text, "IsTruncated"), "false");
      assert.doesNotMatch(r.text, /NextContinuationToken|NextMarker|<Contents>/);
    }
  });

  test("paging follows the store's tokens; any other token is 400 InvalidArgument", async () => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { "list-type": "2", prefix: "l/", "max-keys": "2" };
      if (token) query["continuation-token"] = token;
      const r = await s3("GET", "", { query });
      assert.equal(r.status, 200, r.text);
      keys.push(...[...r.text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] as string));
      token = field(r.text, "NextContinuationToken");
    } while (token);
    assert.deepEqual(keys, ["l/a", "l/b", "l/c"]);
    for (const bad of ["garbage", Buffer.from("l/a").toString("base64url"), "", "%%%"]) {
      const r = await s3("GET", "", { query: { "list-type": "2", "continuation-token": bad } });
      assert.deepEqual([r.status, r.code], [400, "InvalidArgument"], `token ${JSON.stringify(bad)}`);
      assert.match(r.text, /The continuation token provided is incorrect/);
    }
  });

  test("fetch-owner=true puts an Owner in each Contents; without it none", async () => {
    const withOwner = await s3("GET", "", { query: { "list-type": "2", prefix: "l/", "fetch-owner": "true" } });
    assert.equal(withOwner.text.match(/<Contents>.*?<Owner><ID>[^<]+<\/ID>/g)?.length, 3);
    const without = await s3("GET", "", { query: { "list-type": "2", prefix: "l/" } });
    assert.doesNotMatch(without.text, /<Owner>/);
  });
});

test("GetObject's response-* parameters set the reply's headers (GET and HEAD)", async () => {
  await s3("PUT", "resp.txt", { body: "r", headers: { "content-type": "text/plain", "cache-control": "no-cache" } });
  const query = {
    "response-content-type": "application/x-test",
    "response-content-disposition": 'attachment; filename="x.csv"',
    "response-cache-control": "max-age=60",
    "response-content-language": "el",
    "response-expires": "Thu, 01 Dec 2044 16:00:00 GMT",
    "response-content-encoding": "identity",
  };
  for (const method of ["GET", "HEAD"]) {
    const r = await s3(method, "resp.txt", { query });
    assert.equal(r.status, 200);
    assert.deepEqual(
      [
        r.headers["content-type"],
        r.headers["content-disposition"],
        r.headers["cache-control"],
        r.headers["content-language"],
        r.headers.expires,
        r.headers["content-encoding"],
      ],
      Object.values(query),
      method,
    );
  }
  assert.equal((await s3("GET", "resp.txt")).headers["cache-control"], "no-cache", "the stored header without one");
});

describe("x-amz-checksum-* on PutObject and UploadPart", () => {
  const body = Buffer.from("checksummed body");
  const b64 = (b: Buffer) => b.toString("base64");
  const crc = (n: number) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(n);
    return out;
  };
  const right: Record<string, string> = {
    crc32: b64(crc(crc32(body))),
    crc32c: b64(crc(crc32c(body))),
    sha1: b64(createHash("sha1").update(body).digest()),
    sha256: b64(createHash("sha256").update(body).digest()),
  };

  test("the right value is accepted; a wrong one is 400 BadDigest and stores nothing; a malformed one 400", async () => {
    for (const [algorithm, value] of Object.entries(right)) {
      const good = await s3("PUT", `sum-${algorithm}`, { body, headers: { [`x-amz-checksum-${algorithm}`]: value } });
      assert.equal(good.status, 200, `${algorithm}: ${good.text}`);
      const wrongValue = b64(Buffer.alloc(Buffer.from(value, "base64").length, 1));
      const wrong = await s3("PUT", `sum-${algorithm}-wrong`, {
        body,
        headers: { [`x-amz-checksum-${algorithm}`]: wrongValue },
      });
      assert.deepEqual([wrong.status, wrong.code], [400, "BadDigest"], algorithm);
      assert.match(wrong.text, new RegExp(`The ${algorithm.toUpperCase()} you specified did not match`));
      assert.equal((await s3("HEAD", `sum-${algorithm}-wrong`)).status, 404, `${algorithm}: nothing stored`);
      const malformed = await s3("PUT", `sum-${algorithm}-bad`, {
        body,
        headers: { [`x-amz-checksum-${algorithm}`]: "not base64!" },
      });
      assert.deepEqual([malformed.status, malformed.code], [400, "InvalidArgument"], algorithm);
    }
    const id = await createUpload("sum-part");
    const part = await s3("PUT", "sum-part", {
      body,
      query: { partNumber: "1", uploadId: id },
      headers: { "x-amz-checksum-crc32c": b64(crc(1)) },
    });
    assert.deepEqual([part.status, part.code], [400, "BadDigest"]);
    assert.doesNotMatch((await s3("GET", "sum-part", { query: { uploadId: id } })).text, /<Part>/);
    await s3("DELETE", "sum-part", { query: { uploadId: id } });
    assert.deepEqual(await readdir(join(dir, "objects", ".tmp")), [], "no body left behind");
  });
});

test("a trailing x-amz-checksum (aws-chunked, as the AWS SDKs send) is checked: right stored, wrong 400 BadDigest", async () => {
  const data = Buffer.from("hello trailer");
  const sum = Buffer.alloc(4);
  sum.writeUInt32BE(crc32(data));
  const chunked = (value: string) =>
    `${data.length.toString(16)}\r\n${data}\r\n0\r\nx-amz-checksum-crc32:${value}\r\n\r\n`;
  const headers = {
    "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": String(data.length),
    "x-amz-trailer": "x-amz-checksum-crc32",
  };
  const good = await s3("PUT", "trailer-ok", { body: chunked(sum.toString("base64")), headers });
  assert.equal(good.status, 200, good.text);
  assert.equal((await s3("GET", "trailer-ok")).text, "hello trailer");
  const wrong = await s3("PUT", "trailer-wrong", { body: chunked("AAAAAA=="), headers });
  assert.deepEqual([wrong.status, wrong.code], [400, "BadDigest"]);
  const missing = await s3("PUT", "trailer-wrong", {
    body: chunked("").replace("x-amz-checksum-crc32:", "x-other:"),
    headers,
  });
  assert.deepEqual([missing.status, missing.code], [400, "InvalidArgument"]);
  assert.equal((await s3("HEAD", "trailer-wrong")).status, 404, "nothing stored");
});

test("storage classes: MinIO's two are accepted (REDUCED_REDUNDANCY shown on HEAD); any other is 400", async () => {
  assert.equal((await s3("PUT", "sc-std", { body: "s", headers: { "x-amz-storage-class": "STANDARD" } })).status, 200);
  const rrs = await s3("PUT", "sc-rrs", { body: "s", headers: { "x-amz-storage-class": "REDUCED_REDUNDANCY" } });
  assert.equal(rrs.status, 200);
  assert.equal((await s3("HEAD", "sc-rrs")).headers["x-amz-storage-class"], "REDUCED_REDUNDANCY");
  for (const [method, query] of [
    ["PUT", {}],
    ["POST", { uploads: "" }],
  ] as const) {
    const r = await s3(method, "sc-bad", {
      body: method === "PUT" ? "s" : undefined,
      query,
      headers: { "x-amz-storage-class": "GLACIER_NOT" },
    });
    assert.deepEqual([r.status, r.code], [400, "InvalidStorageClass"], method);
  }
  assert.equal((await s3("HEAD", "sc-bad")).status, 404);
});

test("GetBucketPolicy on a bucket without one is 404 NoSuchBucketPolicy", async () => {
  const r = await s3("GET", "", { query: { policy: "" } });
  assert.deepEqual([r.status, r.code], [404, "NoSuchBucketPolicy"]);
});

test("requests the store does not implement answer 501 (SSE-C over http: 400) and leave the object as it was", async () => {
  const key = "keep.txt";
  const ssec = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": randomBytes(32).toString("base64"),
    "x-amz-server-side-encryption-customer-key-md5": randomBytes(16).toString("base64"),
  };
  const copySsec = {
    "x-amz-copy-source": `/${B}/${key}`,
    "x-amz-copy-source-server-side-encryption-customer-algorithm": "AES256",
  };
  const rows: [string, string, Record<string, string>, Record<string, string>, number, string][] = [
    ["PUT SSE-C", "PUT", {}, ssec, 400, "InvalidRequest"],
    ["GET SSE-C", "GET", {}, ssec, 400, "InvalidRequest"],
    ["CopyObject with a source SSE-C key", "PUT", {}, copySsec, 400, "InvalidRequest"],
    ["PUT SSE-S3", "PUT", {}, { "x-amz-server-side-encryption": "AES256" }, 501, "NotImplemented"],
    ["PUT object lock", "PUT", {}, { "x-amz-object-lock-mode": "GOVERNANCE" }, 501, "NotImplemented"],
    ["PUT legal hold", "PUT", {}, { "x-amz-object-lock-legal-hold": "ON" }, 501, "NotImplemented"],
    [
      "PUT grant",
      "PUT",
      {},
      { "x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' },
      501,
      "NotImplemented",
    ],
    ["PUT public-read", "PUT", {}, { "x-amz-acl": "public-read" }, 501, "NotImplemented"],
    ["PUT redirect", "PUT", {}, { "x-amz-website-redirect-location": "/other" }, 501, "NotImplemented"],
    ["PUT crc64nvme", "PUT", {}, { "x-amz-checksum-crc64nvme": "AAAAAAAAAAA=" }, 501, "NotImplemented"],
    ["PUT If-None-Match etag", "PUT", {}, { "if-none-match": '"abc"' }, 501, "NotImplemented"],
    ["GET ?partNumber", "GET", { partNumber: "1" }, {}, 501, "NotImplemented"],
    ["GET ?versionId", "GET", { versionId: "abc" }, {}, 501, "NotImplemented"],
    ["DELETE ?versionId", "DELETE", { versionId: "abc" }, {}, 501, "NotImplemented"],
    ["DELETE If-Match", "DELETE", {}, { "if-match": '"0123"' }, 501, "NotImplemented"],
    [
      "CopyObject of a version",
      "PUT",
      {},
      { "x-amz-copy-source": `/${B}/${key}?versionId=abc` },
      501,
      "NotImplemented",
    ],
  ];
  assert.equal((await s3("PUT", key, { body: "keep me" })).status, 200);
  for (const [name, method, query, headers, status, code] of rows) {
    const body = method === "PUT" && !headers["x-amz-copy-source"] ? "replaced" : undefined;
    const target = headers["x-amz-copy-source"] ? "copy-target.txt" : key;
    const r = await s3(method, target, { query, headers, body });
    assert.deepEqual([r.status, r.code], [status, code], `${name}: ${r.text}`);
    const got = await s3("GET", key);
    assert.deepEqual([got.status, got.text], [200, "keep me"], `${name} left the object as it was`);
    assert.equal((await s3("HEAD", "copy-target.txt")).status, 404, `${name} wrote no copy`);
  }
  assert.equal(
    (await s3("GET", key, { query: { versionId: "null" } })).text,
    "keep me",
    'versionId "null" is the object',
  );
});

test("SSE-C over https is 501 NotImplemented (over http 400, above) and stores nothing", async () => {
  const tlsDir = join(dir, "tls");
  const secure = await startObjectStore({ directory: join(dir, "tls-objects"), buckets: [B], tlsDir });
  try {
    const over = { store: secure, ca: await readFile(join(tlsDir, "ca.pem")) };
    const headers = {
      "x-amz-server-side-encryption-customer-algorithm": "AES256",
      "x-amz-server-side-encryption-customer-key": randomBytes(32).toString("base64"),
      "x-amz-server-side-encryption-customer-key-md5": randomBytes(16).toString("base64"),
    };
    const r = await s3("PUT", "ssec.txt", { body: "secret", headers, over });
    assert.deepEqual([r.status, r.code], [501, "NotImplemented"], r.text);
    assert.equal((await s3("HEAD", "ssec.txt", { over })).status, 404);
  } finally {
    await secure.stop();
  }
});
