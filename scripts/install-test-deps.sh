#!/usr/bin/env bash
# Installs everything Berth's tests need on a fresh Debian 12 machine:
#   1. the real peers from Debian (distribution 2.8, skopeo, containerd, dockerd, podman, ...)
#   2. npm dependencies (npm ci)
#   3. Go-built test tools into .tools/bin: the OCI conformance suite, crane, oras, crictl
# Run as root (or with sudo available). Idempotent; fails loudly when something is missing.
# `--peers`: step 1 only (what `npm run bench` needs; it runs from a built tree, so it
# must not re-run `npm ci` under itself, and it needs no Go toolchain).
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS_ONLY=
[[ ${1:-} == --peers ]] && PEERS_ONLY=1

APT_PACKAGES=(docker-registry apache2-utils skopeo containerd runc umoci jq curl openssl gcc libc6-dev
  docker.io podman wrk hey hyperfine nginx-light iproute2 util-linux e2fsprogs)

# Go tools, pinned. The conformance suite is a main package in recent versions.
GO_TOOLS=(
  "github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111"
  "github.com/google/go-containerregistry/cmd/crane@v0.22.1"
  "oras.land/oras/cmd/oras@v1.3.6"
  "sigs.k8s.io/cri-tools/cmd/crictl@v1.37.0"
)

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

find_go() {
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  if [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go; return; fi
  echo "error: Go is needed to build the test tools (conformance, crane, oras, crictl); install Go >= 1.24" >&2
  exit 1
}

install_go_tools() {
  local go; go=$(find_go)
  local bin; bin="$PWD/.tools/bin"; mkdir -p "$bin"
  local stamp="$PWD/.tools/versions"
  local want; want=$(printf '%s\n' "${GO_TOOLS[@]}")
  if [[ -f $stamp && "$(cat "$stamp")" == "$want" ]] && [[ -x $bin/conformance && -x $bin/crane && -x $bin/oras && -x $bin/crictl ]]; then
    echo "go tools: all present"; return
  fi
  for t in "${GO_TOOLS[@]}"; do
    echo "go install $t"
    GOBIN="$bin" GOFLAGS=-mod=mod "$go" install "$t"
  done
  echo "$want" >"$stamp"
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
install_go_tools

missing=()
for cmd in docker-registry skopeo containerd ctr runc dockerd podman umoci htpasswd wrk hey nginx; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
[[ -x /usr/bin/docker ]] || missing+=("/usr/bin/docker")
for t in conformance crane oras crictl; do [[ -x .tools/bin/$t ]] || missing+=(".tools/bin/$t"); done
if (( ${#missing[@]} > 0 )); then echo "error: still missing after install: ${missing[*]}" >&2; exit 1; fi
echo "test dependencies ready"
