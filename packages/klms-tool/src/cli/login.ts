/**
 * `klms-tool login [<url>]`, `logout`, `whoami`: a session with a KLMS, kept in the user's config
 * folder (see credentials.ts). The password is read from a terminal without echo, or from standard
 * input with `--password-stdin`; it is sent once for a token and never stored.
 */
import { createInterface } from "node:readline/promises";
import type { Readable, Writable } from "node:stream";
import { login, resolveApiBase } from "../client/auth.js";
import { KlmsClient } from "../client/index.js";
import { ExitCode } from "../exit-codes.js";
import { type ClusterIO, clusterStreams, guarded, parseFor, say, sayJson, UsageError } from "./cluster-io.js";
import { credentialsPath, readLogin, removeLogin, writeLogin } from "./credentials.js";
import { connect } from "./session.js";

const LOGIN_HELP = `usage: klms-tool login [<url>] [--username <name>] [--password-stdin] [--json]

Logs in to a KLMS and keeps the session (token and refresh token, never the password) in
$XDG_CONFIG_HOME/klms-tool/credentials.json (default ~/.config/klms-tool/), mode 0600.
The other KLMS commands (whoami, task …) use it and refresh its token before it expires.

<url> is the KLMS's address, e.g. https://klms.example.org (its API under /stelar is found by
itself) or the local KLMS of \`klms-tool dev\` (http://127.0.0.1:8080); default: KLMS_URL.
On a terminal the username and password are asked for; otherwise give --username and the
password on standard input with --password-stdin:
  printf %s "$PASSWORD" | klms-tool login https://klms.example.org --username alice --password-stdin

In CI there is no need to log in: set KLMS_URL and KLMS_TOKEN (a token of the Data API), which
every command uses instead of the saved session.
Next, in a tool project: klms-tool publish (its image and catalog entry), then
klms-tool task run <tool> --follow.

options:
  --username <name>   the user (default: asked on a terminal)
  --password-stdin    read the password from standard input
  --json              print {url, apiBase, username, credentials} instead of a sentence`;

const LOGOUT_HELP = `usage: klms-tool logout [--json]

Forgets the session \`klms-tool login\` saved (removes its credentials file).
The token stays valid on the server until it expires.`;

const WHOAMI_HELP = `usage: klms-tool whoami [--json]

Prints the user and the KLMS the commands act as: the KLMS_URL/KLMS_TOKEN of the environment
when KLMS_TOKEN is set, else the saved login (asking the KLMS, GET /api/v1/users/me).
Exits 1 when the token is refused, 2 when there is no login.`;

/** `klms-tool login`. */
export const loginCommand = {
  name: "login",
  summary: "log in to a KLMS (session kept in ~/.config/klms-tool, mode 0600)",
  help: LOGIN_HELP,
  async run(argv: string[], cio?: ClusterIO): Promise<number> {
    const io = clusterStreams(cio);
    const args = parseFor(
      argv,
      { username: { type: "string" }, "password-stdin": { type: "boolean" }, json: { type: "boolean" } },
      LOGIN_HELP,
      { min: 0, max: 1 },
      io,
    );
    if ("exit" in args) return args.exit;
    return guarded(io, async () => {
      const url = args.positionals[0] ?? io.env.KLMS_URL;
      if (!url)
        throw new UsageError("which KLMS? give its URL (klms-tool login https://klms.example.org) or set KLMS_URL");
      const { apiBase } = await resolveApiBase(url);
      const terminal = Boolean((io.stdin as { isTTY?: boolean }).isTTY);
      const username =
        (args.values.username as string | undefined) ??
        (terminal ? await ask(io.stdin, io.stderr, "Username: ") : undefined);
      if (!username) throw new UsageError("no username: give --username (standard input is not a terminal)");
      let password: string;
      if (args.values["password-stdin"]) password = (await readAll(io.stdin)).replace(/\r?\n$/, "");
      else if (terminal) password = await askHidden(io.stdin, io.stderr, "Password: ");
      else
        throw new UsageError(
          "no password: give it on standard input with --password-stdin (standard input is not a terminal)",
        );
      const session = await login(apiBase, username, password);
      const client = new KlmsClient({ apiBase, session });
      const me = await client.me();
      const path = writeLogin(io.env, { url, apiBase, username: me.username, session });
      if (args.values.json) sayJson(io.stdout, { url, apiBase, username: me.username, credentials: path });
      else say(io.stdout, `Logged in to ${url} as ${me.username} (session saved in ${path})`);
      return ExitCode.Success;
    });
  },
};

/** `klms-tool logout`. */
export const logoutCommand = {
  name: "logout",
  summary: "forget the saved KLMS session",
  help: LOGOUT_HELP,
  async run(argv: string[], cio?: ClusterIO): Promise<number> {
    const io = clusterStreams(cio);
    const args = parseFor(argv, { json: { type: "boolean" } }, LOGOUT_HELP, { min: 0, max: 0 }, io);
    if ("exit" in args) return args.exit;
    const saved = readLogin(io.env);
    const removed = removeLogin(io.env);
    if (args.values.json) sayJson(io.stdout, { loggedOut: removed, url: saved?.url ?? null });
    else
      say(
        io.stdout,
        removed
          ? `Logged out${saved ? ` of ${saved.url}` : ""} (removed ${credentialsPath(io.env)})`
          : "Not logged in.",
      );
    return ExitCode.Success;
  },
};

/** `klms-tool whoami`. */
export const whoamiCommand = {
  name: "whoami",
  summary: "the user and KLMS the commands act as",
  help: WHOAMI_HELP,
  async run(argv: string[], cio?: ClusterIO): Promise<number> {
    const io = clusterStreams(cio);
    const args = parseFor(argv, { json: { type: "boolean" } }, WHOAMI_HELP, { min: 0, max: 0 }, io);
    if ("exit" in args) return args.exit;
    return guarded(io, async () => {
      const { client, url } = await connect(io.env);
      const me = await client.me();
      const source = io.env.KLMS_TOKEN ? "KLMS_TOKEN" : "login";
      if (args.values.json)
        sayJson(io.stdout, { username: me.username, url, apiBase: client.transport.apiBase, source });
      else say(io.stdout, `${me.username} on ${url}${source === "KLMS_TOKEN" ? " (KLMS_TOKEN)" : ""}`);
      return ExitCode.Success;
    });
  },
};

async function ask(input: Readable, output: Writable, question: string): Promise<string> {
  const rl = createInterface({ input, output, terminal: true });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** Reads a line from a terminal without echoing it (raw mode: the terminal echoes nothing, we print nothing). */
function askHidden(input: Readable, output: Writable, question: string): Promise<string> {
  output.write(question);
  const tty = input as Readable & { setRawMode?: (raw: boolean) => void };
  tty.setRawMode?.(true);
  let answer = "";
  return new Promise<string>((resolve, reject) => {
    const done = (error?: Error) => {
      input.off("data", onData);
      input.off("end", onEnd);
      tty.setRawMode?.(false);
      input.pause();
      output.write("\n");
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done();
        if (ch === "\u0003") return done(new UsageError("login cancelled"));
        if (ch === "\u007f" || ch === "\b") answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    // The terminal closed before Enter: no password.
    const onEnd = () => done(new UsageError("no password: standard input ended"));
    input.on("data", onData);
    input.once("end", onEnd);
    input.resume();
  });
}

async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}
