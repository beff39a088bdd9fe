/**
 * Turns a failed builder command into an ImageError that says what failed and how to fix it. The
 * builders' messages for the usual causes are recognised by pattern; anything else is quoted.
 */
import { ImageError } from "./errors.js";
import type { ExecResult } from "./exec.js";
import type { Builder } from "./settings.js";

/** What was being done, for the message: "build of 127.0.0.1:5000/x:1", "push to 127.0.0.1:5000". */
export interface FailureContext {
  builder: Builder;
  action: "build" | "login" | "push";
  /** The image tag (build, push) or the registry (login). */
  subject: string;
  registry?: string;
  /** login: what to check when the registry refuses the credentials (who gave them). Default "check them". */
  refusedLoginFix?: string;
}

/** A known cause: a pattern of the builders' output, and what to do about it. */
interface Cause {
  actions: FailureContext["action"][];
  pattern: RegExp;
  fix: (c: FailureContext) => string;
}

const CAUSES: Cause[] = [
  {
    actions: ["build", "login", "push"],
    pattern: /Cannot connect to the Docker daemon|Is the docker daemon running/i,
    fix: () => "docker cannot reach its daemon: start it, or set KLMS_BUILDER=podman or KLMS_BUILDER=buildah",
  },
  {
    actions: ["build", "push"],
    pattern: /cgroups in hybrid mode/i,
    fix: () => "crun does not run on hosts with hybrid cgroups: install runc (podman then runs with --runtime runc)",
  },
  {
    actions: ["build"],
    pattern: /error setting rlimit|setrlimit/i,
    fix: () => "the container's limits could not be set: pass --ulimit nofile=1024:1024 --ulimit nproc=4096:4096",
  },
  {
    actions: ["login", "push"],
    pattern: /HTTP response to HTTPS client/i,
    fix: (c) => `${c.registry} speaks plain http: push with tlsVerify false (--tls-verify=false)`,
  },
  {
    actions: ["login"],
    pattern: /unauthori[sz]ed|incorrect username or password|invalid username|401/i,
    fix: (c) => `${c.registry} refused the username or password: ${c.refusedLoginFix ?? "check them"}`,
  },
  {
    actions: ["push"],
    pattern: /unauthori[sz]ed|authentication required|requested access to the resource is denied|401|403/i,
    fix: (c) => `${c.registry} refused the push: give credentials of a user allowed to push there`,
  },
  {
    actions: ["push"],
    pattern: /image not known|no such image|does not exist|not found/i,
    fix: (c) => `there is no image ${c.subject} in ${c.builder}'s storage: build it first (with the same builder)`,
  },
  {
    actions: ["build"],
    pattern:
      /pull access denied|manifest unknown|name unknown|repository does not exist|no such image|initializing source docker:\/\/localhost|requested access to the resource is denied|short-name .* did not resolve/i,
    fix: (c) =>
      `the base image could not be found: a local base (localhost/…) must be in ${c.builder}'s storage ` +
      "(scripts/image-base.sh puts localhost/klms/node:24-slim there), or use a base your registry has (BASE_IMAGE=node:24-slim)",
  },
];

/** How many of the builder's last lines a message quotes. */
const QUOTED_LINES = 6;

/** The ImageError for a failed command: the recognised cause's fix, or the exit code, plus the last lines. */
export function failure(c: FailureContext, result: ExecResult): ImageError {
  const what = c.action === "login" ? `${c.builder} login to ${c.subject}` : `${c.builder} ${c.action} of ${c.subject}`;
  if (result.error?.code === "ENOENT")
    return new ImageError(
      `${what} failed: ${c.builder} is not installed: install it, or set KLMS_BUILDER to one that is`,
    );
  const text = result.tail.join("\n");
  const cause = CAUSES.find((k) => k.actions.includes(c.action) && k.pattern.test(text));
  const ended = result.signal ? `was stopped (${result.signal})` : `failed (exit code ${result.code})`;
  const fix = cause ? `: ${cause.fix(c)}` : "";
  const quoted = result.tail.slice(-QUOTED_LINES);
  const last = quoted.length > 0 ? `\n  ${c.builder} said:\n    ${quoted.join("\n    ")}` : "";
  return new ImageError(`${what} ${ended}${fix}${last}`, result.tail);
}
