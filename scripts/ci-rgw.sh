#!/usr/bin/env bash
# CI: installs Ceph's radosgw from Debian (idempotent) and starts it; prints the env lines of
# scripts/rgw-up.sh. Run as root: eval "$(scripts/ci-rgw.sh)"
set -euo pipefail
if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
  echo "ci-rgw: installing radosgw ceph-mon ceph-osd" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd curl >&2
fi
exec "$(dirname "$0")/rgw-up.sh" "$@"
