/**
 * The little XML the store reads and writes: S3 replies are flat documents built from strings,
 * and the two request bodies it parses (CompleteMultipartUpload, DeleteObjects) are lists of
 * simple elements, so a full XML library would not earn its place.
 */

/** Escapes text for an XML element or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`);
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
