/** The local KLMS's API errors share the kit's error base (klms-tool's KlmsError). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KlmsError } from "klms-tool";
import { ApiError, errorTypeOf } from "../src/envelope.ts";

test("ApiError is a KlmsError named ApiError, its code the platform's __type (was: name Error, no code)", () => {
  const e = new ApiError(404, "Not found");
  assert.ok(e instanceof KlmsError);
  assert.equal(e.name, "ApiError");
  assert.equal(e.code, "NotFoundError");
  assert.equal(e.code, errorTypeOf(404));
  assert.equal(e.type, e.code);
  assert.match(String(e.stack), /^ApiError: Not found/);
  assert.equal(new ApiError(409, "taken", {}, "ConflictError").code, "ConflictError");
});
