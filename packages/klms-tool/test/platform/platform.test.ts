import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  authorizationHeader,
  backoffDelay,
  fetchTaskInput,
  isRetryableStatus,
  PlatformError,
  parseRetryAfter,
  postTaskOutput,
  type RetryPolicy,
  taskRoutes,
} from "../../src/platform/index.ts";

const SIG = "a".repeat(64);
const ID = "0b7d7f0e-4c52-4a53-9d4e-3f2f6c1d9a10";

describe("taskRoutes", () => {
  it("builds the v2 routes and tolerates a trailing slash", () => {
    for (const endpoint of ["http://stelarapi/", "http://stelarapi", "http://stelarapi//"]) {
      const r = taskRoutes(endpoint, ID, SIG);
      assert.equal(r.version, "v2");
      assert.equal(r.input, `http://stelarapi/api/v2/task/${ID}/${SIG}/input`);
      assert.equal(r.output, `http://stelarapi/api/v2/task/${ID}/${SIG}/output`);
    }
  });

  it("keeps a path prefix (the public ingress)", () => {
    const r = taskRoutes("https://klms.example.org/stelar/", ID, SIG);
    assert.equal(r.input, `https://klms.example.org/stelar/api/v2/task/${ID}/${SIG}/input`);
  });

  it("uses the seed's v1 routes without a signature", () => {
    const r = taskRoutes("http://stelarapi/", ID);
    assert.equal(r.version, "v1");
    assert.equal(r.input, `http://stelarapi/api/v1/task/${ID}/input`);
    assert.equal(r.output, `http://stelarapi/api/v1/task/${ID}/output`);
  });

  it("encodes a task id that would change the path", () => {
    assert.equal(taskRoutes("http://h", "a/b", SIG).input, `http://h/api/v2/task/a%2Fb/${SIG}/input`);
  });

  it("refuses what is not an http(s) URL", () => {
    assert.throws(() => taskRoutes("stelarapi", ID, SIG), /not a URL/);
    assert.throws(() => taskRoutes("ftp://h/", ID, SIG), /http or https/);
    assert.throws(() => taskRoutes("http://h/?x=1", ID, SIG), /query/);
  });
});

describe("authorizationHeader", () => {
  it("keeps a Bearer token as is and adds the prefix to a bare JWT", () => {
    assert.equal(authorizationHeader("Bearer abc.def.ghi"), "Bearer abc.def.ghi");
    assert.equal(authorizationHeader("bearer abc.def.ghi"), "bearer abc.def.ghi");
    assert.equal(authorizationHeader("abc.def.ghi"), "Bearer abc.def.ghi");
    assert.equal(authorizationHeader("  abc.def.ghi\n"), "Bearer abc.def.ghi");
  });
});

describe("retry policy", () => {
  it("retries network-like statuses only", () => {
    for (const s of [408, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [400, 401, 403, 404, 409, 422]) assert.equal(isRetryableStatus(s), false, String(s));
  });

  it("draws a full-jitter delay under a doubling ceiling, capped", () => {
    const policy: RetryPolicy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(
      backoffDelay(0, policy, undefined, () => 0.999999),
      99,
    );
    assert.equal(
      backoffDelay(2, policy, undefined, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelay(10, policy, undefined, () => 0.999999),
      999,
    );
    assert.equal(
      backoffDelay(3, policy, undefined, () => 0),
      0,
    );
  });

  it("lets Retry-After win, within the cap", () => {
    const policy: RetryPolicy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(
      backoffDelay(0, policy, 700, () => 0),
      700,
    );
    assert.equal(
      backoffDelay(0, policy, 60_000, () => 0),
      1000,
    );
  });

  it("reads Retry-After as seconds or as a date", () => {
    assert.equal(parseRetryAfter("3"), 3000);
    assert.equal(parseRetryAfter("0.5"), 500);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:02 GMT", now), 2000);
    assert.equal(parseRetryAfter("soon"), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });
});

type Step = { status: number; body?: unknown; headers?: Record<string, string> } | { network: string };

/** A fetch that plays a script of replies and records the requests it got. */
function scripted(steps: Step[]) {
  const requests: { url: string; init: RequestInit }[] = [];
  const fetchFn = (async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(url), init: init ?? {} });
    const step = steps.shift();
    if (!step) throw new Error("no more scripted replies");
    if ("network" in step) throw new TypeError("fetch failed", { cause: { code: step.network } });
    return new Response(step.body === undefined ? "" : JSON.stringify(step.body), {
      status: step.status,
      headers: { "content-type": "application/json", ...step.headers },
    });
  }) as typeof fetch;
  return { fetchFn, requests };
}

