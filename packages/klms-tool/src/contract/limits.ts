/**
 * The limits on what the kit reads and posts, each with the reason for its value. One place, so
 * that the entrypoint, the worker and `klms-tool run` refuse the same things with the same words.
 */

/**
 * The largest task input reply (or input.json) read: 64 MiB. A real input holds parameter values
 * and lists of paths, kilobytes; the bound stops a broken or hostile server from exhausting the
 * pod's memory (a 300 MB reply held ~1 GB as a string, a 1 GiB one crashed Node).
 */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** The largest output.json read: 16 MiB. No valid output is near it (metrics are capped far lower). */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** The largest reply to the output POST read: 1 MiB (the platform answers with a small envelope). */
export const MAX_POST_REPLY_BYTES = 1024 * 1024;

/**
 * The deepest JSON nesting posted, the outermost object counting as 1: 500. The platform parses
 * the body with Python's json module, whose C scanner raises RecursionError past the interpreter's
 * recursion limit (1000 frames): measured on CPython 3.11, 995 levels parse at the top of a fresh
 * interpreter, and a web request's handler already sits dozens of frames deep. 500 leaves a wide
 * margin and no real metric comes near it.
 */
export const MAX_JSON_DEPTH = 500;

/**
 * How deep `value` nests (a scalar is 0, `{}` or `[]` is 1), counted without recursion so that
 * a value 100,000 levels deep is measured, not a stack overflow. Stops counting past `stopAt`.
 */
export function jsonDepth(value: unknown, stopAt: number = Number.POSITIVE_INFINITY): number {
  if (value === null || typeof value !== "object") return 0;
  let deepest = 0;
  const stack: Array<[object, number]> = [[value, 1]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [node, depth] = item;
    if (depth > deepest) deepest = depth;
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return deepest;
}
