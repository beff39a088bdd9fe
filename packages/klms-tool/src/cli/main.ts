#!/usr/bin/env node
// The `klms-tool` executable: everything lives in cli.ts, importable. A code set on its own by a
// command (the worker contract sets process.exitCode) is kept.
import { cli } from "./cli.js";

// A reader that went away (`klms-tool task list | head -1`): stop at once and quietly, as git and
// ls do, with 141 (128 + SIGPIPE, what a shell shows for them), instead of an unhandled EPIPE
// stack trace (attack5 F9). process.exit runs the exit hook of interrupt.ts (temp files, children).
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(141);
    throw error;
  });
}

const code = await cli(process.argv.slice(2), {}, { processSignals: true });
if (!process.exitCode) process.exitCode = code;
