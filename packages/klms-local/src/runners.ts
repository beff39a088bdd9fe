/**
 * What runs a task's pods: the cluster pulls the tool's image and runs its ENTRYPOINT; locally a
 * tool maps to one of
 * - a tool project: its built worker through `klms-tool exec` (what the image's run.sh does),
 * - a command that takes the Job's four arguments,
 * - the task's image, run with podman and runc the way scripts/image-e2e.* run it,
 * - nothing: the pod stays Pending, as on a cluster that cannot pull the image.
 */

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { globalArgs, type Masker, runArgs, splitCommand } from "klms-tool/internal";
import { type StartedRun, startRun } from "./runner.js";

/** Runs a command with the Job's arguments appended (e.g. `["python3", "-u", "run.py"]`). */
export interface CommandRunner {
  command: string[];
  cwd?: string;
  /** Added to the minimal environment the run gets. */
  env?: Record<string, string>;
}

/** Runs the tool project in `project` as its image would: `klms-tool exec --worker "<worker>"` there. */
export interface ProjectRunner {
  project: string;
  /** The worker command; default `node dist/main.js` (the built tool). */
  worker?: string;
  env?: Record<string, string>;
}

/** Runs an image with podman (runtime runc, host network), as the cluster's Job runs the tool's image. */
export interface PodmanRunner {
  podman: {
    /**
     * The image; default: the task's Job image as the platform resolves it (`tasks.py:950-1050`):
     * an image task's `image`, a tool task's `<repository>:<tag>` (the platform prefixes its
     * registry, `<registry>/stelar/`; here podman looks it up in the local image store).
     */
    image?: string;
    /** The podman command and its global options; default `["podman", "--runtime", "runc"]`. */
    command?: string[];
  };
}

/** Runs nothing: the task's pod stays Pending, and `reason` is logged. */
export interface NoRunner {
  none: string;
}

/** What runs a task's pods. */
export type Runner = CommandRunner | ProjectRunner | PodmanRunner | NoRunner;

/** One pod to start: its name, the Job's arguments, its log file, its grace period and what to mask. */
export interface PodStart {
  name: string;
  jobArgs: string[];
  logFile: string;
  graceMs: number;
  secrets: unknown[];
  /** The Job's masker, shared by its pods (see `StartRunOptions.masker`). */
  masker?: Masker;
  timeoutMs?: number;
  /** Variables the local KLMS adds for every run (a TLS store's CA trust); the runner's `env` wins. */
  env?: Record<string, string>;
  /** The pod process's niceness (`StartRunOptions.niceness`); podman's containers are not its children and keep theirs. */
  niceness?: number;
}

/** Starts one pod's container; or, when nothing can run the task, the reason its pod stays Pending. */
export type PodLauncher = { start(pod: PodStart): StartedRun } | { pending: string };

/** The task fields that choose an image. */
export interface LaunchedTask {
  id: string;
  tool?: string;
  image?: string;
}

/**
 * The default podman command: with runc, as crun fails on hosts with hybrid cgroups. The settings
 * are klms-tool's image module's (the one place they live; the template's Makefile says the same).
 */
export const PODMAN_COMMAND = ["podman", ...globalArgs("podman", true)];

/** How `runner` starts the pods of `task`. */
export function launcherFor(runner: Runner, task: LaunchedTask): PodLauncher {
  if ("none" in runner) return { pending: runner.none };
  if ("podman" in runner) return podmanLauncher(runner, task);
  const { command, cwd, env } = "project" in runner ? projectCommand(runner) : runner;
  return { start: (pod) => startRun(command, pod.jobArgs, { cwd, env: { ...pod.env, ...env }, ...runOptions(pod) }) };
}

function runOptions(pod: PodStart) {
  return {
    logFile: pod.logFile,
    graceMs: pod.graceMs,
    secrets: pod.secrets,
    timeoutMs: pod.timeoutMs,
    ...(pod.niceness !== undefined ? { niceness: pod.niceness } : {}),
    ...(pod.masker ? { masker: pod.masker } : {}),
  };
}

/** The command that runs a tool project's built worker through the entrypoint, as run.sh does. */
export function projectCommand(runner: ProjectRunner): CommandRunner {
  const project = resolve(runner.project);
  const command = [process.execPath, klmsToolCli(project), "exec"];
  if (runner.worker !== undefined) command.push("--worker", runner.worker);
  return { command, cwd: project, ...(runner.env ? { env: runner.env } : {}) };
}

