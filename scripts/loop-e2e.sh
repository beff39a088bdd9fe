#!/usr/bin/env bash
# The one-machine loop (issue 14), as a tool author types it: a tool scaffolded from the template
# (the kit packed and vendored with --kit), `klms-tool dev` with a local registry that wants a
# login (scripts/registry.sh start --auth) and tasks run as their image under podman with runc,
# `login` as the dev user, `publish` (image built with buildah, pushed with the credential the
# KLMS issues, tool entry created), `task run <tool>` BY NAME with a local file uploaded as a
# resource and `--follow`, `task outputs`, the output's content checked; then the console's page
# of that task in headless Chromium (its log and the output preview), a screenshot kept in
# test-artifacts/loop-console.png (KLMS_TEST_ARTIFACTS names another folder). Needs root (buildah,
# podman); installs buildah, podman, runc, docker-registry, debootstrap, chromium-headless-shell.
#
#   scripts/loop-e2e.sh     # 3.4 to 5.3 min on 2 busy cores with the base image made (scripts/image-base.sh)
set -euo pipefail
case "${1:-}" in -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$ROOT/.klms/loop-e2e"
ARTIFACTS="${KLMS_TEST_ARTIFACTS:-$ROOT/test-artifacts}"
t0=$(date +%s)
step() { echo "loop-e2e: $* ($(($(date +%s) - t0)) s)"; }
fail() { echo "loop-e2e: FAILED: $*" >&2; exit 1; }

if ! command -v buildah >/dev/null || ! command -v podman >/dev/null || ! command -v docker-registry >/dev/null ||
  ! command -v debootstrap >/dev/null || ! command -v chromium-headless-shell >/dev/null || ! command -v runc >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah podman skopeo runc \
    docker-registry debootstrap uidmap fuse-overlayfs chromium-headless-shell >/dev/null
fi
KLMS_IMAGE_WORK="$ROOT/.klms/images" "$ROOT/scripts/image-base.sh"
(cd "$ROOT" && npm run --silent build)
step "tools, the base image localhost/klms/node:24-slim and the kit's build ready"

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
REGISTRY_PORT="$(free_port)"
API_PORT="$(free_port)"
export KLMS_REGISTRY_DIR="$WORK/registry" KLMS_REGISTRY_ADDR="127.0.0.1:$REGISTRY_PORT"
IMAGE="127.0.0.1:$REGISTRY_PORT/stelar/loop-tool:0.1.0"
DEV_PID=""
cleanup() {
  if [ -n "$DEV_PID" ]; then kill -- "-$DEV_PID" 2>/dev/null || true; wait "$DEV_PID" 2>/dev/null || true; fi
  "$ROOT/scripts/registry.sh" stop || true
  buildah rmi -f "$IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

rm -rf "$WORK" && mkdir -p "$WORK/kit" "$ARTIFACTS"
REGISTRY_URL="$(cd "$ROOT" && scripts/registry.sh start --auth)"
[ "$REGISTRY_URL" = "http://127.0.0.1:$REGISTRY_PORT" ] || fail "registry.sh printed '$REGISTRY_URL'"
step "registry $REGISTRY_URL with a login (user \$app)"

# A tool project from the template, with this repository's packages packed as npm would publish
# them and vendored into it (--kit), so that its image build needs nothing but npm's registry.
(cd "$ROOT" && npm pack --silent --pack-destination "$WORK/kit" -w packages/klms-tool -w packages/klms-local >/dev/null)
node "$ROOT/packages/create-klms-tool/bin.js" "$WORK/my-tool" --yes --no-install --name loop-tool --kit "$WORK/kit" >/dev/null
cd "$WORK/my-tool"
npm install --no-audit --no-fund --loglevel=error >/dev/null
npm run --silent build
step "tool loop-tool scaffolded, installed and built"

# A private login store, and the local KLMS: tasks run as their image with podman (runc).
export XDG_CONFIG_HOME="$WORK/config"
# setsid: npx's node child is not stopped by a signal to npx; the whole group is, at cleanup.
setsid npx klms-tool dev --port "$API_PORT" --data-dir "$WORK/klms" --run podman \
  --registry "$REGISTRY_URL" --registry-auth "$KLMS_REGISTRY_DIR/auth" >"$WORK/dev.log" 2>&1 &
DEV_PID=$!
API="http://127.0.0.1:$API_PORT"
for _ in $(seq 1 100); do curl -sf "$API/help" >/dev/null && break; sleep 0.2; done
curl -sf "$API/help" >/dev/null || { cat "$WORK/dev.log" >&2; fail "klms-tool dev did not start"; }
step "klms-tool dev on $API"

printf dev | npx klms-tool login "$API" --username dev --password-stdin
[ "$(npx klms-tool whoami --json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).username')" = dev ] ||
  fail "whoami is not dev"
# The README's commands as written; buildah builds (podman would pick the same storage, docker needs a daemon).
export KLMS_BUILDER=buildah
npx klms-tool publish --dry-run
npx klms-tool publish --base-image localhost/klms/node:24-slim 2>"$WORK/publish.log" ||
  { tail -30 "$WORK/publish.log" >&2; fail "publish"; }
grep -q "▸ pushing $IMAGE" "$WORK/publish.log" || fail "publish printed no progress: $(cat "$WORK/publish.log")"
tags="$(curl -sf -u "$(cat "$KLMS_REGISTRY_DIR/auth")" "$REGISTRY_URL/v2/stelar/loop-tool/tags/list")"
[ "$tags" = '{"name":"stelar/loop-tool","tags":["0.1.0"]}' ] || fail "the registry holds $tags"
token="$(curl -sf -X POST "$API/api/v1/users/token" -H 'Content-Type: application/json' -d '{"username":"dev","password":"dev"}' |
  node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).result.token')"