const fast = { retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 5 }, random: () => 0 };
const routes = taskRoutes("http://api/", ID, SIG);
const ok = (result: unknown) => ({ status: 200, body: { help: "Hidden for security reasons", result, success: true } });
const apiError = (status: number, message: string) => ({
  status,
  body: {
    help: `http://api/api/v2/task/${ID}/${SIG}/input`,
    success: false,
    error: { __type: "X", status_code: status, message },
  },
});

describe("fetchTaskInput", () => {
  it("sends the token and unwraps the envelope", async () => {
    const { fetchFn, requests } = scripted([ok({ input: {}, parameters: {} })]);
    const { result, attempts } = await fetchTaskInput(routes, "abc.def.ghi", { ...fast, fetch: fetchFn });
    assert.deepEqual(result, { input: {}, parameters: {} });
    assert.equal(attempts, 1);
    assert.equal(requests[0]?.url, routes.input);
    assert.equal(
      (requests[0]?.init.headers as Record<string, string> | undefined)?.Authorization,
      "Bearer abc.def.ghi",
    );
  });

  it("retries network errors and 5xx, then succeeds", async () => {
    const retries: number[] = [];
    const { fetchFn } = scripted([{ network: "ECONNRESET" }, apiError(503, "busy"), ok({})]);
    const { attempts } = await fetchTaskInput(routes, "t", {
      ...fast,
      fetch: fetchFn,
      onRetry: (n) => retries.push(n.attempt),
    });
    assert.equal(attempts, 3);
    assert.deepEqual(retries, [1, 2]);
  });

  it("does not retry 401 and reports it as auth, without echoing the URL", async () => {
    const { fetchFn, requests } = scripted([apiError(401, "Token is invalid or expired")]);
    const err = await fetchTaskInput(routes, "t", { ...fast, fetch: fetchFn }).catch((e: unknown) => e);
    assert.ok(err instanceof PlatformError);
    assert.equal(err.code, "auth");
    assert.equal(err.status, 401);
    assert.equal(requests.length, 1);
    assert.match(err.message, /HTTP 401: X: Token is invalid or expired/);
    assert.doesNotMatch(err.message, new RegExp(SIG));
  });

  it("classifies 404 and 422", async () => {
    for (const [status, kind] of [
      [404, "not-found"],
      [422, "rejected"],
      [400, "rejected"],
    ] as const) {
      const { fetchFn } = scripted([apiError(status, "no")]);
      const err = await fetchTaskInput(routes, "t", { ...fast, fetch: fetchFn }).catch((e: unknown) => e);
      assert.ok(err instanceof PlatformError);
      assert.equal(err.code, kind, String(status));
    }
  });

  it("gives up after the retries, as unavailable", async () => {
    const { fetchFn, requests } = scripted(Array.from({ length: 4 }, () => apiError(500, "down")));
    const err = await fetchTaskInput(routes, "t", { ...fast, fetch: fetchFn }).catch((e: unknown) => e);
    assert.ok(err instanceof PlatformError);
    assert.equal(err.code, "unavailable");
    assert.equal(requests.length, 4);
    assert.match(err.message, /after 4 attempts: HTTP 500/);
  });

  it("refuses a reply that is not the success envelope", async () => {
    for (const step of [
      { status: 200, body: { success: true, result: null } },
      { status: 200, body: { success: false } },
      { status: 200, body: [1] },
      { status: 200 },
    ]) {
      const { fetchFn } = scripted([step]);
      const err = await fetchTaskInput(routes, "t", { ...fast, fetch: fetchFn }).catch((e: unknown) => e);
      assert.ok(err instanceof PlatformError);
      assert.equal(err.code, "invalid-reply");
    }
  });

  it("waits as long as Retry-After says (within the cap)", async () => {
    const delays: number[] = [];
    const { fetchFn } = scripted([{ status: 429, headers: { "retry-after": "0.004" } }, ok({})]);
    await fetchTaskInput(routes, "t", { ...fast, fetch: fetchFn, onRetry: (n) => delays.push(n.delayMs) });
    assert.deepEqual(delays, [4]);
  });

  it("stops at once when the caller aborts", async () => {
    const controller = new AbortController();
    const { fetchFn } = scripted([apiError(503, "busy"), ok({})]);
    const retry = { retries: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 };
    const pending = fetchTaskInput(routes, "t", { retry, random: () => 1, fetch: fetchFn, signal: controller.signal });
    controller.abort();
    const err = await pending.catch((e: unknown) => e);
    assert.ok(err instanceof PlatformError);
    assert.equal(err.code, "aborted");
  });
});

