/**
 * Tool images: detect a builder (docker, podman or buildah), build a tool project's image, push it.
 * Internal to the kit (used by the CLI; not exported from the package root). The runtime settings
 * the builders need live in settings.ts; the template's Makefile repeats them.
 */
export { type BuildImageOptions, buildImage } from "./build.js";
export { checkBuildContext } from "./context.js";
export { detectBuilder, hasRunc, requireBuilder } from "./detect.js";
export { ImageError } from "./errors.js";
export { type ProjectBuild, projectBuild } from "./project.js";
export { type PushImageOptions, pushImage } from "./push.js";
export { BUILDERS, type Builder, buildArgs, globalArgs, registryOf, runArgs, tlsArgs } from "./settings.js";
