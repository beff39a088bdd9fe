import assert from "node:assert/strict";
import { test } from "node:test";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DEFAULT_BUCKET, type LocalKlmsOptions, startLocalKlms } from "../src/index.js";
import { assertSuccess, call } from "./helpers.js";

async function minioOf(objectStore: LocalKlmsOptions) {
  const klms = await startLocalKlms({ ...objectStore, quiet: true });
  try {
    const { id, signature } = await klms.createTask({
      process_id: klms.processId,
      name: "o",
      datasets: {},
      inputs: {},
      outputs: {},
    });
    const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
    return { s3Url: klms.s3Url, minio: (assertSuccess(reply) as { minio: Record<string, string> }).minio };
  } finally {
    await klms.stop();
  }
}

test("the embedded object store: each task input carries STS credentials minted for it, and they work", async () => {
  const klms = await startLocalKlms({ quiet: true });
  try {
    const { id, signature } = await klms.createTask({
      process_id: klms.processId,
      name: "t",
      datasets: {},
      inputs: {},
      outputs: {},
    });
    const input = async () => {
      const reply = await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token });
      return (assertSuccess(reply) as { minio: Record<string, string> }).minio;
    };
    const minio = await input();
    assert.match(klms.s3Url ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(Object.keys(minio).sort(), ["endpoint_url", "id", "internal_url", "key", "skey"]);
    assert.equal(minio.endpoint_url, klms.s3Url);
    assert.equal(minio.internal_url, klms.s3Url);
    assert.notEqual((await input()).id, minio.id, "re-minted on every input GET, as the platform does");
    const s3 = new S3Client({
      endpoint: minio.endpoint_url,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: minio.id ?? "", secretAccessKey: minio.key ?? "", sessionToken: minio.skey ?? "" },
    });
    await s3.send(new PutObjectCommand({ Bucket: DEFAULT_BUCKET, Key: "from-input.txt", Body: "minted" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: DEFAULT_BUCKET, Key: "from-input.txt" }));
    assert.equal(await got.Body?.transformToString(), "minted");
    s3.destroy();
  } finally {
    await klms.stop();
  }
});

test("an external object store, with and without a session token", async () => {
  const store = { url: "http://127.0.0.1:7480", accessKeyId: "AK", secretAccessKey: "SK" };
  const plain = await minioOf({ objectStore: store });
  assert.equal(plain.s3Url, store.url);
  assert.deepEqual(plain.minio, { endpoint_url: store.url, internal_url: store.url, id: "AK", key: "SK" });
  const withToken = await minioOf({ objectStore: { ...store, sessionToken: "ST" } });
  assert.equal(withToken.minio.skey, "ST");
});

test("no object store: an empty minio block and no s3Url", async () => {
  const { s3Url, minio } = await minioOf({ objectStore: false });
  assert.equal(s3Url, undefined);
  assert.deepEqual(minio, {});
});

test("a fixed port is used as given; the API listens on 127.0.0.1 only", async () => {
  const probe = await startLocalKlms({ objectStore: false, quiet: true });
  const port = Number(new URL(probe.apiUrl).port);
  await probe.stop();
  const klms = await startLocalKlms({ port, objectStore: false, quiet: true });
  try {
    assert.equal(klms.apiUrl, `http://127.0.0.1:${port}`);
    await assert.rejects(startLocalKlms({ port, objectStore: false, quiet: true }), /EADDRINUSE/);
  } finally {
    await klms.stop();
  }
});