curl -sf -H "Authorization: Bearer $token" \
  "$API/api/v2/tool/loop-tool" >"$WORK/tool.json"
node -e '
const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).result;
const ok = t.profiles.default.image === "0.1.0" && t.images.length === 1 && t.images[0].name === "0.1.0" &&
  /^sha256:[0-9a-f]{64}$/.test(t.images[0].manifest_digest) && t.images[0].size > 1e6;
if (!ok) { console.error(JSON.stringify({ profiles: t.profiles, images: t.images })); process.exit(1); }' "$WORK/tool.json" ||
  fail "the tool entry's profile or images are wrong"
step "published: $IMAGE in the registry, the tool entry with its image"

printf 'one\ntwo\nthree\n' >lines.txt
npx klms-tool task run loop-tool --input data=./lines.txt --param x=1 --param y=2 --follow >"$WORK/run.out" 2>"$WORK/run.err" ||
  { cat "$WORK/run.out" "$WORK/run.err" >&2; fail "task run"; }
id="$(sed -n 's/^task \([0-9a-f-]*\) created.*/\1/p' "$WORK/run.err")"
grep -q 'INFO  \[tool\] read lines.txt' "$WORK/run.out" || { cat "$WORK/run.out" >&2; fail "--follow did not show the tool's log"; }
grep -q 'succeeded' "$WORK/run.out" || fail "the task did not succeed"
npx klms-tool task outputs "$id" --dir out/ >/dev/null
node -e '
const r = JSON.parse(require("fs").readFileSync("out/report", "utf8"));
if (r.sum !== 3 || r.lines !== 3) { console.error(r); process.exit(1); }' || fail "the output's content: $(cat out/report)"
step "task $id ran the image by name (podman, runc), --follow showed its log, its output says sum 3, 3 lines"

# A prebuilt image published again under a new tag: pushed first, then the entry's profile patched.
buildah tag "$IMAGE" "${IMAGE%:*}:0.1.1"
npx klms-tool publish --image "${IMAGE%:*}:0.1.1" --json 2>/dev/null >"$WORK/republish.json"
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ok = r.action === "update" && r.image.built === false && r.image.pushed === true &&
  JSON.stringify(r.changes) === JSON.stringify({ profiles: { default: { image: "0.1.1" } } });
if (!ok) { console.error(JSON.stringify(r)); process.exit(1); }' "$WORK/republish.json" || fail "publish --image"
tags="$(curl -sf -u "$(cat "$KLMS_REGISTRY_DIR/auth")" "$REGISTRY_URL/v2/stelar/loop-tool/tags/list")"
[ "$tags" = '{"name":"stelar/loop-tool","tags":["0.1.0","0.1.1"]}' ] || fail "after --image the registry holds $tags"
buildah rmi "${IMAGE%:*}:0.1.1" >/dev/null
step "publish --image pushed a prebuilt 0.1.1 and patched the default profile"

# The console's page of the task, in headless Chromium (--no-sandbox: CI runs as root).
PROFILE="$(mktemp -d)"
flags=(--headless --no-sandbox --disable-gpu "--user-data-dir=$PROFILE" --window-size=1200,1400)
chromium-headless-shell "${flags[@]}" --dump-dom "$API/console/task/$id" 2>/dev/null >"$WORK/console.html"
grep -q 'read lines.txt' "$WORK/console.html" || fail "the console does not show the task's log"
grep -q '&quot;sum&quot;: 3\|"sum": 3' "$WORK/console.html" || fail "the console does not preview the output"
rm -f "$ARTIFACTS/loop-console.png"
chromium-headless-shell "${flags[@]}" "--screenshot=$ARTIFACTS/loop-console.png" "$API/console/task/$id" >/dev/null 2>&1
rm -rf "$PROFILE"
[ "$(stat -c %s "$ARTIFACTS/loop-console.png")" -gt 1000 ] || fail "no screenshot"
step "console checked in headless Chromium; screenshot $ARTIFACTS/loop-console.png"
echo "loop-e2e: OK"
