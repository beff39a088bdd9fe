import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ENTRYPOINT_HELP, parseEntrypointArgs, splitCommand } from "../../src/entrypoint/args.ts";

const FOUR = ["Bearer a.b.c", "http://stelarapi/", "task-1", "f".repeat(64)];

describe("parseEntrypointArgs", () => {
  it("reads the Job's four arguments with the defaults", () => {
    const parsed = parseEntrypointArgs(FOUR, {});
    assert.equal(parsed.kind, "run");
    if (parsed.kind !== "run") return;
    assert.deepEqual(parsed.options, {
      token: "Bearer a.b.c",
      endpoint: "http://stelarapi/",
      taskId: "task-1",
      signature: "f".repeat(64),
      worker: ["node", "dist/main.js"],
      gracePeriodMs: 10_000,
      requestTimeoutMs: 30_000,
      retries: 5,
      retryDelayMs: 1000,
    });
  });

  it("a wrong option value still names the task, so that the platform can be told; a bad flag or count does not", () => {
    for (const env of [{ KLMS_TIMEOUT: "30m" }, { KLMS_GRACE_PERIOD: "-5" }, { KLMS_RETRIES: "many" }]) {
      const parsed = parseEntrypointArgs(FOUR, env);
      assert.equal(parsed.kind, "usage", JSON.stringify(env));
      if (parsed.kind !== "usage") continue;
      assert.match(parsed.error, new RegExp(Object.keys(env)[0] as string));
      assert.deepEqual(parsed.task, { token: FOUR[0], endpoint: FOUR[1], taskId: FOUR[2], signature: FOUR[3] });
    }
    const badFlag = parseEntrypointArgs(["--wokrer", "x", ...FOUR], {});
    assert.equal(badFlag.kind === "usage" && badFlag.task, undefined);
    const short = parseEntrypointArgs(FOUR.slice(0, 2), {});
    assert.equal(short.kind === "usage" && short.task, undefined);
  });

  it("reads the seed's three arguments without a signature", () => {
    const parsed = parseEntrypointArgs(FOUR.slice(0, 3), {});
    assert.equal(parsed.kind, "run");
    if (parsed.kind === "run") assert.equal(parsed.options.signature, undefined);
  });

  it("asks for usage on any other count, without quoting the arguments", () => {
    for (const argv of [[], FOUR.slice(0, 2), [...FOUR, "extra"]]) {
      const parsed = parseEntrypointArgs(argv, {});
      assert.equal(parsed.kind, "usage");
      if (parsed.kind === "usage") {
        assert.match(parsed.error, new RegExp(`got ${argv.length}`));
        assert.doesNotMatch(parsed.error, /a\.b\.c/);
      }
    }
  });

  it("refuses empty arguments and unknown options", () => {
    assert.equal(parseEntrypointArgs(["Bearer x", "http://h", " ", "sig"], {}).kind, "usage");
    assert.equal(parseEntrypointArgs(["--nope", ...FOUR], {}).kind, "usage");
  });

  it("prints help for --help and -h", () => {
    assert.equal(parseEntrypointArgs(["--help"], {}).kind, "help");
    assert.equal(parseEntrypointArgs(["-h", ...FOUR], {}).kind, "help");
  });

  it("takes options from the command line, then the environment", () => {
    const env = { KLMS_WORKER: "python3 -u main.py", KLMS_GRACE_PERIOD: "3", KLMS_TIMEOUT: "60", KLMS_RETRIES: "2" };
    const fromEnv = parseEntrypointArgs(FOUR, env);
    assert.equal(fromEnv.kind, "run");
    if (fromEnv.kind === "run") {
      assert.deepEqual(fromEnv.options.worker, ["python3", "-u", "main.py"]);
      assert.equal(fromEnv.options.gracePeriodMs, 3000);
      assert.equal(fromEnv.options.timeoutMs, 60_000);
      assert.equal(fromEnv.options.retries, 2);
    }
    const argv = ["--worker", "node app.js", "--grace-period", "0.5", "--timeout", "2", "--request-timeout", "1"];
    const fromArgs = parseEntrypointArgs([...argv, "--retries", "0", "--retry-delay", "0.01", ...FOUR], env);
    assert.equal(fromArgs.kind, "run");
    if (fromArgs.kind === "run") {
      assert.deepEqual(fromArgs.options.worker, ["node", "app.js"]);
      assert.equal(fromArgs.options.gracePeriodMs, 500);
      assert.equal(fromArgs.options.timeoutMs, 2000);
      assert.equal(fromArgs.options.requestTimeoutMs, 1000);
      assert.equal(fromArgs.options.retries, 0);
      assert.equal(fromArgs.options.retryDelayMs, 10);
    }
  });

  it("runs the tool in a thread with --worker-thread or KLMS_WORKER_THREAD; the command line wins", () => {
    const fromArgs = parseEntrypointArgs(["--worker-thread", "bundle/tool/main.mjs", ...FOUR], {});
    assert.equal(fromArgs.kind, "run");
    if (fromArgs.kind === "run") {
      assert.equal(fromArgs.options.workerThread, "bundle/tool/main.mjs");
      assert.deepEqual(fromArgs.options.worker, ["bundle/tool/main.mjs"]);
    }
    const fromEnv = parseEntrypointArgs(FOUR, { KLMS_WORKER_THREAD: "dist/main.js" });
    assert.equal(fromEnv.kind === "run" && fromEnv.options.workerThread, "dist/main.js");
    // --worker on the command line beats a thread asked for by the environment.
    const overridden = parseEntrypointArgs(["--worker", "python3 main.py", ...FOUR], { KLMS_WORKER_THREAD: "x.mjs" });
    assert.equal(overridden.kind, "run");
    if (overridden.kind === "run") {
      assert.equal(overridden.options.workerThread, undefined);
      assert.deepEqual(overridden.options.worker, ["python3", "main.py"]);
    }
    const none = parseEntrypointArgs(FOUR, {});
    assert.equal(none.kind === "run" && none.options.workerThread, undefined);
  });

  it("runs the tool module in its own process, started ahead, with --worker-module or KLMS_WORKER_MODULE", () => {
    const fromArgs = parseEntrypointArgs(["--worker-module", "bundle/tool/main.mjs", ...FOUR], {});
    assert.equal(fromArgs.kind, "run");
    if (fromArgs.kind === "run") {
      assert.equal(fromArgs.options.workerModule, "bundle/tool/main.mjs");
      assert.equal(fromArgs.options.workerThread, undefined);
      assert.deepEqual(fromArgs.options.worker, ["node", "bundle/tool/main.mjs"]);
    }
    // In the environment the thread beats the module, which beats the command (run.sh's order).
    const fromEnv = parseEntrypointArgs(FOUR, { KLMS_WORKER_MODULE: "m.mjs", KLMS_WORKER: "python3 main.py" });
    assert.equal(fromEnv.kind === "run" && fromEnv.options.workerModule, "m.mjs");
    const thread = parseEntrypointArgs(FOUR, { KLMS_WORKER_MODULE: "m.mjs", KLMS_WORKER_THREAD: "t.mjs" });
    assert.equal(thread.kind === "run" && thread.options.workerThread, "t.mjs");
    assert.equal(thread.kind === "run" && thread.options.workerModule, undefined);
    // Each time, the ignored variables are named in a warning (attack6 F5); one variable alone, or a flag: none.
    assert.deepEqual(fromEnv.kind === "run" && fromEnv.warnings, [
      "KLMS_WORKER_MODULE and KLMS_WORKER are both set: KLMS_WORKER_MODULE is used (the thread beats the module, which beats the command), KLMS_WORKER ignored; unset what you do not mean",
    ]);
    const all = parseEntrypointArgs(FOUR, {
      KLMS_WORKER: "node a.js",
      KLMS_WORKER_MODULE: "m.mjs",
      KLMS_WORKER_THREAD: "t.mjs",
    });
    assert.match(
      all.kind === "run" ? (all.warnings[0] ?? "") : "",
      /^KLMS_WORKER_THREAD and KLMS_WORKER_MODULE and KLMS_WORKER are all set: KLMS_WORKER_THREAD is used .*, KLMS_WORKER_MODULE and KLMS_WORKER ignored/,
    );
    const alone = parseEntrypointArgs(FOUR, { KLMS_WORKER_MODULE: "m.mjs" });
    assert.deepEqual(alone.kind === "run" && alone.warnings, []);
    const flagged = parseEntrypointArgs(["--worker", "node a.js", ...FOUR], {
      KLMS_WORKER_MODULE: "m.mjs",
      KLMS_WORKER_THREAD: "t.mjs",
    });
    assert.deepEqual(flagged.kind === "run" && flagged.warnings, []);
    // Any choice on the command line beats the environment's.
    for (const flags of [
      ["--worker", "python3 main.py"],
      ["--worker-thread", "t.mjs"],
    ]) {
      const overridden = parseEntrypointArgs([...flags, ...FOUR], { KLMS_WORKER_MODULE: "m.mjs" });
      assert.equal(overridden.kind === "run" && overridden.options.workerModule, undefined, flags.join(" "));
    }
  });

  it("refuses two ways to run the tool at once, and an empty module", () => {
    const pairs = [
      [["--worker", "node a.js", "--worker-module", "a.js"], /--worker and --worker-module exclude each other/],
      [
        ["--worker-module", "a.js", "--worker-thread", "a.js"],
        /--worker-module and --worker-thread exclude each other/,
      ],
    ] as const;
    for (const [flags, error] of pairs) {
      const parsed = parseEntrypointArgs([...flags, ...FOUR], {});
      assert.match(parsed.kind === "usage" ? parsed.error : "", error);
    }
    const empty = parseEntrypointArgs(["--worker-module", " ", ...FOUR], {});
    assert.match(empty.kind === "usage" ? empty.error : "", /--worker-module: the module is empty/);
  });

  it("refuses --worker with --worker-thread, and an empty module", () => {
    const both = parseEntrypointArgs(["--worker", "node a.js", "--worker-thread", "a.js", ...FOUR], {});
    assert.equal(both.kind, "usage");
    assert.match(both.kind === "usage" ? both.error : "", /--worker and --worker-thread exclude each other/);
    const empty = parseEntrypointArgs(["--worker-thread", " ", ...FOUR], {});
    assert.match(empty.kind === "usage" ? empty.error : "", /--worker-thread: the module is empty/);
  });

  it("refuses bad numbers", () => {
    for (const bad of [
      ["--grace-period", "-1"],
      ["--timeout", "soon"],
      ["--retries", "1.5"],
      ["--request-timeout", "0"],
    ]) {
      const parsed = parseEntrypointArgs([...bad, ...FOUR], {});
      assert.equal(parsed.kind, "usage", bad.join(" "));
    }
  });

  it("documents every option in the help text", () => {
    for (const option of [
      "--worker",
      "--grace-period",
      "--timeout",
      "--request-timeout",
      "--retries",
      "--retry-delay",
      "--help",
    ]) {
      assert.ok(ENTRYPOINT_HELP.includes(option), option);
    }
    for (const variable of [
      "KLMS_WORKER",
      "KLMS_GRACE_PERIOD",
      "KLMS_TIMEOUT",
      "KLMS_REQUEST_TIMEOUT",
      "KLMS_RETRIES",
      "KLMS_RETRY_DELAY",
    ]) {
      assert.ok(ENTRYPOINT_HELP.includes(variable), variable);
    }
  });
});

describe("splitCommand", () => {
  it("splits like a shell, without expansion", () => {
    assert.deepEqual(splitCommand("python3 -u main.py"), ["python3", "-u", "main.py"]);
    assert.deepEqual(splitCommand(`  java -cp 'my lib/cd.jar' core/Main  `), [
      "java",
      "-cp",
      "my lib/cd.jar",
      "core/Main",
    ]);
    assert.deepEqual(splitCommand(`node "a \\"b\\" c" d\\ e ''`), ["node", 'a "b" c', "d e", ""]);
    assert.deepEqual(splitCommand("echo $HOME *"), ["echo", "$HOME", "*"]);
  });

  it("refuses an unbalanced quote", () => {
    assert.throws(() => splitCommand(`node "main.js`), /unbalanced/);
  });
});
