/**
 * The podman runner: a task for an image runs that image with podman and runc, host network and
 * the four arguments, as the cluster's Job runs it. The image is made here from the host's Node
 * binary (and the libraries it loads) and the fixture tool, into a private image store, so the
 * test needs podman and runc but no registry. Skipped, with the reason, where podman is absent.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type LocalKlms, startLocalKlms } from "../src/index.js";
import { assertSuccess, call } from "./helpers.js";

const podmanMissing = spawnSync("podman", ["--version"]).status === 0 ? false : "podman is not installed";
const TOOL = fileURLToPath(new URL("./fixtures/tool.mjs", import.meta.url));
/** A task spec the platform accepts, in the local KLMS's dev process. */
const specFor = (klms: LocalKlms) => ({
  process_id: klms.processId,
  name: "podman",
  datasets: {},
  inputs: {},
  outputs: { report: { url: "s3://klms-bucket/out/report.csv" } },
  parameters: {},
});

/** The command lines of this PID namespace's processes that contain one of `secrets`. */
function hostProcessesShowing(secrets: string[]): string[] {
  const own = readlinkSync("/proc/self/ns/pid");
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/pid`) !== own) continue; // a container's own process
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (secrets.some((s) => cmdline.includes(s))) found.push(`${pid}: ${cmdline.slice(0, 80)}…`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Polls until `check` returns a value (a guard against hanging, not a timing assertion). */
async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (let i = 0; i < 3000; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("gave up waiting");
}

/** A root filesystem with this Node, the libraries it loads, and the fixture tool in /app. */
function rootfs(dir: string): void {
  const node = realpathSync(process.execPath);
  cpSync(node, join(dir, "usr/local/bin/node"));
  for (const lib of execFileSync("ldd", [node], { encoding: "utf8" }).match(/\/\S+/g) ?? []) {
    mkdirSync(join(dir, dirname(lib)), { recursive: true });
    cpSync(realpathSync(lib), join(dir, lib));
  }
  cpSync(TOOL, join(dir, "app/tool.mjs"));
  mkdirSync(join(dir, "tmp"));
}

describe("the podman runner", { skip: podmanMissing }, () => {
  let work: string;
  let podman: string[];
  let klms: LocalKlms;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), "klms-podman-test-"));
    // A private image store, so that the test touches nobody else's images.
    podman = ["podman", "--root", join(work, "storage"), "--runroot", join(work, "run"), "--runtime", "runc"];
    rootfs(join(work, "rootfs"));
    const tar = execFileSync("tar", ["-C", join(work, "rootfs"), "-c", "."], { maxBuffer: 1 << 30 });
    const entry = 'ENTRYPOINT=["/usr/local/bin/node","/app/tool.mjs"]';
    for (const [tag, mode] of [
      ["ok", "ok"],
      ["hang", "hang"],
    ]) {
      const [program, ...args] = podman as [string, ...string[]];
      execFileSync(
        program,
        [
          ...args,
          "import",
          "--change",
          entry,
          "--change",
          `ENV=TOOL_MODE=${mode}`,
          "-",
          `localhost/klms-test/tool:${tag}`,
        ],
        { input: tar, stdio: ["pipe", "ignore", "inherit"] },
      );
    }
    klms = await startLocalKlms({
      objectStore: false,
      quiet: true,
      runner: { podman: { command: podman } },
      terminationGraceMs: 2000,
    });
  });
  after(async () => {
    await klms?.stop();
    // Only the private store's containers and images (a system reset would touch shared settings).
    if (podman) {
      const [program, ...args] = podman as [string, ...string[]];
      spawnSync(program, [...args, "rm", "--all", "--force"], { stdio: "ignore" });
      spawnSync(program, [...args, "rmi", "--all", "--force"], { stdio: "ignore" });
    }
    rmSync(work, { recursive: true, force: true });
  });

  test("a task created for an image runs it in a container by itself and succeeds", async () => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
      token: klms.token,
      body: { ...specFor(klms), image: "localhost/klms-test/tool:ok" },
    });
    const { id } = assertSuccess(reply) as { id: string };
    assert.equal(await waitFor(() => klms.job(id)?.condition), "Complete", JSON.stringify(klms.pods(id)));
    const task = await klms.getTask(id);
    assert.equal(task.exec_state, "succeeded");
    assert.equal(task.messages, "echo done");
    const [pod] = klms.pods(id);
    assert.equal(pod?.phase, "Succeeded");
    // The container's own PID namespace, the four arguments, the host network, no environment from us.
    assert.match(pod?.logs ?? "", /^pid 1$/m);
    assert.match(pod?.logs ?? "", new RegExp(`^args=4 bearer=true api=${klms.apiUrl}/$`, "m"));
    assert.match(pod?.logs ?? "", /^output: 200$/m);
    assert.match(pod?.logs ?? "", /^env=$/m);
  });

  test("terminate stops the container: SIGTERM, then SIGKILL after the grace period", async () => {
    const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
      token: klms.token,
      body: { ...specFor(klms), image: "localhost/klms-test/tool:hang" },
    });
    const { id, signature } = assertSuccess(reply) as { id: string; signature: string };
    const pod = await waitFor(() => klms.pods(id).find((p) => p.logs.includes("input: 200")));
    // While it runs, no host process (outside the container's own PID namespace) shows the
    // token or the signature in its arguments: podman start holds none (attack5 F7).
    assert.match(signature, /^[0-9a-f]{64}$/);
    const secrets = [klms.token.replace(/^Bearer /, ""), signature];
    assert.deepEqual(hostProcessesShowing(secrets), [], "no host command line holds them");
    assertSuccess(await call(klms.apiUrl, "POST", `/api/v2/task/${id}/terminate`, { token: klms.token }));
    await waitFor(() => (klms.pods(id).length === 0 ? true : undefined));
    // `create --rm` leaves the removal to conmon's cleanup once `start --attach` has returned, a
    // moment after the pod ended: the container must be gone soon, not at once.
    const [program, ...args] = podman as [string, ...string[]];
    const listed = () =>
      execFileSync(program, [...args, "ps", "-a", "--filter", `name=${pod.name}`, "-q"], { encoding: "utf8" }).trim();
    const gone = await waitFor(() => (listed() === "" ? "gone" : undefined)).catch(() => listed());
    assert.equal(gone, "gone", "the container is gone");
  });
});
