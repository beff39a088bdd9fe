import assert from "node:assert/strict";
import { test } from "node:test";
import { DEV_SESSION_TOKEN, type LocalKlmsOptions, startLocalKlms } from "../src/index.js";
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

test("the embedded object store: its URL, its keys and a dev session token", async () => {
  const { s3Url, minio } = await minioOf({});
  assert.match(s3Url ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(minio, {
    endpoint_url: s3Url,
    internal_url: s3Url,
    id: "S3RVER",
    key: "S3RVER",
    skey: DEV_SESSION_TOKEN,
  });
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
