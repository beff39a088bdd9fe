/**
 * Object ACLs, as MinIO answers them: the store has one owner and no grants, so GetObjectAcl
 * always shows the owner with FULL_CONTROL (canned `private`), and PutObjectAcl accepts only
 * what changes nothing — the canned `private` ACL (`x-amz-acl: private`, or no header and no
 * body), or a body granting the owner FULL_CONTROL alone (minio cmd/acl-handlers.go). Anything
 * else is 501 NotImplemented; the object is never touched.
 */
import { s3Errors } from "./errors.js";
import type { S3Call } from "./objects.js";
import { send } from "./objects.js";
import { el, textsOf, xmlDocument } from "./xml.js";

const OWNER_ID = "klms-local";

/** GET or PUT /bucket/key?acl. */
export async function objectAcl(call: S3Call): Promise<void> {
  const { disk, bucket, key, req, res } = call;
  disk.head(bucket, key);
  if (req.method === "GET") {
    const owner = [el("ID", OWNER_ID), el("DisplayName", OWNER_ID)];
    const grantee = `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${owner.join("")}</Grantee>`;
    const grant = el("Grant", [grantee, el("Permission", "FULL_CONTROL")]);
    return send(res, 200, xmlDocument("AccessControlPolicy", [el("Owner", owner), el("AccessControlList", [grant])]));
  }
  if (req.method !== "PUT") throw s3Errors.methodNotAllowed();
  const canned = req.headers["x-amz-acl"];
  const body = await call.smallBody();
  if (canned !== undefined) {
    if (canned !== "private") throw s3Errors.notImplemented();
    return send(res, 200);
  }
  if (body.trim() === "") return send(res, 200);
  const grants = textsOf(body, "Grant");
  if (grants.length !== 1 || textsOf(grants[0] as string, "Permission")[0] !== "FULL_CONTROL") {
    throw s3Errors.notImplemented();
  }
  send(res, 200);
}
