/**
 * Replays a recorded exchange with the local KLMS and compares the reply with the recorded one,
 * placeholder by placeholder (see normalize.mjs): a placeholder seen for the first time is bound
 * to what the reply holds there, and must hold the same value afterwards; requests are filled in
 * with the bound values. Everything else must be equal: the same keys at every level, the same
 * strings, booleans and nulls, numbers where numbers were.
 */

/** One request of the SDK and the reply it got. */
export interface Exchange {
  method: string;
  path: string;
  body?: unknown;
  status: number;
  reply: unknown;
  /** The SDK repeated this request (polling): replay it until the reply matches. */
  poll?: boolean;
}

/** What a placeholder of each kind stands for. */
const KINDS: Record<string, string> = {
  id: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
  sig: "[0-9a-f]{64}",
  pod: "task-[a-z0-9-]+",
  url: "http://127\\.0\\.0\\.1:\\d+",
  run: "[0-9a-f]{8}",
  // A naive timestamp, as the platform writes `datetime.isoformat()`: no Z, no offset.
  date: "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?(?![+Z\\d-])",
  httpdate: "[A-Z][a-z]{2}, \\d\\d [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d [-+]\\d{4}",
  active: "created|running",
  text: "[\\s\\S]*",
};
/** Kinds that vary from one reply to the next: checked, never bound. */
const UNBOUND = ["date", "httpdate", "active", "text"];
/** Any other placeholder ({token}, {jwt}, {key}…): a non-empty string. */
const ANY = "[\\s\\S]+";
const PLACEHOLDER = /\{([a-z_]+)(?::\d+)?\}/g;

/** The bindings of one replay. */
export class Replay {
  readonly bound: Map<string, string>;

  constructor(initial: Record<string, string>) {
    this.bound = new Map(Object.entries(initial).map(([k, v]) => [`{${k}}`, v]));
  }

  /** The request value with every placeholder replaced; throws on one not bound yet. */
  fill<T>(value: T): T {
    if (typeof value === "string") {
      return value.replace(PLACEHOLDER, (p) => {
        const v = this.bound.get(p);
        if (v === undefined) throw new Error(`${p} is used before any reply gave it a value`);
        return v;
      }) as T;
    }
    if (Array.isArray(value)) return value.map((v) => this.fill(v)) as T;
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.fill(k), this.fill(v)])) as T;
    }
    return value;
  }

  /**
   * The differences between the recorded reply and `actual`, as readable lines; bindings made on
   * the way are kept only when there are none.
   */
  compare(recorded: unknown, actual: unknown): string[] {
    const trial = new Replay({});
    for (const [k, v] of this.bound) trial.bound.set(k, v);
    const problems: string[] = [];
    trial.#match(recorded, actual, "reply", problems);
    if (problems.length === 0) for (const [k, v] of trial.bound) this.bound.set(k, v);
    return problems;
  }

  #match(recorded: unknown, actual: unknown, where: string, problems: string[]): void {
    if (recorded === "{number}") {
      if (typeof actual !== "number") problems.push(`${where}: a number expected, got ${JSON.stringify(actual)}`);
    } else if (typeof recorded === "string") {
      if (typeof actual !== "string" || !this.#matchString(recorded, actual)) {
        problems.push(`${where}: ${JSON.stringify(recorded)} expected, got ${JSON.stringify(actual)?.slice(0, 300)}`);
      }
    } else if (Array.isArray(recorded)) {
      if (!Array.isArray(actual) || actual.length !== recorded.length) {
        problems.push(`${where}: ${recorded.length} items expected, got ${JSON.stringify(actual)?.slice(0, 300)}`);
        return;
      }
      for (const [i, r] of recorded.entries()) this.#match(r, actual[i], `${where}[${i}]`, problems);
    } else if (recorded && typeof recorded === "object") {
      this.#matchObject(recorded as Record<string, unknown>, actual, where, problems);
    } else if (recorded !== actual) {
      problems.push(`${where}: ${JSON.stringify(recorded)} expected, got ${JSON.stringify(actual)?.slice(0, 300)}`);
    }
  }

  #matchObject(recorded: Record<string, unknown>, actual: unknown, where: string, problems: string[]): void {
    if (!actual || typeof actual !== "object" || Array.isArray(actual)) {
      problems.push(`${where}: an object expected, got ${JSON.stringify(actual)?.slice(0, 300)}`);
      return;
    }
    const left = new Set(Object.keys(actual));
    for (const [template, value] of Object.entries(recorded)) {
      // A key with placeholders (a pod name, an id) matches the first actual key of its form.
      const key = [...left].find((k) => this.#matchString(template, k));
      if (key === undefined) {
        problems.push(`${where}: key ${template} missing (keys: ${[...left].join(", ")})`);
        continue;
      }
      left.delete(key);
      this.#match(value, (actual as Record<string, unknown>)[key], `${where}.${key}`, problems);
    }
    for (const key of left) problems.push(`${where}: key ${key} not in the recorded reply`);
  }

  /** Matches a template against a string, binding its new placeholders. */
  #matchString(template: string, actual: string): boolean {
    const order: string[] = [];
    let pattern = "";
    let last = 0;
    for (const m of template.matchAll(PLACEHOLDER)) {
      pattern += escapeRegExp(template.slice(last, m.index));
      const kind = m[1] as string;
      const bound = this.bound.get(m[0]);
      if (bound !== undefined) pattern += escapeRegExp(bound);
      else if (UNBOUND.includes(kind)) pattern += `(?:${KINDS[kind]})`;
      else {
        pattern += `(${KINDS[kind] ?? ANY})`;
        order.push(m[0]);
      }
      last = (m.index ?? 0) + m[0].length;
    }
    pattern += escapeRegExp(template.slice(last));
    const found = new RegExp(`^${pattern}$`).exec(actual);
    if (!found) return false;
    for (const [i, name] of order.entries()) {
      const value = found[i + 1] as string;
      const before = this.bound.get(name);
      if (before !== undefined && before !== value) return false;
      this.bound.set(name, value);
    }
    return true;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
