#!/usr/bin/env bash
# Builds the Go-built test peers, pinned, into a cache outside the checkout
# (${BERTH_TOOLS_CACHE:-~/.cache/berth-tools}/<tool>-<version>/) and links them into .tools/bin.
# CI clones afresh each time; the cache survives, so each tool is built only when its
# versioned folder is missing. A folder appears only once its build finished (built in a
# temporary folder, then renamed), so an interrupted build is redone, never half-used.
#
#   go install:      the OCI conformance suite, crane, oras, crictl, containerd v2.4.2 and its
#                    runc shim (Debian's 1.6 shim cannot start 2.x tasks)
#   wrapper module:  SeaweedFS (a replace directive), buildkit (exclude directives),
#                    containerd v1.7 (replace directives): `go install` refuses those,
#                    so each is built through a throwaway module (go mod init, go get, go build).
# Usage: scripts/go-tools.sh [tool...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${BERTH_TOOLS_CACHE:-$HOME/.cache/berth-tools}
BIN="$PWD/.tools/bin"
mkdir -p "$CACHE" "$BIN"

find_go() {
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  if [[ -x /usr/local/go/bin/go ]]; then echo /usr/local/go/bin/go; return; fi
  echo "error: Go is needed to build the test tools; install Go >= 1.24" >&2
  exit 1
}
GO=$(find_go)

# name|version|kind|module|packages (space separated: pkg[=output name])
TOOLS=(
  "conformance|v0.0.0-20260831232431-97274622c111|install|github.com/opencontainers/distribution-spec/conformance|github.com/opencontainers/distribution-spec/conformance"
  "crane|v0.22.1|install|github.com/google/go-containerregistry|github.com/google/go-containerregistry/cmd/crane"
  "oras|v1.3.6|install|oras.land/oras|oras.land/oras/cmd/oras"
  "crictl|v1.37.0|install|sigs.k8s.io/cri-tools|sigs.k8s.io/cri-tools/cmd/crictl"
  "containerd2|v2.4.2|install|github.com/containerd/containerd/v2|github.com/containerd/containerd/v2/cmd/containerd=containerd-v2"
  "containerd2shim|v2.4.2|install|github.com/containerd/containerd/v2|github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2=containerd-shim-runc-v2-v2"
  "containerd17|v1.7.35|wrap|github.com/containerd/containerd|github.com/containerd/containerd/cmd/containerd=containerd-v1.7"
  "weed|v0.0.0-20261109003541-7506e5f91cd6|wrap|github.com/seaweedfs/seaweedfs|github.com/seaweedfs/seaweedfs/weed"
  "buildkit|v0.34.2|wrap|github.com/moby/buildkit|github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl"
)
# Replace directives that the wrapped module's own go.mod carries (go build ignores a
# dependency's replaces, so the wrapper must repeat the ones the build needs).
declare -A REPLACES=(
  [weed]="github.com/tyler-smith/go-bip39=github.com/cosmos/go-bip39@v1.0.0"
)

out_name() { local spec=$1; [[ $spec == *=* ]] && echo "${spec#*=}" || basename "$spec"; }
pkg_path() { echo "${1%%=*}"; }

build_one() {
  local name=$1 version=$2 kind=$3 module=$4 pkgs=$5
  local dest="$CACHE/$name-$version"
  if [[ ! -d $dest ]]; then
    local tmp; tmp=$(mktemp -d "$CACHE/.$name-XXXXXX")
    echo "building $name $version (into $dest)"
    if [[ $kind == install ]]; then
      for spec in $pkgs; do
        local p; p=$(pkg_path "$spec")
        GOBIN="$tmp/gobin" GOFLAGS=-mod=mod "$GO" install "$p@$version"
        mv "$tmp/gobin/$(basename "$p")" "$tmp/$(out_name "$spec")"
      done
      rm -rf "$tmp/gobin"
    else
      local mod="$tmp/mod"; mkdir -p "$mod"
      (
        cd "$mod"
        "$GO" mod init "berthtools$name" >/dev/null 2>&1
        for r in ${REPLACES[$name]:-}; do "$GO" mod edit -replace="$r"; done
        # go get the packages (not only the module) so that go.sum holds everything they import
        local gets=(); for spec in $pkgs; do gets+=("$(pkg_path "$spec")@$version"); done
        "$GO" get "${gets[@]}"
        for spec in $pkgs; do
          "$GO" build -o "$tmp/$(out_name "$spec")" "$(pkg_path "$spec")"
        done
      )
      rm -rf "$mod"
    fi
    mv "$tmp" "$dest"
  fi
  for spec in $pkgs; do
    ln -sfn "$dest/$(out_name "$spec")" "$BIN/$(out_name "$spec")"
  done
}

want=("$@")
for row in "${TOOLS[@]}"; do
  IFS='|' read -r name version kind module pkgs <<<"$row"
  if (( ${#want[@]} > 0 )) && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  build_one "$name" "$version" "$kind" "$module" "$pkgs"
done
echo "go tools ready in $BIN"
