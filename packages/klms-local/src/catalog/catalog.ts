/**
 * The local catalog: organizations, datasets, processes, tools and resources, as far as tasks
 * need them, with the platform's rules for creating, showing, updating, patching and deleting
 * them (`routes/generic.py`, `entity.py`, `cutils.py`, `processes.py`, `tools.py`). One record
 * file per entity under `<dataDir>/catalog/` (crash-safe, see {@link RecordDir}).
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { nameUuid, userIdOf } from "../auth.js";
import { DurableWriter } from "../durable-writer.js";
import { ApiError } from "../envelope.js";
import { RecordDir } from "../records.js";
import { isCanonicalUuid, loadBody, validationError } from "../schema.js";
import { isoNow } from "../timestamps.js";
import { type Kind, PROFILE_SCHEMA, SCHEMAS } from "./schemas.js";
import {
  type ImageTag,
  imagesWithoutRegistry,
  organizationView,
  packageView,
  resourceView,
  type StoredEntity,
  type TaskSummary,
} from "./views.js";

export type { Kind } from "./schemas.js";
export type { StoredEntity, TaskSummary } from "./views.js";

/** The organization every new package defaults to (stelar_client: `sc:package.py:125-132`). */
export const DEFAULT_ORGANIZATION = "stelar-klms";

/** Package kinds: share one name space, as CKAN packages do. */
const PACKAGES: readonly Kind[] = ["dataset", "process", "tool"];

/** Options of {@link Catalog}. */
export interface CatalogOptions {
  /** The process record's `tasks`. */
  tasksOf?: (processId: string) => TaskSummary[];
  /** Where warnings about set-aside records go. */
  warn?: (message: string) => void;
  /** Writes the entity files (off the event loop); default: one of its own. Whoever stops the server flushes it. */
  writer?: DurableWriter;
}

/** The catalog of one local KLMS. */
export class Catalog {
  readonly #files: RecordDir<StoredEntity>;
  readonly #entities = new Map<string, StoredEntity>();
  readonly #tasksOf: (processId: string) => TaskSummary[];
  #registryTags: ((repository: string) => ImageTag[] | undefined) | undefined;

