/**
 * Catalog entities through the platform's generic routes (`routes/generic.py:175-545`): list
 * (names), fetch, show (id or name), create, update (PUT: omitted fields cleared), patch (omitted
 * fields kept), delete. Processes have no PUT, resources no list (platform-api §3.1).
 */
import type { Transport } from "./transport.js";

/** An entity record as the platform returns it; `id` and `name` are always there. */
export interface EntityRecord {
  id: string;
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

  async delete(id: string, options: { purge?: boolean } = {}): Promise<void> {
    await this.transport.call("DELETE", `/api/v2/${this.kind}/${encodeURIComponent(id)}`, {
      query: { purge: options.purge },
    });
  }
}

/** A tool's profile (`execution/job.py:47-110`). */
export interface ToolProfile {
  image: string;
  description?: string;
  image_pull_policy?: "Always" | "IfNotPresent" | "Never";
  backoff_limit?: number;
  [key: string]: unknown;
}

/** A tool record (`tools.py:13-43`). */
export interface ToolRecord extends EntityRecord {
  repository?: string;
  programming_language?: string | null;
  git_repository?: string | null;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  parameters?: Record<string, unknown>;
  profiles?: Record<string, ToolProfile>;
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
  exec_state: "running" | "failed" | "succeeded";
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
