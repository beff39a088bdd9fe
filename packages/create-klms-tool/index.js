/**
 * create-klms-tool as a library: `scaffold(dir, options)` writes a tool project, `cli(argv, io)`
 * is the whole command (prompts, install, tests, next steps). The bin is bin.js.
 */
export { cli } from "./cli.js";
export { scaffold, TEMPLATES, toolNameFrom } from "./scaffold.js";
