#!/usr/bin/env bash
# The image test: a tool scaffolded from template/ (the kit vendored with --kit) is built with the
# template's Makefile and buildah (Dockerfile unchanged but for BASE_IMAGE), pushed to a local
# registry with `klms-tool image push` and pulled back, then run the way the KLMS Job runs it
# (ENTRYPOINT, four arguments, host network, podman with the image module's settings) against a
# local KLMS whose store speaks https with SigV4 and STS credentials. Checks success, non-root,
# SIGTERM -> failed "cancelled", and no task file or credential in the image. Needs root;
# installs buildah, podman, skopeo, runc, docker-registry, debootstrap.
#
#   scripts/image-e2e.sh     # ~1 min with the base image already made, ~4 min fresh
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/.klms/images"
E2E="$ROOT/.klms/image-e2e"
IMAGE=127.0.0.1:5000/klms-e2e/tool:1
t0=$(date +%s)
step() { echo "image-e2e: $* ($(($(date +%s) - t0)) s)"; }
# No private containers.conf or storage.conf: the builders' default storage, and the runtime
# settings from klms-tool's image module (the Makefile says the same), as a tool author has them.
KLMS_TOOL="$ROOT/packages/klms-tool/dist/cli/main.js"
mapfile -t PODMAN < <(node --input-type=module -e '
const m = await import(process.argv[1]);
for (const a of ["podman", ...m.globalArgs("podman", await m.hasRunc(process.env))]) console.log(a);' "$ROOT/packages/klms-tool/dist/image/index.js")
mapfile -t RUN_ARGS < <(node --input-type=module -e '
const m = await import(process.argv[1]); for (const a of m.runArgs("podman")) console.log(a);' "$ROOT/packages/klms-tool/dist/image/index.js")
podman_run() { "${PODMAN[@]}" run --rm "${RUN_ARGS[@]}" "$@"; }

if ! command -v buildah >/dev/null || ! command -v podman >/dev/null || ! command -v docker-registry >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah podman skopeo runc docker-registry debootstrap uidmap fuse-overlayfs >/dev/null
fi
step "tools installed"
KLMS_IMAGE_WORK="$WORK" "$ROOT/scripts/image-base.sh"
step "base image localhost/klms/node:24-slim ready"

cleanup() {
  KLMS_REGISTRY_DIR="$WORK/registry" "$ROOT/scripts/registry.sh" stop || true
  podman ps -aq --filter name=klms-e2e 2>/dev/null | xargs -r podman rm -f >/dev/null 2>&1 || true
  # The tool image only; the base image stays for the next run (and for make build).
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A tool project from the template, with this repository's packages packed as npm would publish
# them and vendored into it by the scaffolder (--kit), so that the image build needs nothing but
# the npm registry.
rm -rf "$E2E" && mkdir -p "$E2E/kit"
(cd "$ROOT" && npm pack --silent --pack-destination "$E2E/kit" -w packages/klms-tool -w packages/klms-local >/dev/null)
node "$ROOT/packages/create-klms-tool/bin.js" "$E2E/tool" --yes --no-install --name e2e-tool --kit "$E2E/kit" >/dev/null
# The SIGTERM check needs a task that takes a while: a parameter that makes the tool wait on its signal.
node -e '
const fs = require("fs"); const f = process.argv[1]; let s = fs.readFileSync(f, "utf8");
s = s.replace("y: z.number().default(1).describe(\"the second number\"),", "y: z.number().default(1).describe(\"the second number\"),\n    wait_seconds: z.number().default(0),");
s = s.replace("    let lines = 0;", "    await new Promise((resolve, reject) => { const t = setTimeout(resolve, task.parameters.wait_seconds * 1000); task.signal.addEventListener(\"abort\", () => { clearTimeout(t); reject(new Error(\"stopped\")); }); });\n    let lines = 0;");
fs.writeFileSync(f, s);' "$E2E/tool/src/main.ts"
(cd "$E2E/tool" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
step "tool scaffolded"

# The template's Makefile, with buildah: `make build` as a tool author runs it without Docker.
(cd "$E2E/tool" && make build DOCKER=buildah IMGTAG="$IMAGE" BASE_IMAGE=localhost/klms/node:24-slim >"$E2E/build.log" 2>&1) ||
  { tail -30 "$E2E/build.log" >&2; exit 1; }
manifest="$(podman image inspect --format '{{index .Config.Labels "klms.tool.manifest"}}' "$IMAGE")"
title="$(podman image inspect --format '{{index .Config.Labels "org.opencontainers.image.title"}}' "$IMAGE")"
node -e 'const m = JSON.parse(process.argv[1]); if (m.name !== "e2e-tool" || !m.outputs.properties.report.description.includes(" ")) process.exit(1)' "$manifest" ||
  { echo "image-e2e: the klms.tool.manifest label is wrong: $manifest" >&2; exit 1; }
[ "$title" = "e2e-tool" ] || { echo "image-e2e: org.opencontainers.image.title is '$title'" >&2; exit 1; }
step "image built with make (labels: title $title, the tool manifest): $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"

# Pushed with the Makefile, then with klms-tool's image module (the registry's digest checked),
# removed, pulled back with podman.
KLMS_REGISTRY_DIR="$WORK/registry" "$ROOT/scripts/registry.sh" start
(cd "$E2E/tool" && make push DOCKER=buildah IMGTAG="$IMAGE" TLS_VERIFY=false >"$E2E/push.log" 2>&1) ||
  { tail -30 "$E2E/push.log" >&2; exit 1; }
pushed="$(cd "$E2E/tool" && node "$KLMS_TOOL" image push "$IMAGE" --builder buildah --tls-verify false --quiet --json)"
digest="$(node -p 'JSON.parse(process.argv[1]).digest' "$pushed")"
[ "$(curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://${IMAGE%%/*}/v2/klms-e2e/tool/manifests/1" | tr -d '\r' | awk 'tolower($1)=="docker-content-digest:"{print $2}')" = "$digest" ] ||
  { echo "image-e2e: the registry does not hold $IMAGE at $digest" >&2; exit 1; }
buildah rmi "$IMAGE" >/dev/null
"${PODMAN[@]}" pull --quiet --tls-verify=false "$IMAGE" >/dev/null
step "pushed with make push and klms-tool image push ($digest), pulled back"

user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
[ "$user" = "1000:1000" ] || { echo "image-e2e: the image runs as '$user', not 1000:1000" >&2; exit 1; }
uid="$(podman_run --entrypoint id "$IMAGE" -u)"
[ "$uid" != "0" ] || { echo "image-e2e: the process runs as root" >&2; exit 1; }
step "runs as uid $uid"

leaks="$(podman_run --entrypoint sh "$IMAGE" -c 'find / -xdev \( -name input.json -o -name output.json -o -name .env \) 2>/dev/null; ls /app' )"
if echo "$leaks" | grep -E 'input\.json|output\.json|\.env' >/dev/null; then echo "image-e2e: task files in the image: $leaks" >&2; exit 1; fi
secrets="$(podman_run --entrypoint sh "$IMAGE" -c 'grep -rlE "AKIA[0-9A-Z]{16}|BEGIN [A-Z ]*PRIVATE KEY|Bearer eyJ" /app 2>/dev/null || true')"
[ -z "$secrets" ] || { echo "image-e2e: credentials in the image: $secrets" >&2; exit 1; }
step "no task file, .env or credential in the image; /app holds: $(echo "$leaks" | tr '\n' ' ')"

node "$ROOT/scripts/image-e2e.mjs" "$IMAGE"
step "done"
