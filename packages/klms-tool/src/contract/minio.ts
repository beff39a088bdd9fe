import { readOptions } from "../config/read.js";
import { TaskInputError } from "./errors.js";
import type { MinioBlock } from "./input.js";

/** Where the object store is and how to sign requests to it, derived from a task's `minio` block. */
export interface MinioSettings {
  /** The endpoint URL with its scheme, e.g. `https://minio.stelar.gr` or `http://minio:9000`. */
  endpoint: string;
  /** The endpoint's host name. */
  host: string;
  /** The endpoint's port (80/443 by default for the scheme). */
  port: number;
  /** TLS, from the URL's scheme; a bare host means TLS, like the platform's public endpoint. */
  useSSL: boolean;
  /** `minio.id`. */
  accessKeyId: string;
  /** `minio.key`. */
  secretAccessKey: string;
  /** The STS session token (`minio.skey`); absent for static credentials. */
  sessionToken?: string;
  /** Which URL was chosen, and why. */
  source: "override" | "internal_url" | "endpoint_url";
}

/** How to choose between `internal_url` and `endpoint_url`. */
export interface EndpointChoice {
  /** Always use this endpoint (the `KLMS_S3_ENDPOINT` environment variable sets it too). */
  override?: string;
  /**
   * `auto` (default): `internal_url` when running inside Kubernetes (`KUBERNETES_SERVICE_HOST`
   * is set, as in every pod), else `endpoint_url`. `internal` / `external` force one.
   */
  prefer?: "auto" | "internal" | "external";
  /** Where `KLMS_S3_ENDPOINT` and `KUBERNETES_SERVICE_HOST` are read. Default: the process's environment. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Derives the object store settings from the `minio` block: endpoint, TLS from the scheme,
 * credentials and session token. Throws a {@link TaskInputError} when the block lacks an
 * endpoint or credentials, naming what is missing.
 */
export function minioSettings(block: MinioBlock, choice: EndpointChoice = {}): MinioSettings {
  const override = choice.override ?? readOptions(["endpoint"], choice.env).values.endpoint;
  // Not a setting but a fact of the pod: Kubernetes sets it in every container.
  const env = choice.env ?? process.env;
  const prefer = choice.prefer ?? "auto";
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);

  let url: string | undefined;
  let source: MinioSettings["source"];
  if (override) {
    url = override;
    source = "override";
  } else if (block.internal_url && (prefer === "internal" || (prefer === "auto" && inCluster))) {
    url = block.internal_url;
    source = "internal_url";
  } else {
    url = block.endpoint_url;
    source = "endpoint_url";
  }
  if (!url) {
    throw new TaskInputError(
      `the task's "minio" block has no "endpoint_url"; keys present: ${Object.keys(block).join(", ") || "(none)"}`,
    );
  }
  const missing = (["id", "key"] as const).filter((k) => typeof block[k] !== "string" || block[k] === "");
  if (missing.length > 0) {
    throw new TaskInputError(
      `the task's "minio" block has no ${missing.map((k) => `"${k}"`).join(" or ")}: the platform sends ` +
        "credentials only when the input is fetched with a valid bearer token",
    );
  }
  const parsed = parseEndpoint(url);
  const settings: MinioSettings = {
    ...parsed,
    accessKeyId: block.id as string,
    secretAccessKey: block.key as string,
    source,
  };
  if (typeof block.skey === "string" && block.skey !== "") settings.sessionToken = block.skey;
  return settings;
}

/** Parses `https://host[:port]`, `http://host:port` or a bare `host[:port]` (TLS). */
export function parseEndpoint(url: string): Pick<MinioSettings, "endpoint" | "host" | "port" | "useSSL"> {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new TaskInputError(`the object store endpoint ${JSON.stringify(url)} is not a valid URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TaskInputError(`the object store endpoint must use http or https, got "${u.protocol}"`);
  }
  const useSSL = u.protocol === "https:";
  const port = u.port ? Number(u.port) : useSSL ? 443 : 80;
  return { endpoint: `${u.protocol}//${u.host}`, host: u.hostname, port, useSSL };
}
