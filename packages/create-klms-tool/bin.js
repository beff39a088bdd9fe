#!/usr/bin/env node
// `npm create klms-tool` / `npx create-klms-tool`: runs, whatever path npm starts it by (a .bin symlink).
import { cli } from "./cli.js";

process.exitCode = await cli(process.argv.slice(2));
