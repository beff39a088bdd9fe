// The questions `npm create klms-tool` asks on a terminal, with node:readline: each has a
// default (Enter takes it), a wrong answer is asked again with the reason.
import { createInterface } from "node:readline/promises";
import { DEFAULT_DESCRIPTION, nameProblem, TEMPLATES, toolNameFrom } from "./scaffold.js";

/**
 * Asks for what `values` (the parsed options) and `dir` do not say: the folder, the tool's
 * name, its description and the template. Resolves to { dir, name, description, template }.
 */
export async function ask(dir, values, streams) {
  const rl = createInterface({ input: streams.stdin, output: streams.stdout, terminal: false });
  // The iterator buffers lines, so answers typed (or piped) ahead of their question are kept.
  const lines = rl[Symbol.asyncIterator]();
  const question = async (text, fallback, check = () => undefined) => {
    for (;;) {
      streams.stdout.write(`${text} (${fallback}): `);
      const { value: answer, done } = await lines.next();
      if (done) throw new Error("no answer (the input ended)");
      const value = answer.trim() || fallback;
      const problem = check(value);
      if (!problem) return value;
      streams.stdout.write(`  ${problem}\n`);
    }
  };
  try {
    const folder = dir ?? (await question("Project folder", "my-tool"));
    const name = values.name ?? (await question("Tool name in the catalog", toolNameFrom(folder), nameProblem));
    const description = values.description ?? (await question("Description", DEFAULT_DESCRIPTION));
    const template = values.template ?? (await chooseTemplate(question, streams));
    return { dir: folder, name, description, template };
  } finally {
    rl.close();
  }
}

async function chooseTemplate(question, streams) {
  const names = Object.keys(TEMPLATES);
  streams.stdout.write(`Template:\n${names.map((n, i) => `  ${i + 1}. ${n}: ${TEMPLATES[n]}`).join("\n")}\n`);
  const pick = await question("Choose 1-3 or a name", "1", (v) =>
    names.includes(v) || names[Number(v) - 1] ? undefined : `answer 1 to ${names.length} or one of ${names.join(", ")}`,
  );
  return names.includes(pick) ? pick : names[Number(pick) - 1];
}
