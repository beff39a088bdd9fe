/**
 * A typed client of the STELAR KLMS Data API (github stelar-eu/data-api), on node:http(s).
 *
 * ```ts
 * import { KlmsClient } from "klms-tool/client";
 * const klms = await KlmsClient.login("https://klms.example.org", "alice", password);
 * const proc = await klms.processes.create({ owner_org: "stelar-klms" });
 * const { id } = await klms.tasks.create({ process_id: proc.id, name: "t", tool: "my-tool", datasets: {}, inputs: {}, outputs: {}, parameters: {} });
 * const task = await klms.tasks.wait(id);
 * ```
 * Every failure is a {@link KlmsApiError} carrying the platform's error envelope.
 */
import type { FetchLike } from "../platform/http.js";
import { type KlmsHelp, login, resolveApiBase, tokenSession } from "./auth.js";
import { Entities, type EntityRecord, Processes, Tools } from "./entities.js";
import { RegistryCredentials } from "./registry.js";
import { type S3Credentials, s3Credentials } from "./s3.js";
import { Tasks } from "./tasks.js";
import { type SessionTokens, Transport, type TransportOptions } from "./transport.js";

export { type KlmsHelp, login, resolveApiBase, tokenSession } from "./auth.js";
export {
  Entities,
  type EntityRecord,
  Processes,
  type ProcessRecord,
  type ToolProfile,
  type ToolRecord,
  Tools,
} from "./entities.js";
export { KlmsApiError, type KlmsApiErrorCode } from "./errors.js";
export { RegistryCredentials, type RegistryToken } from "./registry.js";
export { type S3Credentials, s3Credentials } from "./s3.js";
export {
  isTerminal,
  type TaskJobs,
  type TaskRecord,
  type TaskSpecBody,
  type TaskState,
  Tasks,
  type WaitOptions,
} from "./tasks.js";
export {
  type CallOptions,
  type SessionTokens,
  sessionOf,
  type TokenReply,
  Transport,
  type TransportOptions,
} from "./transport.js";

/** The Data API, by area. */
export class KlmsClient {
  /** The HTTP layer: base URL, session, token refresh; `call()` for a route this client lacks. */
  readonly transport: Transport;
  /** `/api/v2/tool(s)`: the catalog's tools. */
  readonly tools: Tools;
  /** `/api/v2/process(es)`: processes (no PUT). */
  readonly processes: Processes;
  /** `/api/v2/dataset(s)`. */
  readonly datasets: Entities;
  /** `/api/v2/resource(s)`. */
  readonly resources: Entities;
  /** `/api/v2/organization(s)`. */
  readonly organizations: Entities;
  /** `/api/v2/task(s)`: create, read, wait, logs, terminate. */
  readonly tasks: Tasks;
  /** `/api/v2/registry/credentials`: tokens for the image registry. */
  readonly registry: RegistryCredentials;

  constructor(options: TransportOptions) {
    this.transport = new Transport(options);
    this.tools = new Tools(this.transport);
    this.processes = new Processes(this.transport);
    this.datasets = new Entities(this.transport, "dataset", "datasets");
    this.resources = new Entities(this.transport, "resource", "resources");
    this.organizations = new Entities(this.transport, "organization", "organizations");
    this.tasks = new Tasks(this.transport);
    this.registry = new RegistryCredentials(this.transport);
  }

  /** Finds the API under `url` (with or without `/stelar`) and logs in with a username and password. */
  static async login(url: string, username: string, password: string, fetch?: FetchLike): Promise<KlmsClient> {
    const { apiBase } = await resolveApiBase(url, fetch);
    return new KlmsClient({ apiBase, session: await login(apiBase, username, password, fetch), fetch });
  }

  /** Finds the API under `url` and uses `token` as it is (e.g. KLMS_TOKEN). */
  static async withToken(url: string, token: string, fetch?: FetchLike): Promise<KlmsClient> {
    const { apiBase } = await resolveApiBase(url, fetch);
    return new KlmsClient({ apiBase, session: tokenSession(token), fetch });
  }

  /** The session's tokens (after any refresh). */
  get session(): SessionTokens | undefined {
    return this.transport.session;
  }

  /** `GET /help`: the object store's URL (`s3_api`) and the deployment's other URLs. */
  help(): Promise<KlmsHelp> {
    return this.transport.call("GET", "/help", { auth: false });
  }

  /** The token's user (`GET /api/v1/users/me`: the token introspection; `username` is always there). */
  me(): Promise<{ username: string; [key: string]: unknown }> {
    return this.transport.call("GET", "/api/v1/users/me");
  }

  /**
   * S3 credentials for the object store `/help` names (see {@link s3Credentials}).
   * @param fetch for the STS call, e.g. one that trusts a private CA; default the kit's httpFetch
   */
  async s3(env?: NodeJS.ProcessEnv, fetch?: FetchLike): Promise<S3Credentials> {
    const { s3_api } = await this.help();
    if (!s3_api) throw new Error("this KLMS names no object store (its /help has no s3_api)");
    const token = this.transport.session?.token ?? "";
    return s3Credentials(s3_api, token, { env, ...(fetch ? { fetch } : {}) });
  }
}

export type { EntityRecord as Entity };
