import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI, as users run it. */
export const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
/** Fixture tools. */
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/tools/${name}`, import.meta.url));

/** Secret values used across tests: none may ever appear in an output file or a log. */
export const SECRETS = {
  api_key: "sk-live-0123456789abcdef",
  minioKey: "minio-secret-key-4567",
  minioToken: "minio-session-token-89ab",
  minioId: "MINIOACCESSKEYID01",
};

/** A task input in the platform's real v2 shape. */
export function taskInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    input: { data: ["s3://klms-bucket/in/a.csv"] },
    output: { result: "s3://klms-bucket/out/result.csv" },
    parameters: { x: 2 },
    minio: {
      endpoint_url: "http://127.0.0.1:9",
      internal_url: "http://minio:9000",
      id: SECRETS.minioId,
      key: SECRETS.minioKey,
      skey: SECRETS.minioToken,
    },
    secrets: { api_key: SECRETS.api_key },
    signature_verified: true,
    ...overrides,
  };
}

/** A temporary folder holding input.json; removed by `cleanup`. */
export async function workspace(input: unknown): Promise<{
  dir: string;
  inputPath: string;
  outputPath: string;
  readOutput(): Promise<Record<string, unknown>>;
  cleanup(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "klms-test-"));
  const inputPath = join(dir, "input.json");
  const outputPath = join(dir, "output.json");
  await writeFile(inputPath, typeof input === "string" ? input : JSON.stringify(input));
  return {
    dir,
    inputPath,
    outputPath,
    readOutput: async () => JSON.parse(await readFile(outputPath, "utf8")) as Record<string, unknown>,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Runs a command to its end and captures everything it printed. */
export function runProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Asserts that no secret value (in any common encoding) appears in the text. */
export function findSecrets(text: string): string[] {
  const found: string[] = [];
  for (const value of Object.values(SECRETS)) {
    for (const form of [value, Buffer.from(value).toString("base64"), encodeURIComponent(value)]) {
      if (text.includes(form)) found.push(form);
    }
  }
  return found;
}
