/**
 * The Data API routes a task uses, built from the entrypoint's arguments. Two generations exist:
 * v2 (4 arguments, the signature in the path) is what the platform speaks today; v1 (3 arguments,
 * no signature) is the Python template's form, kept so that template-era images keep working.
 */

/** Which generation of task routes is in use. */
export type ApiVersion = "v1" | "v2";

/** Where a task reads its input and posts its output. */
export interface TaskRoutes {
  version: ApiVersion;
  taskId: string;
  /** GET: the task input, wrapped in `{success, result}`. */
  input: string;
  /** POST: the task output (v2: as is; v1: wrapped in `{task_exec_id, output_json}`). */
  output: string;
}

/**
 * Builds the task routes. The endpoint may end with `/` (the cluster passes `http://stelarapi/`)
 * or carry a path prefix (`https://klms.example.org/stelar` through the public ingress).
 * Without a signature the Python template's v1 routes are used. Throws a TypeError for an endpoint that is
 * not an http(s) URL.
 */
export function taskRoutes(endpoint: string, taskId: string, signature?: string): TaskRoutes {
  const base = normalizeEndpoint(endpoint);
  const id = encodeURIComponent(taskId);
  if (signature === undefined) {
    return {
      version: "v1",
      taskId,
      input: `${base}/api/v1/task/${id}/input`,
      output: `${base}/api/v1/task/${id}/output`,
    };
  }
  const sig = encodeURIComponent(signature);
  return {
    version: "v2",
    taskId,
    input: `${base}/api/v2/task/${id}/${sig}/input`,
    output: `${base}/api/v2/task/${id}/${sig}/output`,
  };
}

/** The endpoint without trailing slashes, after checking it is an http(s) URL. */
export function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw new TypeError(`the endpoint ${JSON.stringify(endpoint)} is not a URL (expected e.g. http://stelarapi/)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`the endpoint must be an http or https URL, got ${url.protocol}`);
  }
  if (url.search || url.hash) {
    throw new TypeError("the endpoint must not carry a query string or a fragment");
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * The `Authorization` header value for a token argument. The platform passes `Bearer <jwt>`
 * already (since late 2024); a bare JWT, as older engines and hand-made calls pass it, gets the
 * prefix, because the Data API requires exactly two space-separated parts.
 */
export function authorizationHeader(token: string): string {
  const trimmed = token.trim();
  return /^bearer\s+\S/i.test(trimmed) ? trimmed : `Bearer ${trimmed}`;
}
