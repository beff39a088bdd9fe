/**
 * A certificate authority for the local store's https, made with the openssl command line at the
 * first start and kept under the data dir (`<dataDir>/tls/`): `ca.pem` (what clients trust),
 * `server.pem` + `server-key.pem` (for 127.0.0.1 and localhost). Kept files are reused while the
 * server certificate has more than a day left, so a client that trusts the CA keeps trusting it.
 *
 * Why the openssl CLI: it is on every Debian/Ubuntu/macOS developer machine and in CI, Node has
 * no API that writes X.509 certificates, and an npm library (selfsigned, node-forge) would be a
 * dependency of every user of the kit for a dev-only feature. It takes ~0.1 s (EC P-256 keys).
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

/** The PEM files of the store's https. */
export interface TlsFiles {
  /** Path of the CA certificate to trust (SSL_CERT_FILE, AWS_CA_BUNDLE, NODE_EXTRA_CA_CERTS). */
  caFile: string;
  ca: string;
  key: string;
  cert: string;
}

const DAY_MS = 24 * 3600 * 1000;

/** The CA and server certificate in `<dir>`, made when missing or near expiry; throws with openssl's message. */
export async function ensureTls(dir: string): Promise<TlsFiles> {
  const files = { caFile: join(dir, "ca.pem"), key: join(dir, "server-key.pem"), cert: join(dir, "server.pem") };
  if (!usable(files.caFile, files.cert)) await generate(dir, files);
  return {
    caFile: files.caFile,
    ca: readFileSync(files.caFile, "utf8"),
    key: readFileSync(files.key, "utf8"),
    cert: readFileSync(files.cert, "utf8"),
  };
}

function usable(caFile: string, certFile: string): boolean {
  if (!existsSync(caFile) || !existsSync(certFile)) return false;
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    const ca = new X509Certificate(readFileSync(caFile));
    return cert.verify(ca.publicKey) && Date.parse(cert.validTo) - Date.now() > DAY_MS;
  } catch {
    return false;
  }
}

async function generate(dir: string, files: { caFile: string; key: string; cert: string }): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caKey = join(dir, "ca-key.pem");
  const csr = join(dir, "server.csr");
  const ext = join(dir, "server.ext");
  // Python's ssl (3.13+ verifies X509_STRICT) wants key identifiers and a critical CA keyUsage.
  await writeFile(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid",
      "",
    ].join("\n"),
  );
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    caKey,
    "-out",
    files.caFile,
    "-days",
    "3650",
    "-subj",
    "/CN=klms-local dev CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await openssl(["req", "-new", ...ec, "-keyout", files.key, "-out", csr, "-subj", "/CN=127.0.0.1"]);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    files.caFile,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-out",
    files.cert,
    "-days",
    "825",
    "-extfile",
    ext,
  ]);
  await Promise.all([csr, ext, join(dir, "ca.srl")].map((f) => rm(f, { force: true })));
}

async function openssl(args: string[]): Promise<void> {
  try {
    await promisify(execFile)("openssl", args, { timeout: 30_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    const why =
      e.code === "ENOENT"
        ? "the openssl command is not installed (apt-get install openssl)"
        : (e.stderr ?? e.message).trim();
    throw new Error(`could not make the store's TLS certificate: ${why}`);
  }
}
