/** buildImage: a tool project's Dockerfile built into a tagged image with docker, podman or buildah. */
import { checkBuildContext } from "./context.js";
import { hasRunc, requireBuilder } from "./detect.js";
import { ImageError } from "./errors.js";
import { execBuilder } from "./exec.js";
import { failure } from "./failure.js";
import { type Builder, buildArgs, globalArgs } from "./settings.js";

/** What to build. */
export interface BuildImageOptions {
  /** The tool project: its Dockerfile, the build context. */
  dir: string;
  /** The image reference, e.g. "127.0.0.1:5000/stelar/my-tool:0.1.0". */
  tag: string;
  /** Default: detectBuilder(env). */
  builder?: Builder;
  /** `--build-arg NAME=VALUE` each, e.g. { BASE_IMAGE: "localhost/klms/node:24-slim" }. Not for secrets: they stay in the image's history. */
  buildArgs?: Record<string, string>;
  /** `--label NAME=VALUE` each, e.g. the tool's manifest as "klms.tool.manifest". */
  labels?: Record<string, string>;
  /** Progress: each line the builder prints. */
  onLine?: (line: string) => void;
  /** Aborting it stops the builder (SIGTERM) and rejects with an ImageError. */
  signal?: AbortSignal;
  /** The builder's environment (PATH, CONTAINERS_STORAGE_CONF, DOCKER_HOST, KLMS_BUILDER); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds `o.dir`'s Dockerfile as `o.tag`, with the runtime settings this kit's hosts need (settings.ts).
 * @returns the builder used and the tag
 * @throws ImageError when no builder is installed, the project cannot be built as it is (no
 *   Dockerfile, `file:` dependencies outside it), or the build fails (the message names the cause
 *   when it is a known one, and quotes the builder's last lines)
 */
export async function buildImage(o: BuildImageOptions): Promise<{ builder: Builder; tag: string }> {
  const env = o.env ?? process.env;
  if (!o.tag) throw new ImageError("no image tag given: pass one such as 127.0.0.1:5000/stelar/my-tool:0.1.0");
  const builder = o.builder ?? (await requireBuilder(env));
  checkBuildContext(o.dir);
  const args = [
    ...globalArgs(builder, await hasRunc(env)),
    ...buildArgs(builder),
    ...pairs("--build-arg", o.buildArgs),
    ...pairs("--label", o.labels),
    "--tag",
    o.tag,
    o.dir,
  ];
  const result = await execBuilder({
    command: builder,
    args,
    env,
    ...(o.onLine ? { onLine: o.onLine } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (result.code !== 0) throw failure({ builder, action: "build", subject: o.tag }, result);
  return { builder, tag: o.tag };
}

/** ["--flag", "K=V", …] for each entry. */
function pairs(flag: string, values: Record<string, string> | undefined): string[] {
  return Object.entries(values ?? {}).flatMap(([k, v]) => [flag, `${k}=${v}`]);
}
