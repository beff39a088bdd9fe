/** Helpers shared by the tests: a JSON HTTP call against a running local KLMS. */
import assert from "node:assert/strict";

export interface Reply {
  status: number;
  body: {
    help: string;
    success: boolean;
    result?: unknown;
    error?: { __type: string; status_code: number; message: string; detail: Record<string, unknown> };
  };
  text: string;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as is (not JSON-encoded). */
  raw?: string;
  contentType?: string;
}

/** Calls `base + path` and parses the JSON reply. */
export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = options.token;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  const response = await fetch(base + path, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), text };
}

/** Asserts the platform's error envelope with the given status (and message, when given). */
export function assertError(reply: Reply, status: number, type: string, message?: string | RegExp): void {
  assert.equal(reply.status, status, reply.text);
  assert.deepEqual(Object.keys(reply.body), ["error", "help", "success"]);
  assert.equal(reply.body.success, false);
  assert.deepEqual(Object.keys(reply.body.error ?? {}), ["__type", "detail", "message", "status_code"]);
  assert.equal(reply.body.error?.status_code, status);
  assert.equal(reply.body.error?.__type, type);
  if (typeof message === "string") assert.equal(reply.body.error?.message, message);
  else if (message) assert.match(reply.body.error?.message ?? "", message);
}

/** Asserts the success envelope and returns its result. */
export function assertSuccess(reply: Reply, help?: string): unknown {
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(Object.keys(reply.body), ["help", "result", "success"]);
  assert.equal(reply.body.success, true);
  if (help !== undefined) assert.equal(reply.body.help, help);
  return reply.body.result;
}
