/**
 * The image side of `klms-tool publish`: which registry the KLMS pulls tool images from, the
 * push credential the KLMS issues for it, and the build and push through the image module
 * (src/image: docker, podman or buildah, with the host's runtime settings).
 *
 * The platform's tool images live in its registry (Quay) as `<registry>/stelar/<repository>:<tag>`,
 * the repository being the tool's name (`tools.py:91-98`, `kubernetes.py:183-198`); pushes log in
 * with an app token (`POST /api/v2/registry/credentials`, `qutils.py:146-161`) as the user `$app`
 * (the platform's settings page: `docker login -u='$app' -p=<token_code> <registry>`).
 */
import type { KlmsClient } from "../client/index.js";
import { buildImage } from "../image/build.js";
import { projectBuild } from "../image/project.js";
import { pushImage } from "../image/push.js";
import type { Builder } from "../image/settings.js";
import { UsageError } from "./cluster-io.js";

/** Quay's user name for app tokens. */
export const APP_TOKEN_USERNAME = "$app";

/** The title of the registry credential publish creates once and reuses. */
export const PUBLISH_TOKEN_TITLE = "klms-tool publish";

/** The platform's image namespace (`IMAGE_REGISTRY_ORG`, `data_api.py:939`). */
const ORG = "stelar";

/** Where the image goes. */
export interface ImageTarget {
  /** The registry as a URL, e.g. `http://127.0.0.1:5000` or `https://img.stelar.gr`. */
  registry: string;
  /** The full reference pushed, e.g. `127.0.0.1:5000/stelar/my-tool:0.1.0`. */
  reference: string;
  /** False for a plain-http registry. */
  tlsVerify: boolean;
  /** How the registry was found: `--registry`, `KLMS_REGISTRY`, `/help image_registry` or `/help klms_dns_domain`. */
  source: string;
}

/**
 * The registry and the image reference for `name:tag`: `--registry`, else `KLMS_REGISTRY`, else
 * what the KLMS's `/help` names (`image_registry`, which a local KLMS adds), else
 * `https://img.<klms_dns_domain>` (the platform's `REGISTRY_SUBDOMAIN` default, `data_api.py:910`).
 * Throws a {@link UsageError} when none of them names one.
 */
export async function imageTarget(
  client: KlmsClient,
  given: { flag?: string | undefined; env?: string | undefined },
  name: string,
  tag: string,
): Promise<ImageTarget> {
  let registry: string | undefined;
  let source = "--registry";
  if (given.flag) registry = registryUrl(given.flag);
  else if (given.env) [registry, source] = [registryUrl(given.env), "KLMS_REGISTRY"];
  else {
    const help = await client.help();
    const domain = help.klms_dns_domain as string | undefined;
    if (typeof help.image_registry === "string") [registry, source] = [help.image_registry, "/help image_registry"];
    else if (domain && /[a-z]/i.test(domain) && domain !== "localhost")
      [registry, source] = [`https://img.${domain}`, "/help klms_dns_domain"];
  }
  if (!registry)
    throw new UsageError(
      "this KLMS names no image registry: give --registry URL (or KLMS_REGISTRY), e.g. http://127.0.0.1:5000 for " +
        "klms-tool dev --registry; or publish the catalog entry alone with --no-image",
    );
  const url = new URL(registry);
  return {
    registry: url.origin,
    reference: `${url.host}/${ORG}/${name}:${tag}`,
    tlsVerify: url.protocol === "https:",
    source,
  };
}

/** A registry given as a URL or as `host[:port]` (plain http for 127.0.0.1 and localhost, else https). */
function registryUrl(text: string): string {
  const withScheme = /^https?:\/\//.test(text)
    ? text
    : `${/^(127\.|localhost(:|$)|\[::1\])/.test(text) ? "http" : "https"}://${text}`;
  try {
    return new URL(withScheme).origin;
  } catch {
    throw new UsageError(
      `the registry ${JSON.stringify(text)} is not a URL or host[:port], e.g. http://127.0.0.1:5000`,
    );
  }
}

/**
 * The push login the KLMS issues: the user's registry credential titled "klms-tool publish",
 * created once (`POST /api/v2/registry/credentials`) and read back later
 * (`GET /api/v2/registry/credentials/<id>`, which carries `token_code`), as `gh` keeps one token
 * per tool instead of minting one per run. The password is never printed.
 */
export async function registryLogin(client: KlmsClient): Promise<{ username: string; password: string }> {
  const tokens = await client.registry.list();
  const id = Object.entries(tokens).find(([, t]) => t.title === PUBLISH_TOKEN_TITLE)?.[0];
  const token = id ? await client.registry.get(id) : await client.registry.create(PUBLISH_TOKEN_TITLE);
  if (!token.token_code) throw new Error("the KLMS issued a registry credential without a token_code");
  return { username: APP_TOKEN_USERNAME, password: token.token_code };
}

/** What to build and push, and where progress goes. */
export interface BuildPush {
  dir: string;
  target: ImageTarget;
  builder?: Builder;
  baseImage?: string;
  /** The built tool module whose manifest labels the image (publish's `<main.js>`). */
  main?: string;
  onStep: (text: string) => void;
  onLine?: (text: string) => void;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
}

/** Builds the project's image as `target.reference` (the labels and build arguments of `make build`); the builder used. */
export async function buildProjectImage(o: BuildPush): Promise<Builder> {
  o.onStep(`building ${o.target.reference}`);
  const project = await projectBuild(o.dir, {
    ...(o.baseImage ? { baseImage: o.baseImage } : {}),
    ...(o.main ? { main: o.main } : {}),
  });
  return (await buildImage({ dir: o.dir, tag: o.target.reference, ...project, ...common(o) })).builder;
}

/**
 * What to check when the registry refuses the credential the KLMS issued: the user's own KLMS
 * login is fine (the KLMS issued it); the KLMS's registry account is what is wrong (attack5 F10).
 */
const REFUSED_KLMS_CREDENTIAL =
  `the registry refused the push credential the KLMS issued (${APP_TOKEN_USERNAME}, token "${PUBLISH_TOKEN_TITLE}"): ` +
  "the KLMS's registry account does not match the registry's. For klms-tool dev: give it the registry's password " +
  "file (klms-tool dev --registry-auth .klms/registry/auth, as scripts/registry.sh start --auth wrote it), and " +
  "restart klms-tool dev after the registry was restarted (it reads the file once, at start)";

/**
 * Pushes `target.reference` with the KLMS's credential; the manifest digest when the builder reports it.
 * `afterLogin` runs once the registry accepted the login, before the push (see pushImage).
 */
export async function pushProjectImage(
  o: BuildPush,
  credentials: { username: string; password: string },
  afterLogin?: () => Promise<void>,
): Promise<{ digest?: string }> {
  o.onStep(`pushing ${o.target.reference} to ${o.target.registry}`);
  return pushImage({
    tag: o.target.reference,
    credentials,
    tlsVerify: o.target.tlsVerify,
    refusedLoginFix: REFUSED_KLMS_CREDENTIAL,
    ...(afterLogin ? { afterLogin } : {}),
    ...common(o),
  });
}

function common(o: BuildPush) {
  return {
    env: o.env,
    signal: o.signal,
    ...(o.builder ? { builder: o.builder } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
  };
}
