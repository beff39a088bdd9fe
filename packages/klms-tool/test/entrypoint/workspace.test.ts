/** createWorkspace: the worker's private folder, input.json written for this user only, removed whatever happened. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createWorkspace } from "../../src/entrypoint/workspace.ts";

describe("createWorkspace", () => {
  let parent: string;
  before(async () => {
    parent = await mkdtemp(join(tmpdir(), "klms-workspace-test-"));
  });
  after(() => rm(parent, { recursive: true, force: true }));

  it("makes a fresh 0700 folder under the parent with input.json (0600, the input as indented JSON)", async () => {
    const input = { input: { a: ["s3://b/k"] }, secrets: { token: "t0ken-value" } };
    const ws = await createWorkspace(input, parent);
    try {
      assert.equal(dirname(ws.dir), parent);
      assert.match(ws.dir, /klms-task-[^/]+$/);
      assert.equal((await stat(ws.dir)).mode & 0o777, 0o700);
      assert.equal(ws.inputPath, join(ws.dir, "input.json"));
      assert.equal((await stat(ws.inputPath)).mode & 0o777, 0o600);
      assert.equal(await readFile(ws.inputPath, "utf8"), JSON.stringify(input, null, 2));
      assert.equal(ws.outputPath, join(ws.dir, "output.json"));
      assert.equal(existsSync(ws.outputPath), false, "output.json is the worker's to write");
    } finally {
      await ws.remove();
    }
  });

  it("gives each call its own folder", async () => {
    const [a, b] = await Promise.all([createWorkspace({}, parent), createWorkspace({}, parent)]);
    assert.notEqual(a.dir, b.dir);
    await Promise.all([a.remove(), b.remove()]);
  });

  it("remove() deletes the folder with what the worker left, and may be called again", async () => {
    const ws = await createWorkspace({ x: 1 }, parent);
    await writeFile(ws.outputPath, "{}");
    await ws.remove();
    assert.equal(existsSync(ws.dir), false);
    await ws.remove();
    assert.equal(existsSync(ws.dir), false);
  });

  it("leaves no folder behind when the input cannot be written (not JSON-serialisable)", async () => {
    const before = await readdir(parent);
    await assert.rejects(createWorkspace({ n: 1n }, parent), TypeError);
    assert.deepEqual(await readdir(parent), before);
  });

  it("uses the system's temporary folder by default", async () => {
    const ws = await createWorkspace({});
    try {
      assert.equal(dirname(ws.dir), tmpdir());
    } finally {
      await ws.remove();
    }
  });
});
