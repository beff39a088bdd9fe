/**
 * The catalog's input schemas, field by field as the platform declares them (marshmallow):
 * organization (`cutils.py:849-922`), dataset (`PackageSchema` + `spatial`, `schema.py`),
 * process (`WorkflowProcessSchema`, `processes.py:92-136`), tool (`ToolSchema`, `tools.py:46-69`),
 * resource (`ResourceSchema`, `cutils.py:352-402`).
 */
import { CATALOG_NAME } from "klms-tool/contract";
import type { Schema } from "../schema.js";

/** The entity kinds the local catalog keeps. */
export type Kind = "organization" | "dataset" | "process" | "tool" | "resource";

/** CKAN's name rule as the API checks it (`NameID`): 2-100 of a-z, 0-9, _ and -; written once, in klms-tool/contract. */
export const NAME_ID = CATALOG_NAME;

const PACKAGE_DUMP_ONLY: Schema = {
  id: { type: "raw", dumpOnly: true },
  metadata_created: { type: "raw", dumpOnly: true },
  metadata_modified: { type: "raw", dumpOnly: true },
  creator_user_id: { type: "raw", dumpOnly: true },
  author: { type: "raw", dumpOnly: true },
  author_email: { type: "raw", dumpOnly: true },
  resources: { type: "raw", dumpOnly: true },
  groups: { type: "raw", dumpOnly: true },
};

const PACKAGE_COMMON: Schema = {
  name: { type: "string", required: true, pattern: NAME_ID },
  owner_org: { type: "string", required: true },
  state: { type: "string", oneOf: ["active", "deleted"] },
  private: { type: "boolean" },
  maintainer: { type: "string", nullable: true },
  maintainer_email: { type: "string", nullable: true },
  version: { type: "string", nullable: true, maxLength: 100 },
  license_id: { type: "string", nullable: true },
  tags: { type: "list", items: "string" },
  extras: { type: "dict" },
};

/** Input schema per kind. */
export const SCHEMAS: Record<Kind, Schema> = {
  organization: {
    name: { type: "string", required: true, pattern: NAME_ID },
    state: { type: "string", oneOf: ["draft", "active", "deleted"] },
    title: { type: "string", nullable: true },
    description: { type: "string", nullable: true },
    image_url: { type: "string", nullable: true },
    type: { type: "string", oneOf: ["group", "organization"] },
    approval_status: { type: "string", oneOf: ["approved", "pending", "rejected"] },
    extras: { type: "dict" },
    id: { type: "raw", dumpOnly: true },
    created: { type: "raw", dumpOnly: true },
    is_organization: { type: "raw", dumpOnly: true },
  },
  dataset: {
    ...PACKAGE_COMMON,
    ...PACKAGE_DUMP_ONLY,
    type: { type: "string", oneOf: ["dataset"] },
    title: { type: "string", nullable: true },
    notes: { type: "string", nullable: true, maxLength: 10000 },
    url: { type: "string", nullable: true, maxLength: 2000 },
    spatial: { type: "raw", nullable: true },
  },
  process: {
    name: { type: "string" },
    owner_org: { type: "string", required: true },
    state: { type: "string", oneOf: ["active", "deleted"] },
    exec_state: { type: "string", oneOf: ["running", "failed", "succeeded"] },
    workflow: { type: "uuid", nullable: true },
    private: { type: "boolean" },
    tags: { type: "list", items: "string" },
    extras: { type: "dict" },
    title: { type: "string", nullable: true },
    author: { type: "string", nullable: true },
    author_email: { type: "string", nullable: true },
    maintainer: { type: "string", nullable: true },
    maintainer_email: { type: "string", nullable: true },
    notes: { type: "string", nullable: true, maxLength: 10000 },
    url: { type: "string", nullable: true, maxLength: 200 },
    version: { type: "string", nullable: true, maxLength: 100 },
    id: { type: "raw", dumpOnly: true },
    metadata_created: { type: "raw", dumpOnly: true },
    metadata_modified: { type: "raw", dumpOnly: true },
    creator_user_id: { type: "raw", dumpOnly: true },
    type: { type: "raw", dumpOnly: true },
    creator: { type: "raw", dumpOnly: true },
    start_date: { type: "raw", dumpOnly: true },
    end_date: { type: "raw", dumpOnly: true },
    organization: { type: "raw", dumpOnly: true },
  },
  tool: {
    ...PACKAGE_COMMON,
    ...PACKAGE_DUMP_ONLY,
    type: { type: "string", oneOf: ["tool"] },
    notes: { type: "string", nullable: true, maxLength: 20000 },
    programming_language: { type: "string", nullable: true },
    git_repository: { type: "string", nullable: true },
    inputs: { type: "dict" },
    outputs: { type: "dict" },
    parameters: { type: "dict" },
    category: { type: "string", nullable: true, oneOf: ["discovery", "interlinking", "annotation", "other"] },
    profiles: { type: "dict" },
    images: { type: "raw", dumpOnly: true },
    repository: { type: "raw", dumpOnly: true },
  },
  resource: {
    package_id: { type: "uuid", required: true },
    url: { type: "string", nullable: true },
    format: { type: "string", nullable: true },
    name: { type: "string", nullable: true },
    description: { type: "string", nullable: true },
    hash: { type: "string", nullable: true },
    mimetype: { type: "string", nullable: true },
    mimetype_inner: { type: "string", nullable: true },
    cache_url: { type: "string", nullable: true },
    resource_type: { type: "string", nullable: true, oneOf: ["file", "api", "service"] },
    size: { type: "integer", nullable: true },
    last_modified: { type: "string", nullable: true },
    cache_last_updated: { type: "string", nullable: true },
  },
};

/** Keys of a tool profile (`JobProfileSchema`, `execution/job.py:47-110`). */
export const PROFILE_SCHEMA: Schema = {
  image: { type: "string", minLength: 1 },
  description: { type: "string", nullable: true },
  image_pull_policy: { type: "string", nullable: true, oneOf: ["Always", "IfNotPresent", "Never"] },
  image_pull_secrets: { type: "list", nullable: true, items: "string" },
  cpu_request: { type: "string", nullable: true },
  cpu_limit: { type: "string", nullable: true },
  memory_request: { type: "string", nullable: true },
  memory_limit: { type: "string", nullable: true },
  ephemeral_storage_request: { type: "string", nullable: true },
  ephemeral_storage_limit: { type: "string", nullable: true },
  backoff_limit: { type: "integer", nullable: true, min: 0, max: 10 },
  restart_policy: { type: "string", nullable: true, oneOf: ["Always", "OnFailure", "Never"] },
  ttl_seconds_after_finished: { type: "integer", nullable: true },
};
