/**
 * The client a KLMS command uses: KLMS_URL + KLMS_TOKEN when KLMS_TOKEN is set (CI), else the
 * session `klms-tool login` saved (its refreshed tokens saved back).
 */
import { KlmsClient } from "../client/index.js";
import { UsageError } from "./cluster-io.js";
import { readLogin, writeLogin } from "./credentials.js";

/** A connected client and where it points. */
export interface Connection {
  client: KlmsClient;
  url: string;
  /** The saved login's username; undefined for KLMS_TOKEN. */
  username?: string;
}

/** Connects as the environment or the saved login says; a {@link UsageError} when neither does. */
export async function connect(env: NodeJS.ProcessEnv): Promise<Connection> {
  if (env.KLMS_TOKEN) {
    if (!env.KLMS_URL)
      throw new UsageError("KLMS_TOKEN is set but KLMS_URL is not: set both (e.g. KLMS_URL=https://klms.example.org)");
    return { client: await KlmsClient.withToken(env.KLMS_URL, env.KLMS_TOKEN), url: env.KLMS_URL };
  }
  const saved = readLogin(env);
  if (!saved) throw new UsageError("not logged in: run `klms-tool login <url>` (or set KLMS_URL and KLMS_TOKEN)");
  const client = new KlmsClient({
    apiBase: saved.apiBase,
    session: saved.session,
    onRefresh: (session) => {
      writeLogin(env, { ...saved, session });
    },
  });
  return { client, url: saved.url, username: saved.username };
}
