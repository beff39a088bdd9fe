/**
 * Python's `re` semantics for the platform's validation patterns (`tasks.py:111-116`,
 * `:179-184`; `utils.py:757-765`; marshmallow's `Regexp`, which calls `regex.match`): the patterns
 * are written `^...$`, and Python's `$` matches at the end of the text *or before a newline that
 * ends it*, so `re.match(r"^ctx$", "ctx\n")` matches where JavaScript's `/^ctx$/` does not.
 * Every JavaScript copy of such a pattern is tested through {@link pyMatch}.
 */

/**
 * Python's `re.match(pattern, text)` for a `pattern` anchored `^...$` (no `g`/`y` flag, no `m`,
 * `$` only at its end): the match of `text`, else, when `text` ends with one `"\n"`, the match of
 * `text` without it (the groups are the same as Python's). `null` when neither matches.
 */
export function pyMatch(pattern: RegExp, text: string): RegExpExecArray | null {
  const match = pattern.exec(text);
  if (match || !text.endsWith("\n")) return match;
  return pattern.exec(text.slice(0, -1));
}

/**
 * The characters Python's `\s` matches in a `str` pattern (`str.isspace()`): ASCII white space,
 * `\x1c`-`\x1f`, `\x85`, `\xa0` and Unicode's space separators; not `\ufeff`, which JavaScript's
 * `\s` includes. For character classes: `[^${PY_SPACE}]` is Python's `[^\s]`.
 */
export const PY_SPACE = String.raw`\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
