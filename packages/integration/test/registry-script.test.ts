/**
 * scripts/registry.sh (attack5 F1 and F10's addendum): a start on an address someone else holds
 * fails clearly and leaves no pid file; a restart with --auth keeps the password of the existing
 * auth file, which a running `klms-tool dev --registry-auth` read at its start. Real docker-registry.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort } from "../../klms-tool/test/image/registry.ts";

const SCRIPT = resolve(import.meta.dirname, "../../../scripts/registry.sh");

function installed(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

describe("scripts/registry.sh", { skip: !installed("docker-registry") }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "klms-registry-sh-"));
  });
  after(() => {
    spawnSync(SCRIPT, ["stop"], { env: { ...process.env, KLMS_REGISTRY_DIR: dir } });
    rmSync(dir, { recursive: true, force: true });
  });

  it("an address another server holds: exit 1, says which and what to set, no pid file", async () => {
    const other = createServer((_req, res) => res.end("{}")); // answers 200 on /v2/, as a registry would
    await new Promise<void>((done) => other.listen(0, "127.0.0.1", done));
    const addr = `127.0.0.1:${(other.address() as { port: number }).port}`;
    try {
      const r = spawnSync(SCRIPT, ["start"], {
        env: { ...process.env, KLMS_REGISTRY_DIR: dir, KLMS_REGISTRY_ADDR: addr },
        encoding: "utf8",
      });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stdout, "", "no URL printed");
      assert.match(r.stderr, new RegExp(`something already listens on ${addr}: .*set KLMS_REGISTRY_ADDR`));
      assert.equal(existsSync(join(dir, "pid")), false);
    } finally {
      await new Promise((done) => other.close(done));
    }
  });

  it("--auth, stop, --auth again: the same password (a running dev keeps working)", async () => {
    const env = { ...process.env, KLMS_REGISTRY_DIR: dir, KLMS_REGISTRY_ADDR: `127.0.0.1:${await freePort()}` };
    const first = execFileSync(SCRIPT, ["start", "--auth"], { env, encoding: "utf8" });
    assert.equal(first, `http://${env.KLMS_REGISTRY_ADDR}\n`);
    const auth = readFileSync(join(dir, "auth"), "utf8");
    assert.match(auth, /^\$app:[A-Za-z0-9]{20,}\n$/);
    execFileSync(SCRIPT, ["stop"], { env });
    execFileSync(SCRIPT, ["start", "--auth"], { env, encoding: "utf8" });
    assert.equal(readFileSync(join(dir, "auth"), "utf8"), auth);
    const password = auth.trim().slice("$app:".length);
    const basic = Buffer.from(`$app:${password}`).toString("base64");
    const reply = await fetch(`http://${env.KLMS_REGISTRY_ADDR}/v2/`, { headers: { authorization: `Basic ${basic}` } });
    assert.equal(reply.status, 200, "the restarted registry takes the kept password");
    execFileSync(SCRIPT, ["stop"], { env });
    assert.equal(existsSync(join(dir, "pid")), false);
  });
});
