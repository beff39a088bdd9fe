/**
 * The builders' command lines and the runtime settings they need, in one place. The template's
 * Makefile (packages/create-klms-tool/template/Makefile) repeats these flags for `make build` and
 * `make run`; test/image/image.test.ts checks that it says the same.
 *
 * Why each setting (measured on a Debian 12 host with hybrid cgroups, see docs of local infra):
 * - podman `--runtime runc` (when runc is installed): crun fails on hybrid cgroup v1/v2 hosts
 *   ("cgroups in hybrid mode not supported"); runc works everywhere podman does.
 * - podman build `--network host`: RUN steps (npm ci) reach the npm registry through the host's
 *   network instead of a CNI bridge that podman would create on a private address range.
 * - podman run `--ulimit nofile=1024:1024 --ulimit nproc=4096:4096`: podman's defaults ask for
 *   more than such hosts allow ("error setting rlimit type 7: operation not permitted").
 * - buildah `--isolation chroot`: RUN steps without an OCI runtime, so crun/runc and cgroups do
 *   not matter; the host's network is used.
 * - docker: nothing; Docker's daemon holds its own settings.
 */

/** The image builders the kit drives. */
export type Builder = "docker" | "podman" | "buildah";

/** The builders in the order detectBuilder tries them. */
export const BUILDERS: readonly Builder[] = ["docker", "podman", "buildah"];

/** Arguments before the subcommand: `podman --runtime runc build …` when runc is installed. */
export function globalArgs(builder: Builder, hasRunc: boolean): string[] {
  return builder === "podman" && hasRunc ? ["--runtime", "runc"] : [];
}

/** The build subcommand and its settings, e.g. ["bud", "--isolation", "chroot"] for buildah. */
export function buildArgs(builder: Builder): string[] {
  if (builder === "buildah") return ["bud", "--isolation", "chroot"];
  if (builder === "podman") return ["build", "--network", "host"];
  return ["build"];
}

/** The settings `run` needs (what `make run` passes): host network, and podman's ulimits. */
export function runArgs(builder: Builder): string[] {
  const host = ["--network", "host"];
  if (builder === "podman") return [...host, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"];
  return host;
}

/**
 * `--tls-verify=false` for podman and buildah when `tlsVerify` is false (plain-http registries such
 * as 127.0.0.1:5000). Docker has no such flag: its daemon trusts 127.0.0.0/8 over http and reads
 * other insecure registries from daemon.json.
 */
export function tlsArgs(builder: Builder, tlsVerify: boolean): string[] {
  return builder !== "docker" && !tlsVerify ? ["--tls-verify=false"] : [];
}

/**
 * The registry host of an image reference, as the builders resolve it: the first path segment
 * when it looks like a host ("127.0.0.1:5000/a/b:1" -> "127.0.0.1:5000", "localhost/x"), else
 * Docker Hub ("stelar/tool:1" -> "docker.io").
 */
export function registryOf(tag: string): string {
  const slash = tag.indexOf("/");
  if (slash < 0) return "docker.io";
  const first = tag.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : "docker.io";
}
