#!/usr/bin/env bash
# Installs everything Berth's tests need on a fresh Debian 12 machine:
#   1. the real peers from Debian (distribution 2.8, skopeo, containerd, dockerd, podman, chromium, ...)
#   2. npm dependencies (npm ci)
#   3. Go-built test tools (scripts/go-tools.sh): the OCI conformance suite, crane, oras, crictl,
#      containerd 1.7 and 2.x, SeaweedFS and buildkit, cached in ~/.cache/berth-tools, linked
#      into .tools/bin
# Run as root (or with sudo available). Idempotent; fails loudly when something is missing.
# `--peers`: step 1 only (what `npm run bench` needs; it runs from a built tree, so it
# must not re-run `npm ci` under itself, and it needs no Go toolchain).
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS_ONLY=
[[ ${1:-} == --peers ]] && PEERS_ONLY=1

APT_PACKAGES=(docker-registry apache2-utils skopeo containerd runc umoci jq curl openssl gcc libc6-dev
  docker.io podman wrk hey hyperfine nginx-light haproxy iproute2 util-linux e2fsprogs chromium)

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if (( ${#missing[@]} == 0 )); then echo "apt: all present"; return; fi
  # Keep package scripts from starting system-wide daemons (docker-registry on *:5000...).
  local prc=/usr/sbin/policy-rc.d created=
  if [[ ! -e $prc ]]; then printf '#!/bin/sh\nexit 101\n' | as_root tee "$prc" >/dev/null; as_root chmod +x "$prc"; created=1; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"; then
    as_root apt-get update -q -o DPkg::Lock::Timeout=600
    as_root apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"
  fi
  [[ -n $created ]] && as_root rm -f "$prc"
  echo "apt: installed ${missing[*]}"
}

install_apt
if [[ -n $PEERS_ONLY ]]; then
  missing=()
  for cmd in docker-registry skopeo containerd htpasswd wrk hey nginx curl; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if (( ${#missing[@]} > 0 )); then echo "error: still missing after install: ${missing[*]}" >&2; exit 1; fi
  echo "benchmark peers ready"
  exit 0
fi
npm ci --no-audit --no-fund
bash scripts/go-tools.sh

missing=()
for cmd in docker-registry skopeo containerd ctr runc dockerd podman umoci htpasswd wrk hey nginx; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
[[ -x /usr/bin/docker ]] || missing+=("/usr/bin/docker")
# The UI's browser test drives Debian's Chromium through playwright-core (no browser download).
[[ -x /usr/bin/chromium ]] || missing+=("/usr/bin/chromium")
for t in conformance crane oras crictl containerd-v2 containerd-shim-runc-v2-v2 containerd-v1.7 weed buildkitd buildctl; do [[ -x .tools/bin/$t ]] || missing+=(".tools/bin/$t"); done
if (( ${#missing[@]} > 0 )); then echo "error: still missing after install: ${missing[*]}" >&2; exit 1; fi
echo "test dependencies ready"