  /** Loads `<dataDir>/catalog`, then makes sure the default organization exists. */
  constructor(dataDir: string, options: CatalogOptions = {}) {
    const warn = options.warn ?? ((m: string) => process.stderr.write(`klms-local: warning: ${m}\n`));
    this.#files = new RecordDir(join(dataDir, "catalog"), options.writer ?? new DurableWriter({ warn }));
    this.#tasksOf = options.tasksOf ?? (() => []);
    for (const e of this.#files.loadAll(checkStored, warn)) this.#entities.set(e.id, e);
    if (!this.#byName("organization", DEFAULT_ORGANIZATION)) {
      this.insert("organization", { name: DEFAULT_ORGANIZATION, title: "STELAR KLMS" }, "dev", {
        id: nameUuid(`organization:${DEFAULT_ORGANIZATION}`),
      });
    }
  }

  /** The entity of `kind` with this id or name, or the platform's 404 (`entity.py:393-423`). */
  get(kind: Kind, idOrName: string): StoredEntity {
    // CKAN's `resource_show` takes an id only; packages and organizations an id or a name.
    const byName =
      kind === "resource" ? undefined : (this.#byName(kind, idOrName) ?? this.#packageNamed(kind, idOrName));
    const found = this.#entities.get(idOrName) ?? byName;
    // CKAN's "Not found", relayed with the entity (`backend/ckan.py:193-251`).
    if (!found) throw new ApiError(404, "Not found", { entity: kind });
    if (found.kind !== kind) throw new ApiError(404, "", { entity: `${kind} not found, ID belongs to ${found.kind}` });
    return found;
  }

  /** Any entity with this id, or undefined. */
  find(id: string): StoredEntity | undefined {
    return this.#entities.get(id);
  }

  /** The platform's view of an entity. */
  view(e: StoredEntity): Record<string, unknown> {
    if (e.kind === "organization") return organizationView(e);
    if (e.kind === "resource") return resourceView(e);
    return packageView(e, {
      organization: (id) => this.#entities.get(id),
      resourcesOf: (id) => this.resourcesOf(id),
      tasksOf: this.#tasksOf,
      imagesOf: (tool) => this.imagesOf(tool),
    });
  }

  /**
   * Reads tool images from a registry from now on: `tags(repository)` gives the tags of
   * `stelar/<repository>` as last read (undefined: the registry has no such repository). Where
   * the platform's Quay has no repository it falls back to the tool's CKAN resources
   * (`tools.py:111-123`), which are none here: `[]`.
   */
  useRegistry(tags: (repository: string) => ImageTag[] | undefined): void {
    this.#registryTags = tags;
  }

  /** A tool's `images`: its registry repository's tags, or without a registry {@link imagesWithoutRegistry}. */
  imagesOf(tool: StoredEntity): ImageTag[] {
    if (!this.#registryTags) return imagesWithoutRegistry(tool);
    return this.#registryTags(repositoryOf(tool)) ?? [];
  }

  /** `GET /{coll}`: names of the active entities of `kind`, by name, paged (`entity.py:1080-1101`). */
  list(kind: Kind, limit?: number, offset = 0): string[] {
    const names = [...this.#entities.values()]
      .filter((e) => e.kind === kind && e.state === "active")
      .map((e) => e.name)
      .sort();
    return names.slice(offset, limit === undefined ? undefined : offset + limit);
  }

  /** The active resources of a package, by position. */
  resourcesOf(packageId: string): StoredEntity[] {
    return [...this.#entities.values()]
      .filter((e) => e.kind === "resource" && e.package_id === packageId && e.state === "active")
      .sort((a, b) => (a.position as number) - (b.position as number));
  }

  /**
   * Checks a `POST` (`create`), `PUT` or `PATCH` body with the kind's schema (partial for the
   * last two) and, for tools, each profile; throws the platform's 422. Returns the body.
   */
  check(kind: Kind, body: unknown, mode: "create" | "update" | "patch"): Record<string, unknown> {
    const input = loadBody(body, SCHEMAS[kind], { partial: mode !== "create", unknown: unknownOf(kind) });
    if (kind === "tool") checkProfiles(input.profiles);
    return input;
  }

  /**
   * `POST /{kind}`: validates the body with the kind's schema, applies the platform's defaults,
   * stores. `fixed.id` keeps an id (the seed's); `fixed.extra` adds stored fields the API does not
   * take (a seeded tool's `images`).
   */
  create(
    kind: Kind,
    body: unknown,
    creator: string,
    fixed: { id?: string; extra?: Record<string, unknown> } = {},
  ): StoredEntity {
    const input = this.check(kind, body, "create");
    return this.insert(kind, { ...input, ...fixed.extra }, creator, fixed);
  }

  /**
   * Stores a new entity from a validated input (also used by the seed and by task outputs, which
   * skip the API schema like the platform does, `entity.py:1144-1175`). `fixed.id` keeps an id.
   */
  insert(kind: Kind, input: Record<string, unknown>, creator: string, fixed: { id?: string } = {}): StoredEntity {
    const id = fixed.id ?? randomUUID();
    if (this.#entities.has(id)) throw new ApiError(409, `An entity with id ${id} already exists.`);
    const now = isoNow();
    const entity =
      kind === "resource" ? this.#newResource(id, input, now) : this.#newEntity(kind, id, input, creator, now);
    this.#save(entity);
    return entity;
  }

  #newEntity(kind: Kind, id: string, input: Record<string, unknown>, creator: string, now: string): StoredEntity {
    if (kind === "organization") {
      this.#checkNameFree("organization", input.name as string);
      return {
        kind,
        id,
        name: input.name as string,
        state: "active",
        created: now,
        title: input.title ?? "",
        description: input.description ?? "",
        image_url: input.image_url ?? "",
        type: "organization",
        approval_status: input.approval_status ?? "approved",
        is_organization: true,
        extras: input.extras ?? {},
      };
    }
    const suffix = randomUUID();
    const name = (input.name as string | undefined) ?? `workflow-process-${suffix}`;
    this.#checkNameFree(kind, name);
    const org = this.#owner(kind, input.owner_org as string | undefined);
    const entity: StoredEntity = {
      ...input,
      kind,
      id,
      name,
      type: kind,
      state: (input.state as string | undefined) ?? "active",
      private: input.private ?? false,
      owner_org: org.id,
      metadata_created: now,
      metadata_modified: now,
      creator_user_id: userIdOf(creator),
      tags: input.tags ?? [],
      extras: input.extras ?? {},
      groups: [],
    };
    if (kind === "process") {
      entity.title = input.title ?? `Workflow Process ${suffix}`;
      entity.author = input.author ?? creator;
      entity.maintainer = input.maintainer ?? creator;
      Object.assign(entity, { creator, exec_state: "running", start_date: now, end_date: null });
      entity.workflow = input.workflow ?? null;
    }
    if (kind === "tool") entity.repository = name;
    return entity;
  }

  #newResource(id: string, input: Record<string, unknown>, now: string): StoredEntity {
    const parent = this.#entities.get(input.package_id as string);
    if (!parent || !PACKAGES.includes(parent.kind)) throw new ApiError(404, "Not found", { entity: "resource" });
    const { id: _id, created: _created, ...rest } = input;
    return {
      cache_last_updated: null,
      cache_url: null,
      description: "",
      format: "",
      hash: "",
      last_modified: null,
      mimetype: null,
      mimetype_inner: null,
      name: "",
      resource_type: null,
      size: null,
      url: "",
      url_type: null,
      ...rest,
      kind: "resource",
      id,
      state: "active",
      package_id: parent.id,
      // `cutils.py:420-436`: stelar_client tells a dataset's resource from a process's by this.
      package_type: parent.kind,
      position: this.resourcesOf(parent.id).length,
      created: now,
      metadata_modified: now,
    };
  }

  /**
   * `PUT` (CKAN `*_update`: omitted fields are cleared) or `PATCH` (`*_patch`: omitted fields are
   * kept), with the kind's partial schema. Processes have no PUT and their own patch rules.
   */
  modify(kind: Kind, idOrName: string, body: unknown, mode: "update" | "patch"): StoredEntity {
    const current = this.get(kind, idOrName);
    const input = this.check(kind, body, mode);
    if (kind === "process") return this.#patchProcess(current, input);
    if (kind === "resource" && mode === "update" && !("package_id" in input)) {
      // The platform's `RESOURCE.update_entity` reads `package_id` unconditionally (`cutils.py:438-445`).
      throw new ApiError(500, "KeyError('package_id')", { format_exc: "" }, "InternalException");
    }
    if (input.name !== undefined && input.name !== current.name) this.#checkNameFree(kind, input.name as string);
    const next: StoredEntity = mode === "patch" ? { ...current, ...input } : { ...this.#cleared(current), ...input };
    if (input.owner_org !== undefined) next.owner_org = this.#owner(kind, input.owner_org as string).id;
    next.kind = current.kind;
    next.id = current.id;
    if (kind !== "organization") next.metadata_modified = isoNow();
    this.#save(next);
    return next;
  }

  /** Keeps what CKAN keeps on an update: identity, dates, owner, state; clears the user fields. */
  #cleared(e: StoredEntity): StoredEntity {
    const keep = ["kind", "id", "name", "state", "type", "owner_org", "created", "metadata_created", "creator_user_id"];
    const out: StoredEntity = { kind: e.kind, id: e.id, name: e.name, state: e.state };
    for (const key of keep) if (key in e) out[key] = e[key];
    for (const key of ["package_id", "package_type", "position", "is_organization", "repository", "groups"]) {
      if (key in e) out[key] = e[key];
    }
    return out;
  }

  /** `processes.py:435-511`, key by key. */
  #patchProcess(current: StoredEntity, input: Record<string, unknown>): StoredEntity {
    const next: StoredEntity = { ...current };
    for (const [key, value] of Object.entries(input)) {
      if (key === "state") {
        if (value === current.state) continue;
        if (current.state !== "deleted" || value !== "active") {
          throw new ApiError(409, "State can only change from deleted to active.");
        }
        next.state = "active";
      } else if (key === "exec_state") {
        if (value === current.exec_state) continue;
        if (current.exec_state !== "running") {
          throw new ApiError(409, "Exec state can only change from running to failed or succeeded.");
        }
        Object.assign(next, { exec_state: value, end_date: isoNow() });
      } else if (key === "owner_org") {
        next.owner_org = this.#owner("process", value as string).id;
      } else if (key === "name" || key === "private") {
        // The platform's patch reaches an undefined `self.ALL_FIELDS` for these (`processes.py:482`).
        throw new ApiError(
          500,
          "AttributeError(\"'ProcessEntity' object has no attribute 'ALL_FIELDS'\")",
          { format_exc: "" },
          "InternalException",
        );
      } else next[key] = value;
    }
    next.metadata_modified = isoNow();
    this.#save(next);
    return next;
  }

  /**
   * `DELETE /{kind}/<id>?purge=`: packages and organizations become `deleted` (CKAN
   * `*_delete`), or go with `purge` (their resources with them); a resource goes. Processes:
   * no purge (405), not while running (409) (`processes.py:524-534`).
   */
  remove(kind: Kind, idOrName: string, purge: boolean): void {
    const e = this.get(kind, idOrName);
    if (kind === "process") {
      if (purge) throw new ApiError(405, "Purging is not supported for processes.");
      if (e.state === "deleted") return;
      if (e.exec_state === "running") throw new ApiError(409, "Cannot delete a running process.");
    }
    if (kind === "resource" || purge) {
      for (const r of this.resourcesOf(e.id)) this.#drop(r.id);
      this.#drop(e.id);
      return;
    }
    this.#save({ ...e, state: "deleted" });
  }

  #drop(id: string): void {
    this.#entities.delete(id);
    void this.#files.remove(id);
  }

  #save(e: StoredEntity): void {
    void this.#files.write(e.id, e);
    this.#entities.set(e.id, e);
  }

  #byName(kind: Kind, name: string): StoredEntity | undefined {
    for (const e of this.#entities.values()) if (e.kind === kind && e.name === name) return e;
    return undefined;
  }

  /** A package of another kind with this name (CKAN resolves names across package types). */
  #packageNamed(kind: Kind, name: string): StoredEntity | undefined {
    if (!PACKAGES.includes(kind)) return undefined;
    for (const e of this.#entities.values()) if (PACKAGES.includes(e.kind) && e.name === name) return e;
    return undefined;
  }

  /** CKAN refuses a second package (or organization) with the same name: 400 (`backend/ckan.py:193-251`). */
  #checkNameFree(kind: Kind, name: string): void {
    const taken = kind === "organization" ? this.#byName("organization", name) : this.#packageNamed(kind, name);
    if (taken) {
      throw new ApiError(
        400,
        "No message provided",
        { entity: kind, extra: { name: ["That URL is already in use."] } },
        "InvalidError",
      );
    }
  }

