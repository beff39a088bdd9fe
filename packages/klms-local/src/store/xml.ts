/**
 * The little XML the store reads and writes: S3 replies are flat documents built from strings,
 * and the two request bodies it parses (CompleteMultipartUpload, DeleteObjects) are lists of
 * simple elements, so a full XML library would not earn its place.
 */

/** Characters XML 1.0 cannot carry at all: C0 controls but tab, LF, CR; lone surrogates; U+FFFE, U+FFFF. */
const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Escapes text for an XML element or attribute. A character XML cannot carry (a control
 * character in a key) becomes U+FFFD, and tab, LF and CR become character references so they
 * survive parsing — as Go's encoding/xml does for MinIO, so a listing is always well-formed
 * (a client that needs such keys exactly asks for `encoding-type=url`).
 */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML, "\uFFFD").replace(
    /[&<>"'\t\n\r]/g,
    (c) =>
      ({
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&apos;",
        "\t": "&#x9;",
        "\n": "&#xA;",
        "\r": "&#xD;",
      })[c] as string,
  );
}

/** Undoes {@link escapeXml} and numeric character references. */
export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e] as string;
  });
}

/** `<name>value</name>`, escaped; a nested value is an already built fragment. */
export function el(name: string, value: string | number | boolean | string[]): string {
  const inner = Array.isArray(value) ? value.join("") : escapeXml(String(value));
  return `<${name}>${inner}</${name}>`;
}

/** A whole reply document, with S3's namespace unless another is given. */
export function xmlDocument(root: string, children: string[], ns = "http://s3.amazonaws.com/doc/2006-03-01/"): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${ns}">${children.join("")}</${root}>`;
}

/** The inner texts of every `<name>…</name>` in `xml`, unescaped (no nesting of the same name). */
export function textsOf(xml: string, name: string): string[] {
  const re = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, "g");
  return [...xml.matchAll(re)].map((m) => m[1] as string);
}
