/**
 * S3 credentials for a user, as stelar_client's `c.s3` gets them (`sc:s3.py:14-31`, platform-api
 * §5): `AssumeRoleWithWebIdentity` at the `/help`'s `s3_api` with the user's API token; or the
 * standard AWS variables when they are set (a store that has no STS, e.g. a local one with static keys).
 */
import { type FetchLike, httpFetch } from "../platform/http.js";
import { KlmsApiError } from "./errors.js";

/** Credentials for the KLMS object store. */
export interface S3Credentials {
  /** The object store's URL (from `/help`'s `s3_api`). */
  endpoint: string;
  /** The access key id (a secret). */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** The STS session token, for temporary credentials. */
  sessionToken?: string;
}

/**
 * The credentials for `endpoint`: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 * when set, else an STS call with `token` (valid `durationSeconds`, default 3600). Throws a
 * {@link KlmsApiError} naming the endpoint when the store refuses.
 */
export async function s3Credentials(
  endpoint: string,
  token: string,
  options: { env?: NodeJS.ProcessEnv; durationSeconds?: number; fetch?: FetchLike } = {},
): Promise<S3Credentials> {
  const env = options.env ?? process.env;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    const c: S3Credentials = {
      endpoint,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    };
    if (env.AWS_SESSION_TOKEN) c.sessionToken = env.AWS_SESSION_TOKEN;
    return c;
  }
  const url = new URL(endpoint);
  url.pathname = "/";
  const query = {
    Action: "AssumeRoleWithWebIdentity",
    Version: "2011-06-15",
    DurationSeconds: String(options.durationSeconds ?? 3600),
    WebIdentityToken: token,
  };
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const request = `POST ${url.origin}/?Action=AssumeRoleWithWebIdentity`;
  let status: number;
  let text: string;
  try {
    const reply = await (options.fetch ?? httpFetch)(url.href, { method: "POST", signal: AbortSignal.timeout(30_000) });
    status = reply.status;
    text = await reply.text();
  } catch (error) {
    // A reply came, but its certificate is not trusted: say so, not "no reply" (attack5 F13).
    const code = String((error as NodeJS.ErrnoException).code ?? "");
    const untrusted = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/.test(code);
    throw new KlmsApiError({
      status: 0,
      code: "NetworkError",
      message: untrusted
        ? `the object store ${url.origin}'s TLS certificate is not trusted (${code}): give its CA (NODE_EXTRA_CA_CERTS=<ca.pem>)`
        : `no reply from the object store ${url.origin}`,
      request,
      cause: error,
    });
  }
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  const accessKeyId = field("AccessKeyId");
  const secretAccessKey = field("SecretAccessKey");
  if (status < 200 || status > 299 || !accessKeyId || !secretAccessKey) {
    throw new KlmsApiError({
      status,
      code: field("Code") ?? "BadReply",
      message: `the object store gave no credentials${field("Message") ? `: ${field("Message")}` : ""} (or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`,
      request,
    });
  }
  const c: S3Credentials = { endpoint, accessKeyId, secretAccessKey };
  const sessionToken = field("SessionToken");
  if (sessionToken) c.sessionToken = sessionToken;
  return c;
}
