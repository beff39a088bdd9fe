#!/usr/bin/env bash
# Stops the radosgw, OSD and monitor that scripts/rgw-up.sh started, and removes their folder.
set -uo pipefail
DIR="$(realpath -m "${1:-${KLMS_TEST_RGW_DIR:-$(dirname "$0")/../.klms/rgw}}")"
[ -d "$DIR/run" ] || exit 0
for pid_file in "$DIR"/run/*.pid; do
  [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null
done
for _ in $(seq 1 40); do
  alive=0
  for pid_file in "$DIR"/run/*.pid; do
    [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null && alive=1
  done
  [ "$alive" = 0 ] && break
  sleep 0.25
done
for pid_file in "$DIR"/run/*.pid; do
  [ -f "$pid_file" ] && kill -9 "$(cat "$pid_file")" 2>/dev/null
done
rm -rf "$DIR"
