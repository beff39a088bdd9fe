#!/usr/bin/env node
// The `klms-tool` executable: everything lives in cli.ts, importable. A code set on its own by a
// command (the worker contract sets process.exitCode) is kept.
import { cli } from "./cli.js";

const code = await cli(process.argv.slice(2), {}, { processSignals: true });
if (!process.exitCode) process.exitCode = code;
