import assert from "node:assert/strict";
import { test } from "node:test";
import { explain } from "../../src/storage/errors.ts";

test("a host that does not resolve: the message names the endpoint used and blames no other URL", () => {
  const error = Object.assign(new Error("getaddrinfo ENOTFOUND minio.example.org"), { code: "ENOTFOUND" });
  const explained = explain(error, {
    action: "download",
    bucket: "klms-bucket",
    key: "a.csv",
    endpoint: "https://minio.example.org",
  });
  assert.equal(explained.code, "ENOTFOUND");
  assert.match(explained.message, /^download s3:\/\/klms-bucket\/a\.csv at https:\/\/minio\.example\.org failed: /);
  assert.match(explained.message, /outside the cluster minio\.endpoint_url is used, inside it internal_url/);
  assert.doesNotMatch(explained.message, /not internal_url/);
});
