import { ExitCode } from "../exit-codes.js";
import { type Command, type CommandIO, line } from "./command.js";

type Main = (argv: string[], io: CommandIO) => Promise<number>;

/**
 * A command whose code lives in a module loaded only when the command runs: the entrypoint
 * (`exec`) must not pay for the others, and `dev` lives in the separate klms-local package.
 */
function delegated(
  name: string,
  summary: string,
  load: () => Promise<Main>,
  missing?: string,
  ownsSignals = false,
): Command {
  return {
    name,
    summary,
    ownsSignals,
    help: `run \`klms-tool ${name} --help\``,
    async run(argv, io) {
      let main: Main;
      try {
        main = await load();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (missing && (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND")) {
          line(io.stderr, missing);
          return ExitCode.Usage;
        }
        throw error;
      }
      return main(argv, io);
    },
  };
}

// Held in variables so that TypeScript does not resolve them at build time: klms-local depends on
// this package, not the other way round, and the other modules are built alongside.
const modules = {
  entrypoint: "../entrypoint/index.js",
  job: "../job/command.js",
  local: "klms-local",
};

/** `klms-tool exec`: the entrypoint that replaces run.sh. */
export const execCommand = delegated(
  "exec",
  "the image entrypoint: fetch the task input, run the worker, post the output",
  async () => {
    const { runEntrypoint } = await import(modules.entrypoint);
    return (argv, io) => runEntrypoint(argv, { stdout: io.stdout, stderr: io.stderr, env: io.env, cwd: io.cwd });
  },
  undefined,
  true, // the platform's SIGTERM contract: entrypoint/signals.ts forwards it to the worker and reports
);

/** `klms-tool dev`: the local KLMS. */
export const devCommand = delegated(
  "dev",
  "start a local KLMS (task API + object store) on 127.0.0.1",
  async () => {
    const { devMain } = await import(modules.local);
    return (argv, io) =>
      devMain(argv, {
        out: (t: string) => io.stdout.write(t),
        err: (t: string) => io.stderr.write(t),
        cwd: io.cwd,
        signal: io.signal,
      });
  },
  "klms-tool dev needs the klms-local package: npm install --save-dev klms-local",
  true, // devMain stops its servers on SIGINT/SIGTERM itself
);

/** `klms-tool job`: the Kubernetes Job the platform would create. */
export const jobCommand = delegated(
  "job",
  "print the Kubernetes Job manifest the platform would create for a task",
  async () => (await import(modules.job)).jobCommand as Main,
);
