#!/usr/bin/env bash
# Build the systemd-capable Debian images that Molecule and `make demo` use as test hosts.
#
# For each release: reuse the local image when it was built from this recipe and this CA bundle;
# otherwise start from a local or pullable Debian base image, or, where no registry answers,
# from a debootstrap root file system, then add systemd and the controller's CA trust.
# Usage: scripts/test-images.sh [debian12] [debian13]    (default: both)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo="mlops-mlflow-testhost"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/mlops-mlflow"
ca_bundle="${MLOPS_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
packages="systemd,systemd-sysv,python3,python3-apt,sudo,ca-certificates,iproute2,procps"

log() { printf '[test-images] %s\n' "$*" >&2; }

codename() {
  case "$1" in
    debian12) echo bookworm ;;
    debian13) echo trixie ;;
    *) log "unknown platform '$1' (known: debian12 debian13)"; exit 2 ;;
  esac
}

# The recipe fingerprint: this script, the Dockerfile and the CA bundle the image trusts.
fingerprint() {
  { cat "$0" "$here/testhost.Dockerfile"; [ -r "$ca_bundle" ] && cat "$ca_bundle"; } | sha256sum | cut -c1-16
}

base_image() {
  local release=$1 local_base="${repo}-base:$1"
  if docker image inspect "$local_base" >/dev/null 2>&1; then
    echo "$local_base"; return
  fi
  if docker image inspect "debian:$release" >/dev/null 2>&1 \
     || timeout 60 docker pull -q "debian:$release" >/dev/null 2>&1; then
    echo "debian:$release"; return
  fi
  command -v debootstrap >/dev/null || { log "no base image can be pulled and debootstrap is missing (apt-get install debootstrap)"; exit 1; }
  mkdir -p "$cache_dir"
  local rootfs="$cache_dir/rootfs-$release"
  log "debootstrap $release (about a minute)"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include="$packages" "$release" "$rootfs" >"$cache_dir/debootstrap-$release.log" 2>&1 \
    || { log "debootstrap failed, see $cache_dir/debootstrap-$release.log"; exit 1; }
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/lib/systemd/systemd"]' - "$local_base" >/dev/null
  rm -rf "$rootfs"
  echo "$local_base"
}

build() {
  local platform=$1 release image want have base ctx
  release=$(codename "$platform")
  image="$repo:$platform"
  want=$(fingerprint)
  have=$(docker image inspect -f '{{ index .Config.Labels "org.mlops-mlflow.recipe" }}' "$image" 2>/dev/null || true)
  if [ "$have" = "$want" ]; then
    log "$image is up to date"; return
  fi
  base=$(base_image "$release")
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' RETURN
  if [ -r "$ca_bundle" ]; then cp "$ca_bundle" "$ctx/controller-ca.crt"; else : >"$ctx/controller-ca.crt"; fi
  cp "$here/testhost.Dockerfile" "$ctx/Dockerfile"
  log "building $image from $base"
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" --label "org.mlops-mlflow.recipe=$want" \
    -t "$image" "$ctx" >/dev/null
  log "built $image"
}

if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers: start one (scripts/start-docker.sh)"; exit 1
fi
for platform in "${@:-debian12 debian13}"; do
  for p in $platform; do build "$p"; done
done