describe("postTaskOutput", () => {
  const output = { status: "succeeded", output: { a: "s3://b/k" } };

  it("posts v2 output as is, without credentials", async () => {
    const { fetchFn, requests } = scripted([ok(null)]);
    const r = await postTaskOutput(routes, "Bearer tok", output, { ...fast, fetch: fetchFn });
    assert.equal(r.outcome, "recorded");
    const init = requests[0]?.init as RequestInit & { headers: Record<string, string> };
    assert.equal(requests[0]?.url, routes.output);
    assert.equal(init.method, "POST");
    assert.equal(init.headers["Content-Type"], "application/json");
    assert.equal(init.headers.Authorization, undefined);
    assert.deepEqual(JSON.parse(String(init.body)), output);
  });

  it("wraps v1 output and sends the token", async () => {
    const v1 = taskRoutes("http://api/", ID);
    const { fetchFn, requests } = scripted([ok(null)]);
    await postTaskOutput(v1, "Bearer tok", output, { ...fast, fetch: fetchFn });
    const init = requests[0]?.init as RequestInit & { headers: Record<string, string> };
    assert.equal(init.headers.Authorization, "Bearer tok");
    assert.deepEqual(JSON.parse(String(init.body)), { task_exec_id: ID, output_json: output });
  });

  it("reads a 409 after a lost reply as already recorded", async () => {
    const { fetchFn } = scripted([{ network: "ECONNRESET" }, apiError(409, "terminated")]);
    const r = await postTaskOutput(routes, "t", output, { ...fast, fetch: fetchFn });
    assert.equal(r.outcome, "already-recorded");
    assert.equal(r.attempts, 2);
  });

  it("reads a 409 on the first post as a conflict", async () => {
    const { fetchFn } = scripted([apiError(409, "Task is terminated and no further updates are allowed.")]);
    const r = await postTaskOutput(routes, "t", output, { ...fast, fetch: fetchFn });
    assert.equal(r.outcome, "conflict");
    assert.match(r.detail ?? "", /terminated/);
  });

  it("does not retry 403 or 422", async () => {
    for (const [status, kind] of [
      [403, "auth"],
      [422, "rejected"],
    ] as const) {
      const { fetchFn, requests } = scripted([apiError(status, "no")]);
      const err = await postTaskOutput(routes, "t", output, { ...fast, fetch: fetchFn }).catch((e: unknown) => e);
      assert.ok(err instanceof PlatformError);
      assert.equal(err.code, kind);
      assert.equal(requests.length, 1);
    }
  });
});
