// `npm create klms-tool [dir] [options]`: asks on a terminal, takes flags otherwise, scaffolds,
// installs, runs the new tool's tests and prints the next commands.
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { basename, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { kitCheckout, packCheckout } from "./checkout.js";
import { ask } from "./prompt.js";
import { DEFAULT_DESCRIPTION, scaffold, TEMPLATES, toolNameFrom } from "./scaffold.js";

const HELP = `usage: npm create klms-tool [<dir>] [-- options]
       npx create-klms-tool [<dir>] [options]

Creates a STELAR KLMS tool in <dir> (which must not exist or be empty): the tool, its test
against a local KLMS, a task input in the platform's shape, run.sh, Dockerfile and Makefile;
then installs its dependencies and runs its tests. On a terminal it asks for what the options
do not say; elsewhere (CI, a pipe) or with --yes it takes the defaults.

options:
  --name <name>          the tool's name in the catalog (default: the folder's name);
                         2 to 100 of a-z, 0-9, "_" and "-"
  --description <text>   one line on what the tool does (default: "${DEFAULT_DESCRIPTION}")
  --template <t>         ${Object.entries(TEMPLATES)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n                         ")}
                         (default: minimal)
  -y, --yes              ask nothing: the defaults for what the options do not say
  --no-install           only write the files (no npm install, no npm test)
  --klms-tool <spec>     the klms-tool dependency (default: ^<this kit's version>)
  --klms-local <spec>    the klms-local dev dependency (default: ^<this kit's version>)
  --kit <dir>            a folder of the kit's packed tarballs (klms-tool-<v>.tgz,
                         klms-local-<v>.tgz): copied into vendor/ and depended on as
                         file:vendor/…, so that the image build sees them. Run from a
                         clone of the kit (and installing), its own packages are packed
                         and vendored this way unless a spec is given
  -h, --help             this help

With npm create, options go after "--": npm create klms-tool my-tool -- --template csv`;

const OPTIONS = {
  name: { type: "string" },
  description: { type: "string" },
  template: { type: "string" },
  yes: { type: "boolean", short: "y" },
  "no-install": { type: "boolean" },
  "klms-tool": { type: "string" },
  "klms-local": { type: "string" },
  kit: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/**
 * Runs the command; resolves to the exit code (0 done, 1 failed, 2 usage). `io` defaults to the
 * process's streams: { stdin, stdout, stderr, env, cwd, interactive } (interactive: ask
 * questions; default: stdin and stdout are terminals).
 */
export async function cli(argv, io = {}) {
  const streams = {
    stdin: io.stdin ?? process.stdin,
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
  };
  const say = (text) => streams.stdout.write(`${text}\n`);
  const complain = (text) => streams.stderr.write(`${text}\n`);
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    complain(`${error.message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    say(HELP);
    return 0;
  }
  if (positionals.length > 1) {
    complain(`give one folder, not ${positionals.length}\n\n${HELP}`);
    return 2;
  }
  const interactive = !values.yes && (io.interactive ?? Boolean(streams.stdin.isTTY && streams.stdout.isTTY));
  let choices;
  try {
    choices = interactive ? await ask(positionals[0], values, streams) : defaults(positionals[0], values);
  } catch (error) {
    complain(`create-klms-tool: ${error.message}`);
    return 2;
  }
  return create(choices, values, streams, say, complain);
}

/** The choices without questions: a folder is then required. */
function defaults(dir, values) {
  if (dir === undefined) throw new Error(`give the folder to create the tool in\n\n${HELP}`);
  return { dir, name: values.name, description: values.description, template: values.template ?? "minimal" };
}

async function create(choices, values, streams, say, complain) {
  const target = resolve(streams.cwd, choices.dir);
  const rel = relative(streams.cwd, target);
  const shown = rel === "" ? "." : rel.startsWith("..") ? target : rel;
  let packed;
  try {
    let kit = values.kit === undefined ? undefined : resolve(streams.cwd, values.kit);
    const checkout =
      kit || values["klms-tool"] || values["klms-local"] || values["no-install"] ? undefined : kitCheckout();
    if (checkout) {
      // klms-tool and klms-local are not on the npm registry yet: a clone of the kit is their source.
      say(`Vendoring klms-tool and klms-local from the kit's checkout ${checkout} (npm pack; as --kit does).`);
      packed = await packCheckout(checkout);
      kit = packed;
    }
    const name = choices.name ?? toolNameFrom(choices.dir);
    const files = await scaffold(target, {
      name,
      description: choices.description,
      template: choices.template,
      klmsTool: values["klms-tool"],
      klmsLocal: values["klms-local"],
      ...(kit === undefined ? {} : { kit }),
    });
    say(`Created ${files.length} files in ${shown} (template: ${choices.template}).`);
    // The catalog's rule (2 to 100 of a-z, 0-9, "_", "-") may have changed the folder's name: say so.
    if (choices.name === undefined && name !== basename(target)) {
      say(`The tool's name in the catalog is "${name}" (made from the folder's; --name sets another).`);
    }
  } catch (error) {
    complain(`create-klms-tool: ${error.message}`);
    return 1;
  } finally {
    if (packed) await rm(packed, { recursive: true, force: true });
  }
  if (values["no-install"]) {
    say(nextSteps(shown, false, choices.template));
    return 0;
  }
  for (const step of [["install", "--no-audit", "--no-fund"], ["test"]]) {
    say(`\n$ npm ${step[0]}`);
    const { code, stderr } = await npm(step, target, streams);
    // Until klms-tool and klms-local are on the npm registry, only --kit installs them (attack5 F16).
    if (
      code !== 0 &&
      step[0] === "install" &&
      values.kit === undefined &&
      /(E404|404 Not Found)[\s\S]*klms-(tool|local)/.test(stderr)
    )
      complain(NOT_ON_NPM);
    if (code !== 0) {
      complain(
        `\nnpm ${step[0]} failed (exit code ${code}) in ${shown}; fix what it printed, then run it again there.`,
      );
      return 1;
    }
  }
  say(nextSteps(shown, true, choices.template));
  return 0;
}

/** The next three commands, as the scaffold's README explains them; the file to edit is the template's. */
function nextSteps(dir, installed, template) {
  const cd = dir === "." ? [] : [`  cd ${shellQuoted(dir)}`];
  // The python template has no src/: its tool is main.py (variants/python/variant.json).
  const source = template === "python" ? "main.py" : "src/main.ts";
  const watched = template === "python" ? "main.py" : "src/";
  const lines = installed
    ? [
        "",
        "Installed, and its tests pass. Next:",
        ...cd,
        "  npm start          # builds, then runs the tool on fixtures/input.json through a local KLMS",
        `  npm run dev        # the same, again on every change of ${watched}`,
        "  make build IMGTAG=yourusername/yourimagereponame:yourversiontag   # the image",
      ]
    : [
        "",
        "Next:",
        ...cd,
        "  npm install",
        "  npm test           # runs the tool as a task against a local KLMS",
        "  npm start          # builds, then runs the tool on fixtures/input.json",
      ];
  return [...lines, "", `Edit ${source} to make the tool yours; README.md says how the KLMS runs it.`].join("\n");
}

/** `text` as one shell word: as it is when it holds nothing a shell would read, else in single quotes. */
function shellQuoted(text) {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** What to do when npm has no klms-tool / klms-local (they are not published on the npm registry yet). */
const NOT_ON_NPM =
  "\nklms-tool and klms-local are not on the npm registry (yet): scaffold from the kit's tarballs instead. " +
  "In the kit's checkout: npm ci && npm run build && npm pack -w packages/klms-tool -w packages/klms-local " +
  "--pack-destination kit; then npx create-klms-tool my-tool --kit <that kit folder> (the files written here " +
  "can stay: run it again in an empty folder, or npm install ../kit/klms-tool-*.tgz ../kit/klms-local-*.tgz here).";

/**
 * Runs npm in the new project, its output passed through (stderr also kept, to recognise a failure). Under `npm create`/`npx` the npm that
 * started us is used (npm_execpath), so the versions match; elsewhere the npm on the PATH.
 */
function npm(args, cwd, streams) {
  const execPath = streams.env.npm_execpath;
  const [command, prefix] =
    execPath && /npm-cli\.js$/.test(execPath)
      ? [process.execPath, [execPath]]
      : [process.platform === "win32" ? "npm.cmd" : "npm", []];
  // Without NODE_TEST_CONTEXT: under node --test it would make the project's runner report to ours.
  const { NODE_TEST_CONTEXT: _, ...env } = streams.env;
  return new Promise((done) => {
    const child = spawn(command, [...prefix, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.on("data", (d) => streams.stdout.write(d));
    child.stderr.on("data", (d) => {
      stderr = (stderr + d.toString()).slice(-20_000);
      streams.stderr.write(d);
    });
    child.on("error", (error) => {
      streams.stderr.write(`cannot run npm: ${error.message}\n`);
      done({ code: 127, stderr });
    });
    child.on("close", (code) => done({ code: code ?? 1, stderr }));
  });
}
