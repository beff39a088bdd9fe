/**
 * How the platform shows catalog entities: the exact record keys each one carries (the keys
 * stelar_client's proxies require, `klms-platform-api.md` §3.2-§3.7), built from what the local
 * catalog stores.
 */
import type { Kind } from "./schemas.js";

/** What the catalog stores about one entity: its kind, its id and name, and its fields. */
export interface StoredEntity {
  kind: Kind;
  id: string;
  name: string;
  state: string;
  [field: string]: unknown;
}

/** The summary of a task in a process record (`utils.py:262-284`). */
export interface TaskSummary {
  id: string;
  creator: string;
  exec_state: string;
  start_date: string;
  end_date: string | null;
  image: string | null;
  name: string;
}

/** What a record needs beyond the entity itself. */
export interface ViewContext {
  organization(id: string): StoredEntity | undefined;
  resourcesOf(packageId: string): StoredEntity[];
  tasksOf(processId: string): TaskSummary[];
  /** A tool's images (see {@link Catalog.imagesOf}). */
  imagesOf(tool: StoredEntity): ImageTag[];
}

/** A Quay tag object, the shape stelar_client's `Image` dataclass takes (`sc:tool.py:47-70`). */
export interface ImageTag {
  name: string;
  reversion: boolean;
  start_ts: number;
  manifest_digest: string;
  is_manifest_list: boolean;
  size: number;
  last_modified: string;
}

/** An organization (`cutils.py:881-903`). */
export function organizationView(e: StoredEntity): Record<string, unknown> {
  return pick(e, [
    "approval_status",
    "created",
    "description",
    "extras",
    "id",
    "image_url",
    "is_organization",
    "name",
    "state",
    "title",
    "type",
  ]);
}

/** A resource (CKAN `resource_show`, every key kept, `cutils.py:378-402`). */
export function resourceView(e: StoredEntity): Record<string, unknown> {
  const { kind: _kind, ...record } = e;
  return record;
}

const PACKAGE_KEYS = [
  "id",
  "type",
  "name",
  "title",
  "notes",
  "url",
  "version",
  "author",
  "author_email",
  "maintainer",
  "maintainer_email",
  "license_id",
  "private",
  "state",
  "owner_org",
  "metadata_created",
  "metadata_modified",
  "creator_user_id",
  "tags",
  "extras",
  "groups",
];

/** A dataset, process or tool record. */
export function packageView(e: StoredEntity, ctx: ViewContext): Record<string, unknown> {
  const org = ctx.organization(e.owner_org as string);
  const record: Record<string, unknown> = {
    ...pick(e, PACKAGE_KEYS),
    organization: org ? organizationView(org) : null,
    resources: ctx.resourcesOf(e.id).map(resourceView),
  };
  if (e.kind === "dataset") record.spatial = e.spatial ?? null;
  if (e.kind === "process") {
    // `processes.py:400-405` filters these two out.
    delete record.license_id;
    delete record.creator_user_id;
    Object.assign(record, pick(e, ["creator", "exec_state", "start_date", "end_date", "workflow"]));
    record.tasks = ctx.tasksOf(e.id);
  }
  if (e.kind === "tool") {
    delete record.title;
    delete record.url;
    Object.assign(
      record,
      pick(e, ["git_repository", "programming_language", "inputs", "outputs", "parameters", "category", "profiles"]),
    );
    record.repository = e.name;
    record.images = ctx.imagesOf(e);
  }
  return record;
}

/**
 * A tool's images when the local KLMS has no registry. The platform lists its Quay repository's
 * tags; without one, a tool has the tags given in the seed (`images`), every tag its profiles
 * name, and `latest` when that leaves none, so that a task for a tool can always pick its default
 * image. With a registry (`registry` option), the registry's tags are the images instead.
 */
export function imagesWithoutRegistry(tool: StoredEntity): ImageTag[] {
  const names = new Set<string>();
  for (const image of (tool.images as Array<string | { name: string }> | undefined) ?? []) {
    names.add(typeof image === "string" ? image : image.name);
  }
  for (const profile of Object.values((tool.profiles as Record<string, { image?: string }>) ?? {})) {
    if (typeof profile?.image === "string") names.add(profile.image);
  }
  if (names.size === 0) names.add("latest");
  const created = Date.parse(`${tool.metadata_created as string}Z`);
  return [...names].map((name) => ({
    name,
    reversion: false,
    start_ts: Math.floor(created / 1000),
    manifest_digest: `sha256:${"0".repeat(64)}`,
    is_manifest_list: false,
    size: 0,
    last_modified: quayDate(new Date(created)),
  }));
}

/** Quay's date format, e.g. `Sun, 01 Jun 2025 19:45:45 -0000` (stelar_client parses the literal `-0000`). */
export function quayDate(date: Date): string {
  return date.toUTCString().replace("GMT", "-0000");
}

function pick(e: StoredEntity, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = e[key] ?? null;
  return out;
}
