/**
 * The object store the KLMS commands upload to and download from: the one `/help` names
 * (`s3_api`), with the user's credentials (see `s3Credentials`: the AWS variables, else STS).
 * A store behind a private CA (e.g. `klms-tool dev` with TLS) is trusted through
 * NODE_EXTRA_CA_CERTS, set before node starts, as its banner says.
 */
import type { KlmsClient } from "../client/index.js";
import { minioSettings } from "../contract/minio.js";
import { createStorage, type Storage } from "../storage/storage.js";

/** A {@link Storage} on the KLMS's object store for this user; close() it when done. */
export async function objectStorage(client: KlmsClient, env: NodeJS.ProcessEnv): Promise<Storage> {
  const s3 = await client.s3(env);
  const block = { endpoint_url: s3.endpoint, id: s3.accessKeyId, key: s3.secretAccessKey, skey: s3.sessionToken };
  return createStorage(minioSettings(block, { prefer: "external", env }));
}
