/**
 * The seed file: a team's shared fixture of users and catalog entities (`klms-tool dev --seed
 * catalog.json`, `startLocalKlms({ seed })`). Each entity goes through the same schema as its
 * `POST` route; its id is the one given, else one derived from its kind and name, so the same
 * file gives the same ids on every machine and every start. Entities already in the data dir
 * (same id) are left as they are.
 *
 * ```json
 * {
 *   "users": [{ "username": "alice", "password": "alice-pw", "is_admin": false }],
 *   "organizations": [{ "name": "my-team" }],
 *   "datasets": [{ "name": "weather", "owner_org": "my-team",
 *                  "resources": [{ "name": "2024", "url": "s3://klms-bucket/weather/2024.csv",
 *                                  "format": "csv", "relation": "owned" }] }],
 *   "processes": [{ "name": "my-experiment" }],
 *   "tools": [{ "name": "my-tool", "profiles": { "default": { "image": "0.1.0" } } }]
 * }
 * ```
 */
import { readFileSync } from "node:fs";
import { isObject } from "klms-tool/internal";
import type { UserSpec } from "../accounts.js";
import { DEV_USERNAME, nameUuid } from "../auth.js";
import { ApiError } from "../envelope.js";
import { isCanonicalUuid } from "../schema.js";
import { type Catalog, DEFAULT_ORGANIZATION, type Kind } from "./catalog.js";

/** The seed file's content. */
export interface Seed {
  users?: UserSpec[];
  organizations?: Array<Record<string, unknown>>;
  datasets?: Array<Record<string, unknown>>;
  processes?: Array<Record<string, unknown>>;
  tools?: Array<Record<string, unknown>>;
}

const SECTIONS: Array<[keyof Seed, Kind]> = [
  ["organizations", "organization"],
  ["datasets", "dataset"],
  ["processes", "process"],
  ["tools", "tool"],
];

/** Reads a seed file; throws an Error naming the file and what is wrong. */
export function readSeed(file: string): Seed {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`seed file ${file}: ${(e as Error).message}`);
  }
  return checkSeedShape(value, file);
}

/** Checks the top-level shape of a seed (an object of arrays, known keys only). */
export function checkSeedShape(value: unknown, source = "seed"): Seed {
  if (!isObject(value))
    throw new Error(`${source}: must be a JSON object with users, organizations, datasets, processes, tools`);
  for (const [key, list] of Object.entries(value)) {
    if (!["users", ...SECTIONS.map(([k]) => k)].includes(key)) {
      throw new Error(`${source}: unknown key "${key}" (expected users, organizations, datasets, processes, tools)`);
    }
    if (!Array.isArray(list) || !list.every((item) => isObject(item)))
      throw new Error(`${source}: "${key}" must be a list of objects`);
  }
  return value as Seed;
}

/** Adds the seed's catalog entities that are not there yet (users are the accounts' business). */
export function applySeed(catalog: Catalog, seed: Seed, source = "seed"): void {
  for (const [section, kind] of SECTIONS) {
    ((seed[section] ?? []) as Array<Record<string, unknown>>).forEach((entry, index) => {
      const where = `${source}: ${section}[${index}]`;
      try {
        seedEntity(catalog, kind, entry);
      } catch (e) {
        throw new Error(`${where}: ${describe(e)}`);
      }
    });
  }
}

function seedEntity(catalog: Catalog, kind: Kind, entry: Record<string, unknown>): void {
  const { id, resources, images, exec_state, ...body } = entry;
  if (typeof body.name !== "string") throw new Error('"name" is required');
  const entityId = idOf(id, `${kind}:${body.name}`);
  if (catalog.find(entityId)) return;
  // The API requires `owner_org` for packages; a seed may leave it to the default organization.
  if (kind !== "organization") body.owner_org ??= DEFAULT_ORGANIZATION;
  const extra: Record<string, unknown> = {};
  if (kind === "tool" && images !== undefined) {
    if (!Array.isArray(images) || !images.every((i) => typeof i === "string")) {
      throw new Error('"images" must be a list of image tags, e.g. ["0.1.0", "latest"]');
    }
    extra.images = images;
  }
  const entity = catalog.create(kind, body, DEV_USERNAME, { id: entityId, extra });
  if (kind === "process" && exec_state !== undefined && exec_state !== "running") {
    catalog.modify("process", entity.id, { exec_state }, "patch");
  }
  if (resources === undefined) return;
  if (!Array.isArray(resources) || !resources.every(isObject)) throw new Error('"resources" must be a list of objects');
  resources.forEach((resource, index) => {
    const { id: rid, ...rbody } = resource;
    const resourceId = idOf(rid, `resource:${entity.name}:${(rbody.name as string | undefined) ?? index}`);
    try {
      catalog.create("resource", { ...rbody, package_id: entity.id }, DEV_USERNAME, { id: resourceId });
    } catch (e) {
      throw new Error(`resources[${index}]: ${describe(e)}`);
    }
  });
}

function idOf(given: unknown, name: string): string {
  if (given === undefined) return nameUuid(name);
  if (!isCanonicalUuid(given)) throw new Error(`"id" must be a lowercase UUID, got ${JSON.stringify(given)}`);
  return given;
}

function describe(e: unknown): string {
  if (e instanceof ApiError) {
    const json = e.detail.json ?? e.detail.extra ?? e.detail;
    return `${e.message} ${JSON.stringify(json)}`;
  }
  return (e as Error).message;
}
