#!/usr/bin/env bash
# The image test: a tool scaffolded from template/ is built with buildah from the template's
# Dockerfile (unchanged but for BASE_IMAGE), pushed to a local registry and pulled back, then run
# the way the KLMS Job runs it (ENTRYPOINT, four arguments, host network, runc) against a local
# KLMS whose store speaks https with SigV4 and STS credentials. Checks success, non-root,
# SIGTERM -> failed "cancelled", and no task file or credential in the image. Needs root;
# installs buildah, podman, skopeo, runc, docker-registry, debootstrap.
#
#   scripts/image-e2e.sh     # ~1 min with the base image cached under .klms/images, ~4 min fresh
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/.klms/images"
E2E="$ROOT/.klms/image-e2e"
IMAGE=localhost/klms-e2e/tool:1
REMOTE=127.0.0.1:5000/klms-e2e/tool:1
t0=$(date +%s)
step() { echo "image-e2e: $* ($(($(date +%s) - t0)) s)"; }
CONF="$WORK/containers.conf"
STORAGE_CONF="$WORK/storage.conf"
mkdir -p "$WORK"
cat >"$STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
CONF
# crun fails on this host's hybrid cgroups; runc works. Host network, as the Job's pod reaches
# the API; ulimits podman cannot raise here.
cat >"$CONF" <<CONF
[containers]
netns = "host"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_STORAGE_CONF="$STORAGE_CONF" CONTAINERS_CONF="$CONF"

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
  # The tool images and the build stages' leftovers; the base image stays cached for the next run.
  podman rmi -f "$IMAGE" "$REMOTE" >/dev/null 2>&1 || true
  podman image prune -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A tool project from the template, with this repository's packages (packed, as npm would publish
# them) inside it, so that the image build needs nothing but the npm registry.
rm -rf "$E2E" && mkdir -p "$E2E"
(cd "$ROOT" && npm pack --silent --pack-destination "$E2E" -w packages/klms-tool -w packages/klms-local >/dev/null)
node "$ROOT/packages/create-klms-tool/index.js" "$E2E/tool" --name e2e-tool \
  --klms-tool file:vendor/klms-tool-0.1.0.tgz --klms-local file:vendor/klms-local-0.1.0.tgz >/dev/null
mkdir -p "$E2E/tool/vendor" && mv "$E2E"/*.tgz "$E2E/tool/vendor/"
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

KLMS_REGISTRY_DIR="$WORK/registry" "$ROOT/scripts/registry.sh" start
buildah push --quiet --tls-verify=false "$IMAGE" "docker://$REMOTE" >/dev/null
buildah rmi "$IMAGE" >/dev/null
podman pull --quiet --tls-verify=false "$REMOTE" >/dev/null
step "pushed to and pulled from the local registry"

user="$(podman image inspect --format '{{.Config.User}}' "$REMOTE")"
[ "$user" = "1000:1000" ] || { echo "image-e2e: the image runs as '$user', not 1000:1000" >&2; exit 1; }
uid="$(podman run --rm --entrypoint id "$REMOTE" -u)"
[ "$uid" != "0" ] || { echo "image-e2e: the process runs as root" >&2; exit 1; }
step "runs as uid $uid"

leaks="$(podman run --rm --entrypoint sh "$REMOTE" -c 'find / -xdev \( -name input.json -o -name output.json -o -name .env \) 2>/dev/null; ls /app' )"
if echo "$leaks" | grep -E 'input\.json|output\.json|\.env' >/dev/null; then echo "image-e2e: task files in the image: $leaks" >&2; exit 1; fi
secrets="$(podman run --rm --entrypoint sh "$REMOTE" -c 'grep -rlE "AKIA[0-9A-Z]{16}|BEGIN [A-Z ]*PRIVATE KEY|Bearer eyJ" /app 2>/dev/null || true')"
[ -z "$secrets" ] || { echo "image-e2e: credentials in the image: $secrets" >&2; exit 1; }
step "no task file, .env or credential in the image; /app holds: $(echo "$leaks" | tr '\n' ' ')"

node "$ROOT/scripts/image-e2e.mjs" "$REMOTE" podman
step "done"
