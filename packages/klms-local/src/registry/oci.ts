/**
 * The local KLMS's image registry: an OCI distribution registry (Debian's docker-registry, see
 * scripts/registry.sh) read over its HTTP API (`/v2/…`), in the place of the platform's Quay. The
 * platform lists a tool's images as Quay's active tags of `stelar/<repository>`
 * (`qutils.py:65-77`); here each tag of the same repository becomes a Quay tag object, the shape
 * stelar_client's `Image` takes (`sc:tool.py:47-70`).
 */
import type { ImageTag } from "../catalog/views.js";
import { quayDate } from "../catalog/views.js";

/** Where the registry is and how to read it. */
export interface RegistryOptions {
  /** Its URL, e.g. `http://127.0.0.1:5000` (plain http for a local one). */
  url: string;
  /**
   * The account it accepts (htpasswd), used to read it and handed out as the token code of every
   * registry credential (see routes/registry.ts). Username default `$app`, Quay's app-token user.
   */
  username?: string;
  password?: string;
}

/** The namespace the platform keeps tool images in (`IMAGE_REGISTRY_ORG`, `data_api.py:939`). */
export const REGISTRY_ORG = "stelar";

/** Quay's user name for an app-specific token (`docker login -u '$app'`, the platform's settings page). */
export const APP_TOKEN_USERNAME = "$app";

/** Manifest media types asked for, so that the registry answers any image as it was pushed. */
const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

/** A failure to read the registry; the message names the URL and the status, never a credential. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Reads one OCI registry. */
export class OciRegistry {
  readonly url: string;
  /** `host:port`, as image references name it (`127.0.0.1:5000`). */
  readonly host: string;
  readonly username: string;
  readonly #password: string | undefined;
  /** Tag objects by manifest digest: a digest's content never changes, so neither does its size or date. */
  readonly #byDigest = new Map<string, Omit<ImageTag, "name">>();

  constructor(options: RegistryOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new Error(`the registry URL ${JSON.stringify(options.url)} is not a URL: give e.g. http://127.0.0.1:5000`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw new Error(`the registry URL ${options.url} must start with http:// or https://`);
    this.url = parsed.origin;
    this.host = parsed.host;
    this.username = options.username ?? APP_TOKEN_USERNAME;
    this.#password = options.password;
  }

  /** True when the registry wants a login (a password was given). */
  get hasPassword(): boolean {
    return this.#password !== undefined;
  }

  /** The password every registry credential carries as its `token_code` (see routes/registry.ts). */
  tokenCode(): string | undefined {
    return this.#password;
  }

  /** The full reference the cluster's Job pulls for a tool image `<repository>:<tag>` (`kubernetes.py:183-198`). */
  reference(image: string): string {
    return `${this.host}/${REGISTRY_ORG}/${image}`;
  }

  /**
   * The repositories of the `stelar/` namespace, without the namespace (`GET /v2/_catalog`, page
   * by page: the registry gives at most 1000 a page and a `Link` header to the next).
   */
  async repositories(): Promise<string[]> {
    const all: string[] = [];
    let path: string | undefined = "/v2/_catalog?n=1000";
    while (path) {
      const res = await this.#get(path);
      await this.#check(res, "the catalog");
      const body = (await res.json()) as { repositories?: string[] | null };
      all.push(...(body.repositories ?? []));
      path = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
    }
    const prefix = `${REGISTRY_ORG}/`;
    return all.filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
  }

  /**
   * The tags of `stelar/<repository>` as Quay tag objects, in the registry's order; undefined when
   * the registry does not know the repository (Quay's 404).
   * @throws RegistryError when the registry cannot be reached or refuses the account
   */
  async tags(repository: string): Promise<ImageTag[] | undefined> {
    const name = `${REGISTRY_ORG}/${repository}`;
    const res = await this.#get(`/v2/${name}/tags/list`);
    if (res.status === 404) return undefined;
    await this.#check(res, `the tags of ${name}`);
    const body = (await res.json()) as { tags?: string[] | null };
    const out: ImageTag[] = [];
    for (const tag of body.tags ?? []) {
      const facts = await this.#tagFacts(name, tag);
      if (facts) out.push({ name: tag, ...facts });
    }
    return out;
  }

  /** A tag's digest, size (config and layers, compressed, as Quay counts) and push date (the image's `created`). */
  async #tagFacts(name: string, tag: string): Promise<Omit<ImageTag, "name"> | undefined> {
    const res = await this.#get(`/v2/${name}/manifests/${encodeURIComponent(tag)}`, { accept: MANIFEST_TYPES });
    if (res.status === 404) return undefined; // deleted between the listing and now
    await this.#check(res, `the manifest of ${name}:${tag}`);
    const digest = res.headers.get("docker-content-digest") ?? "";
    const known = this.#byDigest.get(digest);
    if (known) {
      await res.body?.cancel();
      return known;
    }
    const manifest = (await res.json()) as {
      config?: { digest: string; size: number };
      layers?: Array<{ size: number }>;
      manifests?: Array<{ size: number }>;
    };
    const isList = Array.isArray(manifest.manifests);
    const size = isList
      ? 0
      : (manifest.config?.size ?? 0) + (manifest.layers ?? []).reduce((sum, layer) => sum + (layer.size ?? 0), 0);
    const created = manifest.config ? await this.#created(name, manifest.config.digest) : undefined;
    const when = created ?? new Date(0);
    const facts = {
      reversion: false,
      start_ts: Math.floor(when.getTime() / 1000),
      manifest_digest: digest,
      is_manifest_list: isList,
      size,
      last_modified: quayDate(when),
    };
    if (digest) this.#byDigest.set(digest, facts);
    return facts;
  }

  /** The image config's `created` date, when it has one. */
  async #created(name: string, digest: string): Promise<Date | undefined> {
    const res = await this.#get(`/v2/${name}/blobs/${digest}`);
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const config = (await res.json()) as { created?: string };
    const date = config.created ? new Date(config.created) : undefined;
    return date && !Number.isNaN(date.getTime()) ? date : undefined;
  }

  async #get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const all: Record<string, string> = { ...headers };
    if (this.#password !== undefined) all.authorization = `Basic ${basic(this.username, this.#password)}`;
    try {
      return await fetch(`${this.url}${path}`, { headers: all, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new RegistryError(`the image registry ${this.url} cannot be reached (${cause}): is it running?`);
    }
  }

  async #check(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    const text = await res.text().catch(() => "");
    const hint =
      res.status === 401
        ? ": the registry wants a login; give the local KLMS its account (klms-tool dev --registry-auth FILE)"
        : "";
    throw new RegistryError(
      `the image registry ${this.url} answered ${res.status} for ${what}${hint} ${text.slice(0, 200)}`.trim(),
      res.status,
    );
  }
}

function basic(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString("base64");
}
