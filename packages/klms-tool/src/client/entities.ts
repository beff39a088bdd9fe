/**
 * Catalog entities through the platform's generic routes (`routes/generic.py:175-545`): list
 * (names), fetch, show (id or name), create, update (PUT: omitted fields cleared), patch (omitted
 * fields kept), delete. Processes have no PUT, resources no list (platform-api §3.1).
 */
import type { Transport } from "./transport.js";

/** An entity record as the platform returns it; `id` and `name` are always there. */
export interface EntityRecord {
  /** The entity's UUID. */
  id: string;
  /** Its catalog name (2-100 of a-z, 0-9, `_`, `-`). */
  name: string;
  [key: string]: unknown;
}

/** The routes of one entity kind, e.g. `new Entities(t, "tool", "tools")`. */
export class Entities<R extends EntityRecord = EntityRecord> {
  constructor(
    protected readonly transport: Transport,
    /** The singular route name (`tool`). */
    readonly kind: string,
    /** The collection route name (`tools`). */
    readonly collection: string,
  ) {}

  /** Names of the active entities, sorted (`GET /api/v2/<coll>?limit&offset`). */
  list(page: { limit?: number; offset?: number } = {}): Promise<string[]> {
    return this.transport.call("GET", `/api/v2/${this.collection}`, { query: page });
  }

  /** Full records (`GET /api/v2/<coll>.fetch`). */
  fetch(page: { limit?: number; offset?: number } = {}): Promise<R[]> {
    return this.transport.call("GET", `/api/v2/${this.collection}.fetch`, { query: page });
  }

  /** One record by id or name; a {@link KlmsApiError} `NotFoundError` (404) when there is none. */
  get(idOrName: string): Promise<R> {
    return this.transport.call("GET", `/api/v2/${this.kind}/${encodeURIComponent(idOrName)}`);
  }

  /** The record, or undefined on a 404. */
  async find(idOrName: string): Promise<R | undefined> {
    try {
      return await this.get(idOrName);
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw error;
    }
  }

  /** POST: a new record from `fields`; a {@link KlmsApiError} `_ValidationError` (422) names each bad field. */
  create(fields: Record<string, unknown>): Promise<R> {
    return this.transport.call("POST", `/api/v2/${this.kind}`, { body: fields });
  }

  /** PUT: the fields not sent are cleared (CKAN `*_update`). */
  update(id: string, fields: Record<string, unknown>): Promise<R> {
    return this.transport.call("PUT", `/api/v2/${this.kind}/${encodeURIComponent(id)}`, { body: fields });
  }

  /** PATCH: the fields not sent are kept (CKAN `*_patch`). */
  patch(id: string, fields: Record<string, unknown>): Promise<R> {
    return this.transport.call("PATCH", `/api/v2/${this.kind}/${encodeURIComponent(id)}`, { body: fields });
  }

  /** DELETE: marks the record deleted, or removes it for good with `purge` (default false). */
  async delete(id: string, options: { purge?: boolean } = {}): Promise<void> {
    await this.transport.call("DELETE", `/api/v2/${this.kind}/${encodeURIComponent(id)}`, {
      query: { purge: options.purge },
    });
  }
}

/** A tool's profile (`execution/job.py:47-110`). */
export interface ToolProfile {
  /** The image the profile runs. */
  image: string;
  /** What the profile is for. */
  description?: string;
  /** The Job's imagePullPolicy. */
  image_pull_policy?: "Always" | "IfNotPresent" | "Never";
  /** The Job's retries, 0 to 10. */
  backoff_limit?: number;
  [key: string]: unknown;
}

/** A tool record (`tools.py:13-43`). */
export interface ToolRecord extends EntityRecord {
  /** The image repository's name: the tool's, set by the platform (the registry holds `stelar/<name>`). */
  repository?: string;
  /** The tool's language, as declared. */
  programming_language?: string | null;
  /** Its source repository's URL. */
  git_repository?: string | null;
  /** Its input groups, as declared (`klms-tool manifest`). */
  inputs?: Record<string, unknown>;
  /** Its outputs, as declared. */
  outputs?: Record<string, unknown>;
  /** Its parameters, as declared (JSON Schema from `klms-tool manifest`). */
  parameters?: Record<string, unknown>;
  /** Profile name → how to run it (`default` is used when a task names the tool). */
  profiles?: Record<string, ToolProfile>;
  /** The images in its registry repository (set by the platform). */
  images?: Array<{ name: string; [key: string]: unknown }>;
}

/** Tools, with their registry image routes (`workflows.py:74-200`). */
export class Tools extends Entities<ToolRecord> {
  constructor(transport: Transport) {
    super(transport, "tool", "tools");
  }

  /** `{tag: manifest digest}` over the tool's image tags (`GET /api/v2/tool/<id>/manifests`). */
  manifests(id: string): Promise<Record<string, string>> {
    return this.transport.call("GET", `/api/v2/tool/${encodeURIComponent(id)}/manifests`);
  }
}

/** A process record (`processes.py:158-192`). */
export interface ProcessRecord extends EntityRecord {
  /** Whether the process still runs, or how it ended. */
  exec_state: "running" | "failed" | "succeeded";
  /** Its tasks, when the record lists them. */
  tasks?: Array<{ id: string; name: string; exec_state: string }>;
}

/** Processes: no PUT; `patch({exec_state: "succeeded"})` ends one (`processes.py:435-511`). */
export class Processes extends Entities<ProcessRecord> {
  constructor(transport: Transport) {
    super(transport, "process", "processes");
  }

  override update(): Promise<ProcessRecord> {
    return Promise.reject(new Error("processes have no PUT on the platform (405): use patch()"));
  }
}
