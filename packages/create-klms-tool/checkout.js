// The kit's own checkout as the source of klms-tool and klms-local: until they are on the npm
// registry, a project scaffolded from a clone of the kit (npm create klms-tool in it, as the
// README shows) installs them from this checkout instead of a registry that answers 404.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The root of the kit's checkout when this package runs from one (packages/create-klms-tool in an
 * npm workspace beside packages/klms-tool and packages/klms-local), else undefined: installed
 * from a registry or a tarball, it sits in a node_modules folder instead.
 */
export function kitCheckout(dir = here) {
  if (basename(dirname(dir)) !== "packages") return undefined;
  const root = resolve(dir, "..", "..");
  try {
    const workspaces = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).workspaces ?? [];
    if (!workspaces.length) return undefined;
  } catch {
    return undefined;
  }
  const has = (name) => existsSync(join(root, "packages", name, "package.json"));
  return has("klms-tool") && has("klms-local") ? root : undefined;
}

/**
 * Packs the checkout's klms-tool and klms-local (`npm pack`, which takes their built `dist/`)
 * into a fresh temporary folder and returns it, ready for the scaffolder's `kit` option. Throws
 * naming the fix when the packages are not built or npm fails.
 */
export async function packCheckout(root, run = npmRunner()) {
  for (const name of ["klms-tool", "klms-local"]) {
    if (!existsSync(join(root, "packages", name, "dist", "index.js"))) {
      throw new Error(`packages/${name} of the kit's checkout ${root} is not built: run npm run build there first`);
    }
  }
  const dest = mkdtempSync(join(tmpdir(), "klms-kit-"));
  const args = ["pack", "-w", "packages/klms-tool", "-w", "packages/klms-local", "--pack-destination", dest];
  const { code, stderr } = await run(args, root);
  if (code !== 0) throw new Error(`npm pack in ${root} failed (exit code ${code}): ${stderr.trim().split("\n").pop()}`);
  return dest;
}

/** Runs npm quietly, resolving to its exit code and standard error. */
function npmRunner() {
  return (args, cwd) =>
    new Promise((done) => {
      const child = spawn(process.platform === "win32" ? "npm.cmd" : "npm", [...args, "--silent"], {
        cwd,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("error", (error) => done({ code: 127, stderr: error.message }));
      child.on("close", (code) => done({ code, stderr }));
    });
}
