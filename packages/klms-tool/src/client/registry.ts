/**
 * Registry credentials (`routes/workflows.py:74-200`, `qutils.py:146-204`): app tokens of the
 * KLMS image registry (Quay) for pushing a tool's image. The platform answers them with Quay's
 * token objects; `token_code` is the password and is never to be printed.
 */
import type { Transport } from "./transport.js";

/** A registry token's metadata (dates like `Sun, 01 Jun 2025 19:45:45 -0000`). */
export interface RegistryToken {
  /** The title given at creation. */
  title: string;
  /** When it was created (ISO 8601). */
  created?: string;
  /** When it expires (ISO 8601); null: never. */
  expiration?: string | null;
  /** When the registry last accepted it (ISO 8601); null: never used. */
  last_accessed?: string | null;
}

/** The routes of `/api/v2/registry/credentials`. */
export class RegistryCredentials {
  constructor(private readonly transport: Transport) {}

  /** Token id → metadata. */
  list(): Promise<Record<string, RegistryToken>> {
    return this.transport.call("GET", "/api/v2/registry/credentials");
  }

  /** A new token; its `token_code` is the registry password (shown once). */
  create(title: string): Promise<RegistryToken & { id: string; token_code: string }> {
    return this.transport.call("POST", "/api/v2/registry/credentials", { body: { title } });
  }

  /** One token by id (its `token_code` only when the platform still shows it). */
  get(id: string): Promise<RegistryToken & { uuid: string; token_code?: string }> {
    return this.transport.call("GET", `/api/v2/registry/credentials/${encodeURIComponent(id)}`);
  }

  /** Revokes a token. */
  async delete(id: string): Promise<void> {
    await this.transport.call("DELETE", `/api/v2/registry/credentials/${encodeURIComponent(id)}`);
  }
}
