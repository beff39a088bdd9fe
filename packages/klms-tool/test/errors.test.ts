/**
 * One error base: every error the kit throws at its callers is a KlmsError with its class's
 * name, a code, and the error that caused it kept as `cause`.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import { ToolLoadError } from "../src/cli/load-tool.ts";
import { KlmsApiError } from "../src/client/errors.ts";
import { OptionError } from "../src/config/options.ts";
import { ReadLimitError } from "../src/contract/bounded-read.ts";
import {
  KlmsError,
  MetricsError,
  ParameterError,
  SecretsUnavailableError,
  StorageError,
  TaskInputError,
  TaskValidationError,
} from "../src/index.ts";
import { fetchTaskInput, PlatformError, taskRoutes } from "../src/platform/index.ts";

describe("KlmsError", () => {
  test("every error class of the kit extends it, with its name and a code", () => {
    const cause = new Error("underneath");
    const errors: [KlmsError, string, string][] = [
      [new StorageError("NoSuchKey", "m", { cause }), "StorageError", "NoSuchKey"],
      [new PlatformError("m", "auth", 401, 1), "PlatformError", "auth"],
      [
        new KlmsApiError({ status: 404, code: "NotFoundError", message: "m", request: "GET /x" }),
        "KlmsApiError",
        "NotFoundError",
      ],
      [new TaskInputError("m"), "TaskInputError", "BadTaskInput"],
      [new ParameterError("m"), "ParameterError", "BadParameters"],
      [new TaskValidationError("m"), "TaskValidationError", "BadTask"],
      [new SecretsUnavailableError("m"), "SecretsUnavailableError", "SecretsUnavailable"],
      [new MetricsError("m"), "MetricsError", "BadMetrics"],
      [new ReadLimitError("m", "too-large"), "ReadLimitError", "too-large"],
      [new OptionError("m"), "OptionError", "BadOption"],
      [new ToolLoadError("m"), "ToolLoadError", "ToolLoad"],
    ];
    for (const [error, name, code] of errors) {
      assert.ok(error instanceof KlmsError, name);
      assert.ok(error instanceof Error, name);
      assert.equal(error.name, name);
      assert.equal(error.code, code, name);
      assert.match(String(error.stack), new RegExp(`^${name}: `), name);
    }
    assert.equal(errors[0]?.[0].cause, cause);
  });

  test("a Data API call that fails on the network keeps the socket's error as cause (was dropped)", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    await new Promise<void>((r) => server.close(() => r()));
    const routes = taskRoutes(`http://127.0.0.1:${port}`, "task-1", "sig");
    await assert.rejects(
      fetchTaskInput(routes, "t", { retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } }),
      (err: unknown) =>
        err instanceof PlatformError &&
        err.code === "unavailable" &&
        (err.cause as NodeJS.ErrnoException | undefined)?.code === "ECONNREFUSED",
    );
  });
});
