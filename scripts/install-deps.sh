#!/usr/bin/env bash
# Installs what wharf and its tests need on Debian 12 (as root), shared by `.ci/run` and `scripts/install.sh`:
#   - the real clients the end-to-end tests drive: skopeo, dockerd + containerd + runc (docker.io), busybox-static
#     (base images are built from it), curl, openssl, htpasswd (apache2-utils), mount/umount, ps;
#   - the anchors the benchmarks compare against: distribution 2.8.2 (docker-registry), dockerd, and wrk;
#   - a C++ toolchain and python3 for node-gyp (node-pty has no linux prebuild), and npm when it is missing;
#   - git, which the engine runs to clone git build contexts (`docker build` with `remote=` a git URL) and the
#     hub runs for automated builds; chromium, the browser the UI tests drive (playwright-core, no download);
#   - Ceph 16 (ceph-mon, ceph-osd, radosgw): the S3 server the S3 storage driver is tested against, a
#     single-node cluster in a temp dir started by test/support/ceph.ts (policy-rc.d keeps its units stopped);
# then the npm dependencies, Node 24 among them (the `node` package), and the web UI's bundle (dist/ui). Idempotent:
# apt runs only when something is missing, npm ci only when node_modules does not match the lockfile, the UI build
# only when its sources changed.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."

packages=(
  skopeo docker.io docker-registry busybox-static runc containerd
  iproute2 iptables openssl ca-certificates curl util-linux mount procps tar gzip apache2-utils wrk
  python3 make g++ bzip2 xz-utils zstd attr docker-compose python3-docker tini git
  postgresql haproxy chromium
  ceph-mon ceph-osd radosgw
)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # policy-rc.d keeps docker.io's postinst from starting a system dockerd: the tests start their own private ones.
  policy_added=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    policy_added=true
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if $policy_added; then rm -f /usr/sbin/policy-rc.d; fi
fi

# npm ci wipes node_modules first; skip it when the installed tree already matches the lockfile (re-runs, shared
# checkouts). npm writes node_modules/.package-lock.json after every install.
if [ -f package-lock.json ]; then
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] && [ -x node_modules/node/bin/node ]; then
    echo "install-deps: node_modules is up to date with package-lock.json"
  else
    npm ci --no-audit --no-fund
  fi
else
  npm install --no-audit --no-fund
fi
node_modules/node/bin/node --version
# The web UI's bundle (dist/ui), served by the registry; skipped when it is newer than its sources.
node_modules/node/bin/node scripts/build-ui.ts
# Fills node's compile cache (bin/wharf's NODE_COMPILE_CACHE, inside the install) for the modules a start loads,
# so the first `wharf serve` after an install neither strips types nor holds the stripper's memory: its registry
# idles at ~94 MiB instead of ~110 (docs/benchmarks.md, registry RSS).
bin/wharf --help >/dev/null
