/**
 * Registry credentials as Quay keeps them: app-specific tokens of a user (`POST /api/v1/user/apptoken`,
 * the platform's `qutils.py:146-204`), each `{uuid, title, created, expiration, last_accessed}`,
 * kept in `<dataDir>/registry-tokens.json` (crash-safe). Their `token_code` is not stored: the
 * local registry has one account (htpasswd), whose password every token carries (see
 * routes/registry.ts).
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { quayDate } from "../catalog/views.js";
import { writeFileDurably } from "../records.js";

/** One token's metadata, as Quay shows it (dates in Quay's format). */
export interface AppToken {
  uuid: string;
  title: string;
  created: string;
  expiration: string | null;
  last_accessed: string | null;
}

interface Stored extends AppToken {
  owner: string;
}

/** The app tokens of every user of one local KLMS. */
export class AppTokens {
  readonly #file: string;
  #tokens: Stored[];

  /** Loads `<dataDir>/registry-tokens.json` (a file that cannot be read is replaced, with a warning). */
  constructor(dataDir: string, warn: (message: string) => void) {
    this.#file = join(dataDir, "registry-tokens.json");
    this.#tokens = [];
    if (!existsSync(this.#file)) return;
    try {
      const parsed = JSON.parse(readFileSync(this.#file, "utf8")) as unknown;
      if (Array.isArray(parsed)) this.#tokens = parsed as Stored[];
    } catch (error) {
      warn(`${this.#file} cannot be read (${(error as Error).message}): the registry credentials start empty`);
    }
  }

  /** The user's tokens, oldest first. */
  list(owner: string): AppToken[] {
    return this.#tokens.filter((t) => t.owner === owner).map(strip);
  }

  /** The user's token with this uuid, or undefined. */
  get(owner: string, uuid: string): AppToken | undefined {
    const found = this.#tokens.find((t) => t.owner === owner && t.uuid === uuid);
    return found && strip(found);
  }

  /** A new token of the user (no expiration, never used). */
  create(owner: string, title: string): AppToken {
    const token: Stored = {
      owner,
      uuid: randomUUID(),
      title,
      created: quayDate(new Date()),
      expiration: null,
      last_accessed: null,
    };
    this.#tokens = [...this.#tokens, token];
    this.#save();
    return strip(token);
  }

  /** Removes the user's token; false when it has none with this uuid. */
  revoke(owner: string, uuid: string): boolean {
    const kept = this.#tokens.filter((t) => !(t.owner === owner && t.uuid === uuid));
    if (kept.length === this.#tokens.length) return false;
    this.#tokens = kept;
    this.#save();
    return true;
  }

  #save(): void {
    writeFileDurably(this.#file, `${JSON.stringify(this.#tokens, null, 1)}\n`);
  }
}

function strip(token: Stored): AppToken {
  const { owner: _owner, ...rest } = token;
  return { ...rest };
}
