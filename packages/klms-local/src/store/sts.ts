/**
 * STS on the S3 origin, as MinIO serves it: `POST /?Action=AssumeRoleWithWebIdentity&
 * WebIdentityToken=<JWT>&Version=2011-06-15[&DurationSeconds=N]` (query or form body, no
 * signature) mints temporary credentials for the token's user. The platform mints every task's
 * `minio` block this way (data-api mutils.py:33-111), and stelar_client's minio-py
 * WebIdentityProvider posts here (sc:s3.py:14-31). Replies follow AWS STS's XML.
 */
import { randomBytes } from "node:crypto";
import { type CredentialIssuer, MAX_DURATION_SECONDS, MIN_DURATION_SECONDS } from "./credentials.js";
import { el, escapeXml, xmlDocument } from "./xml.js";

/** AWS STS's XML namespace; clients (minio-py, the Data API) look up elements in it. */
export const STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";

/** Checks a web identity token; undefined when it is not valid (bad signature, expired). */
export type WebIdentityVerifier = (jwt: string) => { username: string; exp: number } | undefined;

/** An STS reply: status and XML body. */
export interface StsReply {
  status: number;
  body: string;
}

/** Default lifetime when DurationSeconds is absent (AWS: 1 h). */
export const DEFAULT_DURATION_SECONDS = 3600;

/** Answers one STS call whose parameters are `params` (query and form body merged). */
export function answerSts(
  params: Map<string, string>,
  issuer: CredentialIssuer,
  verify: WebIdentityVerifier | undefined,
): StsReply {
  const requestId = randomBytes(8).toString("hex").toUpperCase();
  const action = params.get("Action");
  if (action !== "AssumeRoleWithWebIdentity") {
    return stsError(
      400,
      "InvalidAction",
      `The action ${action ?? "(none)"} is not supported by this store; use AssumeRoleWithWebIdentity.`,
      requestId,
    );
  }
  if (params.get("Version") !== "2011-06-15") {
    return stsError(400, "InvalidParameterValue", "Version must be 2011-06-15.", requestId);
  }
  const jwt = params.get("WebIdentityToken");
  if (!jwt) return stsError(400, "MissingParameter", "A WebIdentityToken is required.", requestId);
  const durationText = params.get("DurationSeconds");
  const duration = durationText === undefined ? DEFAULT_DURATION_SECONDS : Number(durationText);
  if (!Number.isInteger(duration) || duration < MIN_DURATION_SECONDS || duration > MAX_DURATION_SECONDS) {
    return stsError(
      400,
      "InvalidParameterValue",
      `DurationSeconds must be an integer from ${MIN_DURATION_SECONDS} to ${MAX_DURATION_SECONDS}.`,
      requestId,
    );
  }
  const identity = verify?.(jwt);
  if (!identity) {
    return stsError(
      400,
      "InvalidIdentityToken",
      "The web identity token that was passed could not be validated (not a token of this local KLMS, or expired). Get a new one and retry.",
      requestId,
    );
  }
  const creds = issuer.mint(identity.username, duration);
  const result = el("AssumeRoleWithWebIdentityResult", [
    el("AssumedRoleUser", [
      el("Arn", `arn:aws:sts:::assumed-role/klms-local/${identity.username}`),
      el("AssumedRoleId", creds.accessKeyId),
    ]),
    el("Credentials", [
      el("AccessKeyId", creds.accessKeyId),
      el("SecretAccessKey", creds.secretAccessKey),
      el("SessionToken", creds.sessionToken),
      el("Expiration", creds.expiration.toISOString().replace(/\.\d{3}Z$/, "Z")),
    ]),
    el("SubjectFromWebIdentityToken", identity.username),
  ]);
  const meta = el("ResponseMetadata", [el("RequestId", requestId)]);
  return { status: 200, body: xmlDocument("AssumeRoleWithWebIdentityResponse", [result, meta], STS_NAMESPACE) };
}

function stsError(status: number, code: string, message: string, requestId: string): StsReply {
  const error = `<Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  return { status, body: xmlDocument("ErrorResponse", [error, el("RequestId", requestId)], STS_NAMESPACE) };
}
