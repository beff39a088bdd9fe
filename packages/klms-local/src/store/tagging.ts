/**
 * Object tags (S3's PutObjectTagging, GetObjectTagging, DeleteObjectTagging and the
 * `x-amz-tagging` header of PutObject): at most 10 tags, keys 1-128 and values 0-256 UTF-16
 * characters, keys unique (S3's limits, as MinIO checks them in internal/bucket/tags). Tags are
 * kept in the object's metadata (disk.ts `ObjectMeta.tags`).
 */
import type { ObjectMeta } from "./disk.js";
import { S3Error, s3Errors } from "./errors.js";
import type { S3Call } from "./objects.js";
import { send } from "./objects.js";
import { el, textsOf, unescapeXml, xmlDocument } from "./xml.js";

/** S3's most tags on one object. */
const MAX_TAGS = 10;

function invalidTag(why: string): S3Error {
  return new S3Error("InvalidTag", 400, why);
}

/** Checks tags against S3's limits; throws InvalidTag naming the rule broken. */
export function checkTags(tags: [string, string][]): Record<string, string> {
  if (tags.length > MAX_TAGS) throw invalidTag(`An object can have at most ${MAX_TAGS} tags.`);
  const out: Record<string, string> = {};
  for (const [key, value] of tags) {
    if (key.length < 1 || key.length > 128) throw invalidTag("A tag key must be 1 to 128 characters long.");
    if (value.length > 256) throw invalidTag("A tag value must be at most 256 characters long.");
    if (Object.hasOwn(out, key)) throw invalidTag("Cannot provide multiple Tags with the same key.");
    out[key] = value;
  }
  return out;
}

/** The tags of an `x-amz-tagging` header (URL query form, `k1=v1&k2=v2`); undefined without one. */
export function tagsOfHeader(header: string | string[] | undefined): Record<string, string> | undefined {
  if (typeof header !== "string") return undefined;
  return checkTags([...new URLSearchParams(header)]);
}

/** The tags of a `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>` body. */
function tagsOfXml(xml: string): Record<string, string> {
  if (!/<Tagging[\s>]/.test(xml) || textsOf(xml, "TagSet").length !== 1) throw s3Errors.malformedXml();
  const pairs = textsOf(xml, "Tag").map((tag): [string, string] => {
    const key = textsOf(tag, "Key");
    const value = textsOf(tag, "Value");
    if (key.length !== 1 || value.length > 1) throw s3Errors.malformedXml();
    return [unescapeXml(key[0] as string), unescapeXml(value[0] ?? "")];
  });
  return checkTags(pairs);
}

/** `x-amz-tagging-count` for GET/HEAD of an object with tags. */
export function tagCountHeader(meta: ObjectMeta): Record<string, string> {
  const count = Object.keys(meta.tags ?? {}).length;
  return count > 0 ? { "x-amz-tagging-count": String(count) } : {};
}

/** PUT, GET or DELETE /bucket/key?tagging. */
export async function objectTagging(call: S3Call): Promise<void> {
  const { disk, bucket, key, res } = call;
  disk.head(bucket, key);
  switch (call.req.method) {
    case "GET": {
      const tags = Object.entries(disk.head(bucket, key).tags ?? {}).map(([k, v]) =>
        el("Tag", [el("Key", k), el("Value", v)]),
      );
      return send(res, 200, xmlDocument("Tagging", [el("TagSet", tags)]));
    }
    case "PUT": {
      const tags = tagsOfXml(await call.smallBody());
      await disk.setTags(bucket, key, tags);
      return send(res, 200);
    }
    case "DELETE":
      await disk.setTags(bucket, key, {});
      return send(res, 204);
    default:
      throw s3Errors.methodNotAllowed();
  }
}
