#!/usr/bin/env node
/**
 * The entrypoint as a standalone script, `node dist/entrypoint/main.js <args>`: the same as
 * `klms-tool exec <args>` without loading the rest of the CLI.
 */
import { runEntrypoint } from "./index.js";

process.exitCode = await runEntrypoint(process.argv.slice(2));
