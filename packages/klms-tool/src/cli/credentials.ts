/**
 * Where `klms-tool login` keeps a session: `$XDG_CONFIG_HOME/klms-tool/credentials.json` (default
 * `~/.config/klms-tool/`), the folder mode 0700 and the file 0600, written whole (temp file then
 * rename) so that a crash never leaves half a token. One KLMS at a time, as `apify login` keeps one.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { SessionTokens } from "../client/transport.js";

/** What the file holds. */
export interface SavedLogin {
  /** The URL the person gave. */
  url: string;
  /** Where the API answered under it (with `/stelar` on a public deployment). */
  apiBase: string;
  username: string;
  session: SessionTokens;
}

/** The credentials file's path for this environment. */
export function credentialsPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "klms-tool", "credentials.json");
}

/** The saved login, or undefined when there is none or it cannot be read (the commands then say to log in). */
export function readLogin(env: NodeJS.ProcessEnv): SavedLogin | undefined {
  let text: string;
  try {
    text = readFileSync(credentialsPath(env), "utf8");
  } catch {
    return undefined;
  }
  try {
    const saved = JSON.parse(text) as SavedLogin;
    return typeof saved?.session?.token === "string" && typeof saved.apiBase === "string" ? saved : undefined;
  } catch {
    return undefined;
  }
}

/** Saves a login, mode 0600 from its first byte. Returns the file's path. */
export function writeLogin(env: NodeJS.ProcessEnv, saved: SavedLogin): string {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync is masked by the umask and ignored for an existing file.
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}

/** Removes the saved login; true when there was one. */
export function removeLogin(env: NodeJS.ProcessEnv): boolean {
  const path = credentialsPath(env);
  try {
    readFileSync(path);
  } catch {
    return false;
  }
  rmSync(path, { force: true });
  return true;
}
