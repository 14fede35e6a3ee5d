#!/usr/bin/env bash
# `make setup`: installs everything the project needs on a fresh machine of this kind.
# Idempotent and cached: each step checks a stamp and is skipped when nothing changed.
# Caches live outside the checkout (TALLY_CACHE_DIR, default ~/.cache/tally) so fresh clones
# on the same machine, CI's among them, reuse them.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${TALLY_CACHE_DIR:-$HOME/.cache/tally}"
mkdir -p "$cache"
started=$(date +%s)

step() { echo "[setup] $*"; }

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "[setup] ERROR: '$1' is required on this machine ($2)" >&2; exit 1; }
}
need node "Node.js 20"
need npm "npm"
need java "a JDK 17+ runs the Kafka broker"
need mvn "Maven fetches the Kafka jars from Maven Central"

# 1. Debian packages: Redis, Prometheus, Alertmanager, and the old clickhouse-server for one test.
bash "$root/test/env/install-packages.sh"

# 2. npm dependencies from the lockfile (chdb brings the ClickHouse engine).
lock_hash=$(sha256sum "$root/package-lock.json" | cut -c1-16)
if [ -f "$root/node_modules/.tally-lock-$lock_hash" ]; then
  step "npm dependencies: present"
else
  step "npm dependencies: installing from package-lock.json (about a minute)"
  # Not `npm ci`: npm 11.19 leaves other platforms' optional packages out of the lockfile and
  # then `npm ci` refuses it as out of sync. `install --no-save` follows the lockfile and never
  # rewrites it.
  (cd "$root" && npm install --no-save --no-audit --no-fund --loglevel=error)
  touch "$root/node_modules/.tally-lock-$lock_hash"
fi

# 3. Kafka broker jars from Maven Central.
pom="$root/test/env/kafka/pom.xml"
pom_hash=$(sha256sum "$pom" | cut -c1-16)
libs="$cache/kafka-libs"
if [ -f "$libs/.stamp-$pom_hash" ]; then
  step "kafka jars: present ($libs)"
else
  step "kafka jars: mvn dependency:copy-dependencies into $libs"
  rm -rf "$libs.tmp"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DoutputDirectory="$libs.tmp" -DincludeScope=runtime
  rm -rf "$libs"
  mv "$libs.tmp" "$libs"
  touch "$libs/.stamp-$pom_hash"
fi

# 4. The local Kubernetes control plane, built from Go modules (first build ~13 min, then cached).
need go "Go builds the Kubernetes control plane, etcd, helm and kwok from the Go module proxy"
bash "$root/test/env/k8s/build.sh"

step "done in $(( $(date +%s) - started )) s"
