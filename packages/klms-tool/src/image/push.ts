/**
 * pushImage: a built image pushed to its registry, after a login when credentials are given.
 * The password goes to `<builder> login --password-stdin` only, and the login is kept in an auth
 * file in a private temporary folder (mode 0700; DOCKER_CONFIG for docker, --authfile for podman
 * and buildah) that is removed afterwards: nothing lands in ~/.docker or the user's podman auth.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { makePrivateDir } from "../cli/interrupt.js";
import { hasRunc, requireBuilder } from "./detect.js";
import { ImageError } from "./errors.js";
import { execBuilder } from "./exec.js";
import { failure } from "./failure.js";
import { type Builder, globalArgs, registryOf, tlsArgs } from "./settings.js";

/** What to push. */
export interface PushImageOptions {
  /** The image reference as built, naming its registry, e.g. "127.0.0.1:5000/stelar/my-tool:0.1.0". */
  tag: string;
  /** Default: detectBuilder(env). Must be the builder that built the image (each has its own storage). */
  builder?: Builder;
  /** A registry login; the password is only ever written to the builder's stdin. Default: the builder's own login state. */
  credentials?: { username: string; password: string };
  /** Default true; false for plain-http registries such as 127.0.0.1:5000 (podman, buildah; docker trusts 127.0.0.0/8). */
  tlsVerify?: boolean;
  /** Progress: each line the builder prints (the password replaced by "***"). */
  onLine?: (line: string) => void;
  /** Aborting it stops the builder (SIGTERM) and rejects with an ImageError. */
  signal?: AbortSignal;
  /** The builder's environment; default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Where the credentials come from and what to check when the registry refuses them, e.g.
   * "check --username and the password given on stdin". Default: "check them".
   */
  refusedLoginFix?: string;
  /**
   * Runs after a successful login (right away without credentials), before the push; its error
   * stops the push. `publish` creates a new catalog entry there: the platform makes the tool's
   * repository with it, and a registry that cannot be reached or refuses the login leaves no entry.
   */
  afterLogin?: () => Promise<void>;
}

/** How one push runs: the builder, its environment, the private folder. */
interface PushRun {
  o: PushImageOptions;
  builder: Builder;
  env: NodeJS.ProcessEnv;
  global: string[];
  dir: string;
  registry: string;
  secrets: string[];
}

/**
 * Pushes `o.tag` to the registry it names.
 * @returns the manifest digest the registry stored ("sha256:…"), when the builder reports it
 * @throws ImageError when no builder is installed, the login is refused, or the push fails
 *   (unauthorized, plain-http registry with tlsVerify, no such image, …); never with the password in it
 */
export async function pushImage(o: PushImageOptions): Promise<{ digest?: string }> {
  if (!o.tag) throw new ImageError("no image tag given: pass the tag the image was built with");
  const baseEnv = o.env ?? process.env;
  const builder = o.builder ?? (await requireBuilder(baseEnv));
  // Removed in the finally below, and by the exit hook if the CLI is interrupted before that runs.
  const privateDir = await makePrivateDir("klms-push-");
  try {
    const dir = privateDir.path;
    const registry = registryOf(o.tag);
    // Docker keeps logins in $DOCKER_CONFIG/config.json: a private one keeps this login out of ~/.docker.
    const env = o.credentials && builder === "docker" ? { ...baseEnv, DOCKER_CONFIG: dir } : baseEnv;
    const run: PushRun = {
      o,
      builder,
      env,
      global: globalArgs(builder, await hasRunc(baseEnv)),
      dir,
      registry,
      secrets: o.credentials ? [o.credentials.password] : [],
    };
    if (o.credentials) await login(run, o.credentials);
    await o.afterLogin?.();
    return await push(run);
  } finally {
    await privateDir.remove();
  }
}

/** `<builder> login --username U --password-stdin REGISTRY`, the password on stdin. */
async function login(run: PushRun, credentials: { username: string; password: string }): Promise<void> {
  if (!credentials.username || !credentials.password)
    throw new ImageError(`credentials for ${run.registry} need a username and a password: give both, or none`);
  const result = await execBuilder({
    command: run.builder,
    args: [
      ...run.global,
      "login",
      ...tlsArgs(run.builder, run.o.tlsVerify ?? true),
      ...authFile(run),
      "--username",
      credentials.username,
      "--password-stdin",
      run.registry,
    ],
    env: run.env,
    stdin: credentials.password,
    secrets: run.secrets,
    ...(run.o.onLine ? { onLine: run.o.onLine } : {}),
    ...(run.o.signal ? { signal: run.o.signal } : {}),
  });
  if (result.code !== 0)
    throw failure(
      {
        builder: run.builder,
        action: "login",
        subject: run.registry,
        registry: run.registry,
        ...(run.o.refusedLoginFix ? { refusedLoginFix: run.o.refusedLoginFix } : {}),
      },
      result,
    );
}

/** The push itself; the digest from podman's/buildah's --digestfile, or docker's "digest: sha256:…" line. */
async function push(run: PushRun): Promise<{ digest?: string }> {
  const { o, builder } = run;
  const digestFile = join(run.dir, "digest");
  const args =
    builder === "docker"
      ? ["push", o.tag]
      : [
          ...run.global,
          "push",
          ...tlsArgs(builder, o.tlsVerify ?? true),
          ...authFile(run),
          "--digestfile",
          digestFile,
          o.tag,
          `docker://${o.tag}`,
        ];
  const result = await execBuilder({
    command: builder,
    args,
    env: run.env,
    secrets: run.secrets,
    ...(o.onLine ? { onLine: o.onLine } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (result.code !== 0) throw failure({ builder, action: "push", subject: o.tag, registry: run.registry }, result);
  const digest =
    builder === "docker"
      ? result.tail.map((l) => /digest: (sha256:[0-9a-f]{64})/.exec(l)?.[1]).find(Boolean)
      : (await readFile(digestFile, "utf8").catch(() => "")).trim();
  return digest ? { digest } : {};
}

/** podman and buildah: the private auth file, when logging in here. */
function authFile(run: PushRun): string[] {
  return run.o.credentials && run.builder !== "docker" ? ["--authfile", join(run.dir, "auth.json")] : [];
}
