/**
 * Tool images read from the local registry, for the catalog's synchronous views: the routes that
 * show a tool or pick its image (tool records, task creation, the console) first refresh this
 * cache from the registry, as the platform asks Quay on every tool it loads (`tools.py:111-123`).
 */
import type { ImageTag } from "../catalog/views.js";
import type { OciRegistry } from "./oci.js";

/** The `stelar/` repositories' tags as last read. */
export class RegistryImages {
  readonly #registry: OciRegistry;
  readonly #log: (line: string) => void;
  #tags = new Map<string, ImageTag[]>();

  constructor(registry: OciRegistry, log: (line: string) => void) {
    this.#registry = registry;
    this.#log = log;
  }

  /** The tags of `stelar/<repository>` as last read; undefined when the registry had no such repository. */
  tags(repository: string): ImageTag[] | undefined {
    return this.#tags.get(repository);
  }

  /**
   * Reads every repository's tags again. A registry that cannot be read leaves the last tags in
   * place and logs why, as the platform keeps a tool without Quay's images when Quay fails.
   */
  async refresh(): Promise<void> {
    try {
      const next = new Map<string, ImageTag[]>();
      for (const repository of await this.#registry.repositories()) {
        const tags = await this.#registry.tags(repository);
        if (tags) next.set(repository, tags);
      }
      this.#tags = next;
    } catch (error) {
      this.#log(`image registry: ${(error as Error).message}`);
    }
  }
}
