/**
 * Accounts and the front door, as stelar_client meets them: `POST /stelar/api/v1/users/token`,
 * then `GET /stelar/help`; the refresh PUT; `/me`; the admin-only user record; the `/stelar`
 * prefix on every route, with `help` showing the prefix the request used.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEV_TOKEN_TTL_SECONDS, type LocalKlms, startLocalKlms, verifyToken } from "../src/index.js";
import { assertError, assertSuccess, call } from "./helpers.js";

const SECRET = "accounts-test-secret";
let klms: LocalKlms;
before(async () => {
  klms = await startLocalKlms({
    quiet: true,
    secret: SECRET,
    users: [{ username: "alice", password: "alice-pw" }],
  });
});
after(async () => {
  await klms.stop();
});

const login = (username: string, password: string, prefix = "/stelar") =>
  call(klms.apiUrl, "POST", `${prefix}/api/v1/users/token`, { body: { username, password } });

describe("tokens", () => {
  test("POST /users/token: the platform's five keys; the token works on the API", async () => {
    const reply = await login("dev", "dev");
    const result = assertSuccess(reply, `${klms.apiUrl}/stelar/api/v1/users/token`) as Record<string, unknown>;
    assert.deepEqual(Object.keys(result), ["expires_in", "refresh_expires_in", "refresh_token", "token", "token_type"]);
    assert.equal(result.token_type, "Bearer");
    assert.equal(result.expires_in, DEV_TOKEN_TTL_SECONDS);
    assert.equal(typeof result.refresh_expires_in, "number");
    const me = await call(klms.apiUrl, "GET", "/stelar/api/v1/users/me", { token: `Bearer ${result.token}` });
    assert.equal((assertSuccess(me) as Record<string, unknown>).preferred_username, "dev");
    assert.deepEqual(verifyToken(result.token as string, SECRET)?.username, "dev");
    assert.equal(verifyToken(result.refresh_token as string, SECRET), undefined, "a refresh token is no access token");
    assert.equal(verifyToken(result.token as string, "another-secret"), undefined);
  });

  test("bad credentials: the platform's 401", async () => {
    for (const [username, password] of [
      ["dev", "wrong"],
      ["nobody", "dev"],
      ["alice", "dev"],
    ] as const) {
      const reply = await login(username, password);
      assertError(reply, 401, "AuthenticationError", "Authorization using the provided credentials failed");
      assert.deepEqual(reply.body.error?.detail, { message: "Invalid user credentials" });
      assert.ok(!reply.text.includes(password), "the password is not echoed");
    }
  });

  test("a missing field is a 422; a password over 50 characters too", async () => {
    const missing = await call(klms.apiUrl, "POST", "/api/v1/users/token", { body: { username: "dev" } });
    assertError(missing, 422, "_ValidationError", "Validation error");
    assert.deepEqual(missing.body.error?.detail, { json: { password: ["Missing data for required field."] } });
    const long = await login("dev", "x".repeat(51));
    assert.deepEqual(long.body.error?.detail, { json: { password: ["Longer than maximum length 50."] } });
  });

  test("PUT /users/token refreshes; an access token or garbage in its place is the platform's 400", async () => {
    const first = assertSuccess(await login("alice", "alice-pw")) as Record<string, string>;
    const refreshed = await call(klms.apiUrl, "PUT", "/stelar/api/v1/users/token", {
      body: { refresh_token: first.refresh_token },
    });
    const result = assertSuccess(refreshed) as Record<string, string>;
    assert.equal(verifyToken(result.token as string, SECRET)?.username, "alice");
    for (const bad of [first.token, "not-a-token"]) {
      const reply = await call(klms.apiUrl, "PUT", "/api/v1/users/token", { body: { refresh_token: bad } });
      assertError(reply, 400, "InvalidError", "Bad Request: Invalid data sent to Keycloak");
    }
  });
});

describe("users", () => {
  test("GET /users/me: the introspection object with username, sub and is_admin", async () => {
    const alice = assertSuccess(await login("alice", "alice-pw")) as Record<string, string>;
    const me = await call(klms.apiUrl, "GET", "/api/v1/users/me", { token: `Bearer ${alice.token}` });
    const result = assertSuccess(me) as Record<string, unknown>;
    assert.equal(result.active, true);
    assert.equal(result.username, "alice");
    assert.equal(result.preferred_username, "alice");
    assert.equal(result.is_admin, false);
    assert.match(String(result.sub), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("GET /users/<name or id>: for admins (dev is one); others get the platform's 403", async () => {
    const reply = await call(klms.apiUrl, "GET", "/stelar/api/v1/users/alice", { token: klms.token });
    const record = assertSuccess(reply) as Record<string, unknown>;
    assert.deepEqual(Object.keys(record), [
      "active",
      "email",
      "email_verified",
      "first_name",
      "fullname",
      "id",
      "is_admin",
      "joined_date",
      "last_name",
      "roles",
      "username",
    ]);
    const byId = await call(klms.apiUrl, "GET", `/api/v1/users/${record.id}`, { token: klms.token });
    assert.equal((assertSuccess(byId) as Record<string, unknown>).username, "alice");
    assertError(await call(klms.apiUrl, "GET", "/api/v1/users/nobody", { token: klms.token }), 404, "NotFoundError");

    const alice = assertSuccess(await login("alice", "alice-pw")) as Record<string, string>;
    const denied = await call(klms.apiUrl, "GET", "/api/v1/users/alice", { token: `Bearer ${alice.token}` });
    assertError(denied, 403, "AuthorizationError", "Bearer Token is not related to an admin user");
  });

  test("a non-admin sees only their own tasks and signatures", async () => {
    const alice = `Bearer ${(assertSuccess(await login("alice", "alice-pw")) as Record<string, string>).token}`;
    const spec = { process_id: klms.processId, name: "mine", datasets: {}, inputs: {}, outputs: {} };
    const own = assertSuccess(await call(klms.apiUrl, "POST", "/api/v2/task", { token: alice, body: spec })) as {
      id: string;
    };
    const devs = await klms.createTask(spec);
    const list = await call(klms.apiUrl, "GET", "/api/v2/tasks", { token: alice });
    assert.deepEqual(assertSuccess(list), { created: [own.id] });
    assert.equal((await klms.getTask(own.id)).creator, "alice");
    const signature = await call(klms.apiUrl, "GET", `/api/v2/task/${devs.id}/signature`, { token: alice });
    assertError(signature, 403, "AuthorizationError", "You are not authorized to access the signature of this Task.");
    const mine = await call(klms.apiUrl, "GET", `/api/v2/task/${own.id}/signature`, { token: alice });
    assert.equal(typeof (assertSuccess(mine) as { signature: string }).signature, "string");
  });
});

test("a task input's minio block: STS credentials of the caller; a Job runs with its creator's token", async () => {
  const alice = `Bearer ${(assertSuccess(await login("alice", "alice-pw")) as Record<string, string>).token}`;
  const spec = { process_id: klms.processId, name: "creds", datasets: {}, inputs: {}, outputs: {} };
  const created = assertSuccess(await call(klms.apiUrl, "POST", "/api/v2/task", { token: alice, body: spec })) as {
    id: string;
    signature: string;
  };
  // The embedded store's session token is a signed record of the user it was minted for.
  const userOf = (minio: Record<string, string>) =>
    JSON.parse(Buffer.from(String(minio.skey).split(".")[0] ?? "", "base64url").toString()).sub;
  const read = async (token: string) => {
    const path = `/api/v2/task/${created.id}/${created.signature}/input`;
    return (assertSuccess(await call(klms.apiUrl, "GET", path, { token })) as { minio: Record<string, string> }).minio;
  };
  assert.equal(userOf(await read(alice)), "alice");
  assert.equal(userOf(await read(klms.token)), "dev", "the caller's token, as the platform's get_input uses");
  // A run of alice's task gets alice's token as its first argument, as the cluster's Job does.
  const script =
    "process.stdout.write(JSON.parse(Buffer.from(process.argv[1].split(' ')[1].split('.')[1], 'base64url')).preferred_username)";
  const run = await klms.runTask(created.id, { command: [process.execPath, "-e", script] });
  assert.equal(run.stdout, "alice");
});

describe("the /stelar prefix and /help", () => {
  test("every route answers with and without /stelar; help shows the prefix the request used", async () => {
    for (const prefix of ["", "/stelar"]) {
      const path = `${prefix}/api/v2/process/${klms.processId}`;
      const reply = await call(klms.apiUrl, "GET", path, { token: klms.token });
      assertSuccess(reply, `${klms.apiUrl}${path}`);
      const missing = await call(klms.apiUrl, "GET", `${prefix}/api/v2/task/nothing`, { token: klms.token });
      assert.equal(missing.body.help, `${klms.apiUrl}${prefix}/api/v2/task/nothing`);
    }
  });

  test("GET /help (no token): the fields clients read, s3_api the object store, URLs under the prefix used", async () => {
    for (const prefix of ["", "/stelar"]) {
      const reply = await call(klms.apiUrl, "GET", `${prefix}/help?x=1`);
      const result = assertSuccess(reply, `${klms.apiUrl}${prefix}/help`) as Record<string, string>;
      assert.equal(result.s3_api, klms.s3Url);
      assert.equal(result.message, "Data API for managing resources in STELAR Knowledge Lake Management System.");
      assert.equal(result["Swagger UI"], `${klms.apiUrl}${prefix}/docs`);
      assert.equal(result["OpenAPI specifications"], `${klms.apiUrl}${prefix}/specs`);
      assert.equal(result.Console, `${klms.apiUrl}${prefix}/console/v1/`);
      for (const key of ["keycloak_issuer_url", "keycloak_url", "klms_dns_domain", "klms_root_url"]) {
        assert.equal(typeof result[key], "string", key);
      }
    }
  });

  test("/stelarx is not the prefix", async () => {
    const reply = await call(klms.apiUrl, "GET", "/stelarx/help");
    assertError(reply, 404, "HTTPError", "Not Found");
  });
});
