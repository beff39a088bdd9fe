#!/usr/bin/env bash
# Starts a real S3 server for the integration tests: Ceph radosgw, single node, on 127.0.0.1,
# with an in-memory OSD (memstore) and STS enabled, so that tests get real SigV4 checks and real
# session tokens. Prints `export KLMS_TEST_RGW_*=…` lines for `eval`.
#
#   eval "$(scripts/rgw-up.sh [DIR])"     # DIR default .klms/rgw; stop with scripts/rgw-down.sh
#
# Needs: apt-get install radosgw ceph-mon ceph-osd (scripts/ci-rgw.sh installs them).
set -euo pipefail
DIR="$(realpath -m "${1:-$(dirname "$0")/../.klms/rgw}")"
PORT="${KLMS_RGW_PORT:-7480}"
ACCESS=klmsaccess
SECRET="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)"
STS_KEY="$(head -c 8 /dev/urandom | od -An -tx1 | tr -d " \n")"   # rgw wants exactly 16 characters
log() { echo "rgw-up: $*" >&2; }

for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool; do
  command -v "$bin" >/dev/null || { log "$bin is missing: run scripts/ci-rgw.sh (apt-get install radosgw ceph-mon ceph-osd)"; exit 1; }
done
if [ -d "$DIR/run" ] && ls "$DIR"/run/*.pid >/dev/null 2>&1; then "$(dirname "$0")/rgw-down.sh" "$DIR" >&2 || true; fi
rm -rf "$DIR"
mkdir -p "$DIR"/{mon-a,osd-0,run,log,rgw}
FSID="$(cat /proc/sys/kernel/random/uuid)"

# No cephx (auth none) on loopback; radosgw then needs `ms mon client mode = crc secure`, or it
# waits 300 s for an authentication that never comes.
cat > "$DIR/ceph.conf" <<CONF
[global]
fsid = $FSID
mon initial members = a
mon host = v2:127.0.0.1:3300/0
public addr = 127.0.0.1
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
osd crush chooseleaf type = 0
run dir = $DIR/run
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
keyring = $DIR/keyring
[mon.a]
mon data = $DIR/mon-a
[osd.0]
osd data = $DIR/osd-0
osd objectstore = memstore
memstore device bytes = 3221225472
[client.rgw.a]
ms mon client mode = crc secure
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
rgw sts key = $STS_KEY
rgw s3 auth use sts = true
# Free deleted objects at once: memstore is RAM, and the default waits hours.
rgw gc obj min wait = 0
rgw gc processor period = 10
CONF
export CEPH_CONF="$DIR/ceph.conf"

log "starting mon, osd and radosgw under $DIR"
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --add a v2:127.0.0.1:3300 --fsid "$FSID" "$DIR/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" 2>>"$DIR/log/setup.log"
ceph-mon -i a
ceph osd create >/dev/null
ceph-osd -i 0 --mkfs 2>>"$DIR/log/setup.log"
ceph-osd -i 0 2>>"$DIR/log/setup.log"
radosgw -n client.rgw.a
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break
  sleep 0.5
done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/" || { log "radosgw did not answer; see $DIR/log"; exit 1; }

admin() { radosgw-admin -n client.rgw.a "$@" >/dev/null 2>>"$DIR/log/setup.log"; }
admin user create --uid=klms --display-name=klms --access-key="$ACCESS" --secret-key="$SECRET"
admin caps add --uid=klms --caps="roles=*"
admin role create --role-name=klmsrole --path=/ \
  --assume-role-policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/klms"]},"Action":["sts:AssumeRole"]}]}'
admin role-policy put --role-name=klmsrole --policy-name=allows3 \
  --policy-doc='{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::*"}}'
log "radosgw up at http://127.0.0.1:$PORT"

cat <<ENV
export KLMS_TEST_RGW_ENDPOINT=http://127.0.0.1:$PORT
export KLMS_TEST_RGW_ACCESS_KEY=$ACCESS
export KLMS_TEST_RGW_SECRET_KEY=$SECRET
export KLMS_TEST_RGW_ROLE_ARN=arn:aws:iam:::role/klmsrole
export KLMS_TEST_RGW_DIR=$DIR
ENV
