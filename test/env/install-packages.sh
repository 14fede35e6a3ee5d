#!/usr/bin/env bash
# Installs the Debian packages the local stack runs (Redis, Prometheus, Alertmanager, the old
# clickhouse-server 18.16 that only serves to prove unsupported servers are refused) and Chromium,
# which playwright-core drives in the browser tests (/usr/bin/chromium).
# Idempotent: packages already present are skipped without touching apt.
set -euo pipefail
packages=(redis-server prometheus prometheus-alertmanager clickhouse-server chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[setup] debian packages: present (${packages[*]})"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "[setup] debian packages: installing ${missing[*]} (apt-get, about a minute)"
# The stack starts these services itself on its own ports; keep the packages' init scripts from
# starting system-wide copies that would take the default ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && $SUDO rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[setup] debian packages: installed"
