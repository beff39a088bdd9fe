#!/usr/bin/env bash
# A local OCI registry for tool images: Debian's docker-registry on 127.0.0.1:5000 with its own
# config and data under .klms/ (the package's default config listens on all interfaces and wants
# htpasswd, so it is not used).
#
#   scripts/registry.sh start          # then: buildah push --tls-verify=false IMG docker://127.0.0.1:5000/NAME
#   scripts/registry.sh start --auth   # with a login: user $app (Quay's app-token user), a random
#                                      # password; DIR/auth (0600) holds "$app:PASSWORD" for
#                                      # klms-tool dev --registry http://127.0.0.1:5000 --registry-auth DIR/auth
#                                      # (a restart keeps the password of an existing DIR/auth)
#   scripts/registry.sh stop
#
# Prints the registry's URL (and the auth file) once it answers.
# Env: KLMS_REGISTRY_DIR (default .klms/registry), KLMS_REGISTRY_ADDR (default 127.0.0.1:5000).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${KLMS_REGISTRY_DIR:-$ROOT/.klms/registry}"
ADDR="${KLMS_REGISTRY_ADDR:-127.0.0.1:5000}"
PIDFILE="$DIR/pid"

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

# htpasswd for the user $app, bcrypt through the C library's crypt (perl; docker-registry accepts
# bcrypt only), and DIR/auth with "$app:PASSWORD", both 0600. The password of an existing DIR/auth
# is kept, so that a restarted registry still takes what a running klms-tool dev read at its start;
# else a fresh random one.
write_auth() {
  local password="" hash
  [ -f "$DIR/auth" ] && password="$(sed -n 's/^\$app://p' "$DIR/auth" | head -1)"
  [ -n "$password" ] || password="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
  hash="$(P="$password" perl -e 'my @c = ("a".."z", "A".."Z", 0..9, ".", "/"); my $s = join "", map { $c[rand @c] } 1..22; print crypt($ENV{P}, "\$2y\$10\$$s")')"
  case "$hash" in '$2y$'*) ;; *) echo "registry.sh: this C library has no bcrypt crypt()" >&2; exit 1 ;; esac
  (umask 077 && printf '%s:%s\n' '$app' "$hash" >"$DIR/htpasswd" && printf '%s:%s\n' '$app' "$password" >"$DIR/auth")
}

case "${1:-}" in
start)
  command -v docker-registry >/dev/null || { echo "registry.sh: apt-get install docker-registry" >&2; exit 1; }
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "registry.sh: already running (pid $(cat "$PIDFILE"))" >&2
    if [ "${2:-}" = "--auth" ] && [ ! -f "$DIR/auth" ]; then
      echo "registry.sh: it runs without a login; stop it first (registry.sh stop) to start it with --auth" >&2
      exit 1
    fi
    echo "http://$ADDR"
    exit 0
  fi
  rm -f "$PIDFILE" # a file naming a process that is gone
  # Someone else on the address (another registry.sh, another user's registry): docker-registry
  # would die on "address already in use" while the readiness check below heard the other one.
  if (exec 3<>"/dev/tcp/${ADDR%:*}/${ADDR##*:}") 2>/dev/null; then
    echo "registry.sh: something already listens on $ADDR: stop it, or set KLMS_REGISTRY_ADDR to a free address (e.g. 127.0.0.1:5001)" >&2
    exit 1
  fi
  mkdir -p "$DIR/data"
  auth=""
  rm -f "$DIR/htpasswd"
  [ "${2:-}" = "--auth" ] || rm -f "$DIR/auth"
  if [ "${2:-}" = "--auth" ]; then
    write_auth
    auth="auth: { htpasswd: { realm: klms-local, path: $DIR/htpasswd } }"
  fi
  cat >"$DIR/config.yml" <<CONF
version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: $DIR/data }, delete: { enabled: true } }
http: { addr: $ADDR }
$auth
CONF
  # setsid: the registry outlives this script but not a kill of its own pid.
  setsid docker-registry serve "$DIR/config.yml" >"$DIR/log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 80); do
    # Our own registry must be the one alive (not only someone answering on the address).
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    # /v2/ answers 200 without a login, 401 with one: either way it is up.
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/v2/" || true)"
    if { [ "$code" = 200 ] || [ "$code" = 401 ]; } && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      echo "http://$ADDR"
      [ -f "$DIR/auth" ] && echo "auth file: $DIR/auth" >&2
      exit 0
    fi
    sleep 0.25
  done
  pid="$(cat "$PIDFILE")"
  kill "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  if grep -q 'address already in use' "$DIR/log"; then
    echo "registry.sh: $ADDR is taken (address already in use): set KLMS_REGISTRY_ADDR to a free address" >&2
  fi
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
