import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { getPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DurableWriter } from "../src/durable-writer.js";
import { startLocalKlms } from "../src/index.js";
import { assertSuccess, call } from "./helpers.js";

/** A fresh folder, removed after the test. */
function tempDir(t: { after(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `klms-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("DurableWriter", () => {
  test("writes asked for while one is in flight share one later write, and the last content lands", async (t) => {
    const dir = tempDir(t, "writer");
    const file = join(dir, "record.json");
    const writer = new DurableWriter({ warn: (m) => assert.fail(m) });
    const first = writer.write(file, "v1");
    const second = writer.write(file, "v2");
    const third = writer.write(file, "v3");
    // Coalesced: v2 and v3 are one queued write (v2 is never written), after v1's.
    assert.notEqual(first, second);
    assert.equal(second, third);
    await first;
    assert.equal(readFileSync(file, "utf8"), "v1", "the write in flight was v1's");
    await writer.flush();
    assert.equal(readFileSync(file, "utf8"), "v3");
    assert.equal(statSync(file).mode & 0o777, 0o600, "records may hold secrets");
    assert.deepEqual(readdirSync(dir), ["record.json"], "no temp file left");
  });

  test("many files written at once, each several times: every file ends with its last content", async (t) => {
    const dir = tempDir(t, "writer-many");
    const writer = new DurableWriter({ warn: (m) => assert.fail(m), concurrency: 3 });
    for (let version = 1; version <= 5; version++) {
      for (let i = 0; i < 200; i++) void writer.write(join(dir, `${i}.json`), `file ${i} version ${version}`);
    }
    await writer.flush();
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 200);
    for (let i = 0; i < 200; i++) assert.equal(readFileSync(join(dir, `${i}.json`), "utf8"), `file ${i} version 5`);
  });

  test("a removal after a write wins, a write after a removal wins; the folder is made when missing", async (t) => {
    const dir = tempDir(t, "writer-remove");
    const writer = new DurableWriter({ warn: (m) => assert.fail(m) });
    const gone = join(dir, "gone.json");
    const back = join(dir, "nested", "back.json");
    void writer.write(gone, "a");
    void writer.remove(gone);
    void writer.remove(back);
    await writer.write(back, "b");
    await writer.flush();
    assert.equal(existsSync(gone), false);
    assert.equal(readFileSync(back, "utf8"), "b");
    assert.equal(statSync(join(dir, "nested")).mode & 0o777, 0o700);
    // Removing what is not there is not an error.
    await writer.remove(join(dir, "never.json"));
  });

  test("a write that fails is reported by warn, by its promise and by flush, which names the file", async (t) => {
    const dir = tempDir(t, "writer-fail");
    // A file where a folder should be: the record's folder cannot be made.
    writeFileSync(join(dir, "blocked"), "not a folder");
    const file = join(dir, "blocked", "task.json");
    const warnings: string[] = [];
    const writer = new DurableWriter({ warn: (m) => warnings.push(m) });
    await assert.rejects(writer.write(file, "x"), /ENOTDIR|EEXIST/);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /could not write .*blocked\/task\.json to disk/);
    await assert.rejects(writer.flush(), (e: Error) => {
      assert.match(e.message, /^1 file\(s\) of the local KLMS could not be written to disk: .*blocked\/task\.json/);
      return true;
    });
    // Reported once: the next flush has nothing left to say.
    await writer.flush();
  });

  test("a concurrency that is not a whole number >= 1 is refused with the reason", () => {
    assert.throws(() => new DurableWriter({ concurrency: 0 }), /concurrency must be a whole number >= 1, not 0/);
  });
});

describe("the local KLMS's records", () => {
  test("state changes of many tasks at once all land on disk by the time stop() resolves", async (t) => {
    const dataDir = tempDir(t, "records");
    const klms = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
    const spec = { process_id: klms.processId, datasets: {}, inputs: {}, outputs: {} };
    let tasks: Array<{ id: string; signature: string }> = [];
    try {
      tasks = await Promise.all(Array.from({ length: 40 }, (_, i) => klms.createTask({ ...spec, name: `t${i}` })));
      // Every task goes created -> running -> succeeded, all of them at the same time.
      await Promise.all(
        tasks.map(async ({ id, signature }, i) => {
          const base = `/api/v2/task/${id}/${signature}`;
          assertSuccess(await call(klms.apiUrl, "GET", `${base}/input`, { token: klms.token }));
          const body = { status: "succeeded", message: `done ${i}` };
          assertSuccess(await call(klms.apiUrl, "POST", `${base}/output`, { body }));
        }),
      );
    } finally {
      await klms.stop();
    }
    for (const [i, { id }] of tasks.entries()) {
      const saved = JSON.parse(readFileSync(join(dataDir, "tasks", `${id}.json`), "utf8"));
      assert.equal(saved.exec_state, "succeeded", `task ${i}`);
      assert.equal(saved.message, `done ${i}`);
    }
    assert.deepEqual(
      readdirSync(join(dataDir, "tasks")).filter((f) => !f.endsWith(".json")),
      [],
      "no temp file left",
    );
  });

  test("a task deleted right after its last change is gone from disk after stop()", async (t) => {
    const dataDir = tempDir(t, "records-delete");
    const klms = await startLocalKlms({ dataDir, objectStore: false, quiet: true });
    const spec = { process_id: klms.processId, name: "d", datasets: {}, inputs: {}, outputs: {} };
    const { id, signature } = await klms.createTask(spec);
    try {
      const body = { status: "failed", message: "no" };
      assertSuccess(await call(klms.apiUrl, "POST", `/api/v2/task/${id}/${signature}/output`, { body }));
      assertSuccess(await call(klms.apiUrl, "DELETE", `/api/v2/task/${id}`, { token: klms.token }));
    } finally {
      await klms.stop();
    }
    assert.equal(existsSync(join(dataDir, "tasks", `${id}.json`)), false);
  });
});

const priorityTestable =
  process.platform !== "linux" ? "reads /proc" : getPriority() !== 0 ? "the tests do not run at niceness 0" : false;

describe("pod priority", { skip: priorityTestable }, () => {
  /** The niceness of a running process (field 19 of /proc/<pid>/stat). */
  const nicenessOf = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  };
  const hang = [process.execPath, "-e", "setInterval(() => {}, 1000)"];

  for (const [options, expected] of [
    [{}, 19],
    [{ podNiceness: 5 }, 5],
    [{ podNiceness: 0 }, 0],
  ] as const) {
    test(`pods run at niceness ${expected} (${JSON.stringify(options)})`, async () => {
      const klms = await startLocalKlms({ objectStore: false, quiet: true, ...options });
      try {
        const { id } = await klms.createTask({
          process_id: klms.processId,
          name: "n",
          datasets: {},
          inputs: {},
          outputs: {},
        });
        const run = klms.startTask(id, { command: hang });
        // startTask sets the priority before it returns: no waiting needed.
        assert.equal(nicenessOf(run.child.pid as number), expected);
        assert.equal(getPriority(), 0, "the local KLMS keeps its own priority");
        run.kill();
        await run.done;
      } finally {
        await klms.stop();
      }
    });
  }

  test("a podNiceness out of 0..19 is refused with the reason", async () => {
    await assert.rejects(
      startLocalKlms({ objectStore: false, quiet: true, podNiceness: 25 }),
      /podNiceness must be a whole number from 0 \(the server's priority\) to 19 \(the lowest\), not 25/,
    );
  });
});
