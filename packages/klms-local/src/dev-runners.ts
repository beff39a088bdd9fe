/**
 * `klms-tool dev`'s choice of what runs a task's pods: `--run SPEC` for every tool and image,
 * `--run-tool NAME=SPEC` for one tool, and by default the tool project the server was started in.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseRunner, type Runner } from "./runners.js";

/** What the dev server runs, and lines for its banner. */
export interface DevRunners {
  runner: Runner;
  toolRunners: Record<string, Runner>;
  /** One line per mapping, e.g. `every tool and image: the tool project /x (klms-tool exec, node dist/main.js)`. */
  describe: string[];
}

/**
 * Reads `--run` and `--run-tool` values; throws an Error naming the bad value and the accepted
 * forms. Without `--run`: the project in `cwd` when it depends on klms-tool, else nothing (the pods
 * stay Pending, and the server says why).
 */
export function devRunners(run: string | undefined, runTool: string[], cwd: string): DevRunners {
  const runner = run === undefined ? defaultRunner(cwd) : parseRunner(run, cwd);
  const toolRunners: Record<string, Runner> = {};
  for (const entry of runTool) {
    const eq = entry.indexOf("=");
    if (eq <= 0)
      throw new Error(
        `--run-tool needs NAME=SPEC, e.g. my-tool=podman:localhost/my-tool:1, got ${JSON.stringify(entry)}`,
      );
    toolRunners[entry.slice(0, eq)] = parseRunner(entry.slice(eq + 1), cwd);
  }
  const describe = [`every tool and image: ${describeRunner(runner)}`];
  for (const [tool, r] of Object.entries(toolRunners)) describe.push(`tool ${tool}: ${describeRunner(r)}`);
  return { runner, toolRunners, describe };
}

function defaultRunner(cwd: string): Runner {
  if (isToolProject(cwd)) return { project: cwd };
  return {
    none:
      "klms-tool dev was not started in a tool project (a package.json that depends on klms-tool); " +
      "restart it there, or with --run command:CMD, --run podman[:IMAGE] or --run-tool NAME=SPEC",
  };
}

function isToolProject(dir: string): boolean {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return false;
  try {
    const pkg = JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, unknown> | undefined>;
    return pkg.dependencies?.["klms-tool"] !== undefined || pkg.devDependencies?.["klms-tool"] !== undefined;
  } catch {
    return false;
  }
}

/** A runner in words, for the banner. */
export function describeRunner(runner: Runner): string {
  if ("none" in runner) return "nothing (their pods stay Pending)";
  if ("podman" in runner) return `podman run ${runner.podman.image ?? "<the task's image>"} (runc, host network)`;
  if ("project" in runner) {
    const built = existsSync(join(runner.project, "dist", "main.js"))
      ? ""
      : " - dist/main.js is missing: npm run build";
    return `the tool project ${runner.project} (klms-tool exec, ${runner.worker ?? "node dist/main.js"})${built}`;
  }
  return `the command ${runner.command.join(" ")}`;
}