  /** The owner organization by name or id (default `stelar-klms`). */
  #owner(kind: Kind, given: string | undefined): StoredEntity {
    const org = given === undefined ? this.#byName("organization", DEFAULT_ORGANIZATION) : this.#orgByIdOrName(given);
    if (org) return org;
    if (kind === "process") throw new ApiError(404, "Not found", { entity: "organization" });
    throw new ApiError(
      400,
      "No message provided",
      { entity: kind, extra: { owner_org: ["Organization does not exist"] } },
      "InvalidError",
    );
  }

  #orgByIdOrName(given: string): StoredEntity | undefined {
    const byId = this.#entities.get(given);
    return byId?.kind === "organization" ? byId : this.#byName("organization", given);
  }
}

/** `ResourceSchema` has `unknown = INCLUDE`: other keys (e.g. `relation`) become extras (`cutils.py:352-402`). */
function unknownOf(kind: Kind): "raise" | "include" {
  return kind === "resource" ? "include" : "raise";
}

/** Tool profiles, each checked with `JobProfileSchema` (an unknown key gives 422). */
function checkProfiles(profiles: unknown): void {
  if (profiles === undefined) return;
  const problems: Record<string, unknown> = {};
  for (const [name, profile] of Object.entries(profiles as Record<string, unknown>)) {
    try {
      loadBody(profile, PROFILE_SCHEMA);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      problems[name] = { value: (e.detail.json as Record<string, unknown>) ?? {} };
    }
  }
  if (Object.keys(problems).length > 0) throw validationError({ profiles: problems });
}

/** Why a stored record is not usable, or undefined. */
function checkStored(value: unknown): string | undefined {
  const e = value as StoredEntity;
  if (typeof e !== "object" || e === null) return "not a JSON object";
  if (!["organization", "dataset", "process", "tool", "resource"].includes(e.kind)) return "no known kind";
  if (!isCanonicalUuid(e.id)) return "no id";
  return undefined;
}

/** A tool's registry repository: its name, set at creation (`tools.py:91-98`). */
export function repositoryOf(tool: StoredEntity): string {
  return (tool.repository as string | undefined) ?? tool.name;
}
