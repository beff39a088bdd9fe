/**
 * entrypoint/loading.ts: the warning for a module slow to call main(), and the account of a
 * module that ended before it did (the failure matrix runs both through the real entrypoint).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { describeEndBeforeMain, type EndBeforeMain, warnWhileLoading } from "../../src/entrypoint/loading.js";
import { createLogger } from "../../src/log/logger.js";
import { Masker } from "../../src/log/mask.js";

const PROCESS = { needs: "--worker-module", instead: 'run it as a command with --worker "node m.mjs"' };
const base: EndBeforeMain = { module: "m.mjs", exitCode: 0, signal: null, wroteStderr: false, mode: PROCESS };

describe("describeEndBeforeMain", () => {
  test("a module that threw while loading: what it threw", () => {
    assert.equal(
      describeEndBeforeMain({ ...base, exitCode: 1, loadError: "Unexpected token" }),
      "the module failed to load: Unexpected token",
    );
  });
  test("a non-zero exit says the code, and whether there is anything on standard error to read", () => {
    assert.equal(
      describeEndBeforeMain({ ...base, exitCode: 3 }),
      "the module failed to load: it exited with code 3 before calling main(import.meta, tool), and wrote nothing on its standard error",
    );
    assert.equal(
      describeEndBeforeMain({ ...base, exitCode: 1, wroteStderr: true }),
      "the module failed to load: it exited with code 1 before calling main(import.meta, tool); see the last lines of its standard error",
    );
  });
  test("a signal is named", () => {
    assert.match(
      describeEndBeforeMain({ ...base, exitCode: null, signal: "SIGKILL" }),
      /^the module failed to load: it was killed by signal SIGKILL before calling main/,
    );
  });
  test("a module that ended well without main(): the flag that needs it and the way without it", () => {
    assert.equal(
      describeEndBeforeMain(base),
      'm.mjs did not call main(import.meta, tool), which --worker-module needs (or run it as a command with --worker "node m.mjs")',
    );
  });
});

describe("warnWhileLoading", () => {
  function logged() {
    const lines: string[] = [];
    const log = createLogger({ source: "entrypoint", masker: new Masker(), write: (line) => lines.push(line) });
    return { lines, log };
  }

  test("warns once, naming the module and the bound, while main() has not been called", async () => {
    const { lines, log } = logged();
    const cancel = warnWhileLoading(log, "bundle/tool/main.mjs", () => false, 20);
    await delay(120);
    cancel();
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] as string,
      /WARN .*bundle\/tool\/main\.mjs has not called main\(import\.meta, tool\) 0\.02 s after its input was ready: still waiting\..*--timeout \(KLMS_TIMEOUT\)/,
    );
  });

  test("says nothing once main() was called, or once cancelled", async () => {
    const ready = logged();
    warnWhileLoading(ready.log, "m.mjs", () => true, 20);
    const cancelled = logged();
    warnWhileLoading(cancelled.log, "m.mjs", () => false, 20)();
    await delay(80);
    assert.deepEqual(ready.lines, []);
    assert.deepEqual(cancelled.lines, []);
  });
});
