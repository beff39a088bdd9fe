#!/usr/bin/env bash
# A local OCI registry for tool images: Debian's docker-registry on 127.0.0.1:5000 with its own
# config and data under .klms/ (the package's default config listens on all interfaces and wants
# htpasswd, so it is not used).
#
#   scripts/registry.sh start   # then: buildah push --tls-verify=false IMG docker://127.0.0.1:5000/NAME
#   scripts/registry.sh stop
#
# Env: KLMS_REGISTRY_DIR (default .klms/registry), KLMS_REGISTRY_ADDR (default 127.0.0.1:5000).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${KLMS_REGISTRY_DIR:-$ROOT/.klms/registry}"
ADDR="${KLMS_REGISTRY_ADDR:-127.0.0.1:5000}"
PIDFILE="$DIR/pid"

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

case "${1:-}" in
start)
  command -v docker-registry >/dev/null || { echo "registry.sh: apt-get install docker-registry" >&2; exit 1; }
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "registry.sh: already running (pid $(cat "$PIDFILE"))" >&2
    exit 0
  fi
  mkdir -p "$DIR/data"
  cat >"$DIR/config.yml" <<CONF
version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: $DIR/data }, delete: { enabled: true } }
http: { addr: $ADDR }
CONF
  # setsid: the registry outlives this script but not a kill of its own pid.
  setsid docker-registry serve "$DIR/config.yml" >"$DIR/log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 80); do
    curl -sf "http://$ADDR/v2/" >/dev/null && exit 0
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 0.25
  done
  echo "registry.sh: did not start; log:" >&2
  tail -20 "$DIR/log" >&2
  exit 1
  ;;
stop)
  if [ -f "$PIDFILE" ]; then
    pid="$(cat "$PIDFILE")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PIDFILE"
  fi
  ;;
-h | --help | help) usage ;;
*)
  usage >&2
  exit 2
  ;;
esac
