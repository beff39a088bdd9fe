/**
 * Which builder to use: KLMS_BUILDER when set, else the first usable of docker, podman, buildah.
 * Docker counts only when its daemon answers: a docker CLI without a daemon (common on hosts that
 * use podman or buildah) cannot build, and picking it would fail every build.
 */
import { ImageError } from "./errors.js";
import { execBuilder, onPath } from "./exec.js";
import { BUILDERS, type Builder } from "./settings.js";

/** How long `docker info` may take before the daemon counts as absent, in ms. */
const DOCKER_INFO_TIMEOUT_MS = 5000;

/**
 * The builder to use.
 * @param env the environment (PATH, KLMS_BUILDER, DOCKER_HOST); default process.env
 * @returns KLMS_BUILDER when set, else docker (if its daemon answers), podman or buildah, the first
 *   installed; undefined when none is
 * @throws ImageError when KLMS_BUILDER names no builder, or one that is not installed
 */
export async function detectBuilder(env: NodeJS.ProcessEnv = process.env): Promise<Builder | undefined> {
  const chosen = env.KLMS_BUILDER?.trim();
  if (chosen) {
    if (!(BUILDERS as readonly string[]).includes(chosen))
      throw new ImageError(`KLMS_BUILDER=${chosen} is not a builder: set it to docker, podman or buildah, or unset it`);
    if (!(await onPath(chosen, env)))
      throw new ImageError(
        `KLMS_BUILDER=${chosen}, but ${chosen} is not installed (not on PATH): install it, or unset KLMS_BUILDER`,
      );
    return chosen as Builder;
  }
  for (const builder of BUILDERS) {
    if (!(await onPath(builder, env))) continue;
    if (builder === "docker" && !(await dockerDaemonAnswers(env))) continue;
    return builder;
  }
  return undefined;
}

/** detectBuilder, or an ImageError saying what to install. */
export async function requireBuilder(env: NodeJS.ProcessEnv = process.env): Promise<Builder> {
  const builder = await detectBuilder(env);
  if (builder) return builder;
  throw new ImageError(
    "no image builder found: install docker (with its daemon running), podman or buildah, or set KLMS_BUILDER to one that is installed",
  );
}

/** Whether `docker info` reaches a daemon (dockerd, or podman's through DOCKER_HOST). */
export async function dockerDaemonAnswers(env: NodeJS.ProcessEnv): Promise<boolean> {
  const result = await execBuilder({
    command: "docker",
    args: ["info", "--format", "{{.ServerVersion}}"],
    env,
    signal: AbortSignal.timeout(DOCKER_INFO_TIMEOUT_MS),
  });
  return result.code === 0;
}

/** Whether runc is installed (then podman runs with it: see settings.ts). */
export function hasRunc(env: NodeJS.ProcessEnv): Promise<boolean> {
  return onPath("runc", env);
}
