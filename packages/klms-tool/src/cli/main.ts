#!/usr/bin/env node
// The `klms-tool` executable: everything lives in cli.ts, importable. A code set on its own by a
// command (the worker contract sets process.exitCode) is kept. `executable` gives the command
// the process's signals and its stdout/stderr (a closed pipe), see cli.ts.
import { cli } from "./cli.js";

const code = await cli(process.argv.slice(2), {}, { executable: true });
if (!process.exitCode) process.exitCode = code;