/** The project's own klms-tool (as run.sh runs it), else the one this package depends on. */
function klmsToolCli(project: string): string {
  const own = join(project, "node_modules", "klms-tool", "dist", "cli", "main.js");
  if (existsSync(own)) return own;
  return join(dirname(createRequire(import.meta.url).resolve("klms-tool/package.json")), "dist", "cli", "main.js");
}

function podmanLauncher(runner: PodmanRunner, task: LaunchedTask): PodLauncher {
  const image = runner.podman.image ?? task.image;
  if (image === undefined) return { pending: `task ${task.id} names no image to run with podman` };
  const podman = runner.podman.command ?? PODMAN_COMMAND;
  return {
    start(pod) {
      // The container gets no environment (the Job sets none; a TLS store's CA is not mounted
      // here, unlike scripts/image-e2e.*); podman itself gets the caller's.
      // The host's network and the limits podman cannot raise on such hosts: the image module's run settings.
      const run = startContainer(podman, pod, image);
      // Signals to the podman client do not reach a detached container: stop it by name.
      const control = (...words: string[]) => {
        const [program, ...rest] = podman as [string, ...string[]];
        spawn(program, [...rest, ...words, pod.name], { stdio: "ignore" }).on("error", () => undefined);
      };
      let stopping = false;
      return {
        ...run,
        stop(graceMs = pod.graceMs) {
          if (stopping) return;
          stopping = true;
          control("stop", "--time", String(Math.ceil(graceMs / 1000)));
        },
        kill: () => control("kill"),
      };
    },
  };
}

/**
 * The four arguments must not sit on a host command line for the whole task (`ps` shows every
 * process's arguments to every user; attack5 F7): `podman create` gets them, for its own short
 * life (well under a second), and `podman start --attach`, which lasts the whole run, does not.
 * A shell between them takes them from its environment (readable by the owner only) and drops
 * them before it becomes `podman start`. The image's ENTRYPOINT still gets the four arguments.
 * @param count how many job arguments (4, or 3 in the seed-era form)
 */
function createThenStart(count: number): string {
  const names = Array.from({ length: count }, (_, i) => `KLMS_JOB_ARG_${i + 1}`);
  return (
    `"$0" "$@" ${names.map((n) => `"$${n}"`).join(" ")} >/dev/null || exit 125\n` +
    `unset ${names.join(" ")}\n` +
    'exec "$0" $KLMS_PODMAN_GLOBAL start --attach "$KLMS_POD_NAME"\n'
  );
}

/** `podman create … IMAGE <four arguments>` then `podman start --attach`, see {@link createThenStart}. */
function startContainer(podman: readonly string[], pod: PodStart, image: string) {
  const [program, ...global] = podman as [string, ...string[]];
  const create = [...global, "create", "--rm", "--name", pod.name, ...runArgs("podman"), image];
  const env: Record<string, string> = { KLMS_PODMAN_GLOBAL: global.join(" "), KLMS_POD_NAME: pod.name };
  pod.jobArgs.forEach((value, i) => {
    env[`KLMS_JOB_ARG_${i + 1}`] = value;
  });
  // Masked in the log as before: the arguments are no longer where startRun finds them itself.
  const secrets = [...(pod.secrets ?? []), pod.jobArgs[0], ...pod.jobArgs.slice(3)];
  return startRun(["/bin/sh", "-c", createThenStart(pod.jobArgs.length), program, ...create], [], {
    ...runOptions(pod),
    secrets,
    env,
    fullEnv: true,
  });
}

/**
 * Reads a runner from its command-line form: `project[:DIR]` (default DIR: `cwd`),
 * `command:CMD` (split like a shell, no expansion), `podman[:IMAGE]` or `none`.
 * Throws an error that names the accepted forms.
 */
export function parseRunner(text: string, cwd: string): Runner {
  const colon = text.indexOf(":");
  const kind = colon < 0 ? text : text.slice(0, colon);
  const value = colon < 0 ? undefined : text.slice(colon + 1);
  if (kind === "project") return { project: resolve(cwd, value || ".") };
  if (kind === "podman") return { podman: value ? { image: value } : {} };
  if (kind === "none" && value === undefined) return { none: "the runner is 'none'" };
  if (kind === "command" && value) {
    let command: string[];
    try {
      command = splitCommand(value);
    } catch {
      throw new Error(`cannot read the runner ${JSON.stringify(text)}: a quote is not closed`);
    }
    if (command.length > 0) return { command, cwd };
  }
  throw new Error(
    `cannot read the runner ${JSON.stringify(text)}: use project[:DIR], command:CMD, podman[:IMAGE] or none`,
  );
}
