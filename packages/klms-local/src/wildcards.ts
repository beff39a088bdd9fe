/**
 * Wildcard input paths (`s3://bucket/data/*.csv`) expanded against the object store, as the
 * platform's `expand_wildcard_path` does (`mutils.py:114-161`): list the objects under the part
 * before the first `*`, keep those whose whole key matches the pattern by Python's `fnmatch`
 * (where `*` also crosses `/`), folder markers excluded.
 */

/** Lists the `s3://bucket/key` paths of the objects under an `s3://bucket/prefix`. */
export type ObjectLister = (prefix: string) => AsyncIterable<string>;

/**
 * The objects matching `path` (`s3://bucket/<pattern>`), in listing order; [] when none match.
 * A listing that fails rejects: the caller keeps the path as written, like the platform does
 * when the expansion raises.
 */
export async function expandWildcard(path: string, list: ObjectLister): Promise<string[]> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(path);
  if (!match) return [];
  const [, bucket, pattern] = match as unknown as [string, string, string];
  const prefix = pattern.split("*")[0] ?? "";
  const re = fnmatchRegExp(pattern);
  const out: string[] = [];
  for await (const found of list(`s3://${bucket}/${prefix}`)) {
    const key = found.slice(`s3://${bucket}/`.length);
    if (re.test(key) && !key.endsWith("/")) out.push(found);
  }
  return out;
}

/** True for an input path the platform expands: a valid `s3://` URL with a `*`. */
export function isWildcard(path: string): boolean {
  return path.startsWith("s3://") && path.includes("*");
}

/**
 * Python's `fnmatch.translate` on POSIX (case-sensitive): `*` any run of characters, `?` one
 * character, `[seq]` / `[!seq]` a set; everything else literal; the whole string must match.
 */
export function fnmatchRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", pattern[i + 1] === "!" ? i + 3 : i + 2);
      if (end < 0) {
        out += "\\[";
        continue;
      }
      let set = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
      if (set.startsWith("!")) set = `^${set.slice(1)}`;
      else if (set.startsWith("^")) set = `\\${set}`;
      out += `[${set}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "s");
}
