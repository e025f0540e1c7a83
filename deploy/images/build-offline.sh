#!/usr/bin/env bash
# Builds the StreamSpace desktop session image without any container registry:
# debootstrap (minbase bookworm) from the Debian mirror apt already uses, the same packages
# and entrypoint as desktop/Dockerfile, then `docker import`. Needs root, debootstrap and a
# reachable Docker engine.
#
#   build-offline.sh [--variant base|browser] [--tag TAG] [--print-ref]
#
# The image is tagged streamspace/desktop:r-<hash> (browser: streamspace/desktop-browser:r-<hash>)
# where <hash> covers this script, the entrypoint and the package lists. An existing image
# with that tag is reused; the root filesystem tarball is cached in $STREAMSPACE_IMAGE_CACHE
# (default /var/cache/streamspace-images), so a machine with the cache imports in seconds.
# Concurrent runs serialise on a lock in the cache directory. The last line of stdout is the
# image reference.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VARIANT=base
EXTRA_TAG=
while (($# > 0)); do
  case $1 in
    --variant) VARIANT=$2; shift 2 ;;
    --tag) EXTRA_TAG=$2; shift 2 ;;
    --print-ref) shift ;; # the reference is always printed last; kept for scripts
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

PACKAGE_FILES=("$HERE/desktop/packages.txt")
case $VARIANT in
  base) REPO=streamspace/desktop ;;
  browser) REPO=streamspace/desktop-browser; PACKAGE_FILES+=("$HERE/desktop/browser-packages.txt") ;;
  *) echo "--variant must be base or browser" >&2; exit 2 ;;
esac

log() { printf 'build-offline: %s\n' "$*" >&2; }

# Two keys: the root filesystem depends on this script and the package lists; the image
# also on the entrypoint, which is added at import time so editing it re-imports in seconds
# instead of re-running debootstrap.
ROOTFS_HASH=$(cat "$HERE/build-offline.sh" "${PACKAGE_FILES[@]}" | sha256sum | cut -c1-16)
RECIPE_HASH=$(cat "$HERE/build-offline.sh" "$HERE/desktop/entrypoint.sh" "${PACKAGE_FILES[@]}" |
  sha256sum | cut -c1-16)
IMAGE="$REPO:r-$RECIPE_HASH"
CACHE=${STREAMSPACE_IMAGE_CACHE:-/var/cache/streamspace-images}
ROOTFS_TAR="$CACHE/$VARIANT-$ROOTFS_HASH.rootfs.tar"

docker info >/dev/null 2>&1 || {
  echo "build-offline: the Docker engine is not reachable (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock})" >&2
  exit 69
}

tag_extra() {
  if [[ -n $EXTRA_TAG ]]; then docker tag "$IMAGE" "$REPO:$EXTRA_TAG"; fi
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  tag_extra
  echo "$IMAGE"
  exit 0
fi

mkdir -p "$CACHE"
# One build at a time per machine; the loser of the race finds the image made by the winner.
exec 9>"$CACHE/.lock"
flock 9
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  tag_extra
  echo "$IMAGE"
  exit 0
fi

# The mirror apt already uses (deb822 .sources or one-line sources.list), unless overridden.
debian_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources |
    awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  if [[ -z $uri ]]; then
    uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
      awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

build_rootfs() {
  local mirror root packages
  mirror=${STREAMSPACE_DEBIAN_MIRROR:-$(debian_mirror)}
  packages=$(sed -e 's/#.*//' "${PACKAGE_FILES[@]}" | xargs)
  root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  # Unmount and delete the half-built tree whatever happens.
  trap 'umount -l "'"$root"'/proc" 2>/dev/null || true; umount -l "'"$root"'/var/cache/apt/archives" 2>/dev/null || true; rm -rf "'"$root"'"' EXIT
  mkdir -p "$CACHE/debs"
  log "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase --cache-dir="$CACHE/debs" bookworm "$root" "$mirror" >&2

  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian*}/debian-security bookworm-security main
EOF
  # No services start inside the chroot; no docs, man pages or translations in the image.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/01-streamspace-slim" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
  mount -t proc proc "$root/proc"
  mkdir -p "$CACHE/apt-archives/partial"
  mount --bind "$CACHE/apt-archives" "$root/var/cache/apt/archives"
  log "installing: $packages"
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    apt-get -o APT::Sandbox::User=root update -q >&2
  # shellcheck disable=SC2086 # the package list is meant to split into words
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    apt-get -o APT::Sandbox::User=root install -y -q --no-install-recommends $packages >&2
  umount "$root/var/cache/apt/archives"
  umount "$root/proc"

  # Same layout as the Dockerfile: user 1000 owns /home/user (the home volume's mount point).
  chroot "$root" groupadd --gid 1000 user
  chroot "$root" useradd --uid 1000 --gid 1000 --create-home --home-dir /home/user \
    --shell /bin/bash user
  install -d -m 0755 -o 1000 -g 1000 "$root/run/streamspace"
  install -d -m 1777 "$root/tmp/.X11-unix"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/log/* "$root"/tmp/*.log
  # What debootstrap installed before the dpkg excludes existed; debian:bookworm-slim (the
  # Dockerfile's base) ships without it too. Copyright files stay.
  find "$root/usr/share/doc" -type f ! -name copyright -delete
  find "$root/usr/share/doc" -type d -empty -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +

  tar --numeric-owner -C "$root" -cf "$ROOTFS_TAR.partial" .
  mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  rm -rf "$root"
  trap - EXIT
}

if [[ -f $ROOTFS_TAR ]]; then
  log "using cached root filesystem $ROOTFS_TAR"
else
  command -v debootstrap >/dev/null || {
    echo "build-offline: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 69
  }
  [[ $(id -u) -eq 0 ]] || {
    echo "build-offline: building the root filesystem needs root (debootstrap, chroot)" >&2
    exit 77
  }
  started=$SECONDS
  build_rootfs
  log "root filesystem built in $((SECONDS - started)) s"
  # Keep only this recipe's tarball per variant: older ones are dead weight.
  find "$CACHE" -maxdepth 1 -name "$VARIANT-*.rootfs.tar" ! -name "$(basename "$ROOTFS_TAR")" -delete
fi

# Two layers: the root filesystem imported as streamspace/desktop-rootfs:<rootfs hash> (kept,
# so a changed entrypoint does not re-import 600 MB), then the entrypoint copied into a
# container of it and committed with the image metadata, which mirrors desktop/Dockerfile.
BASE="$REPO-rootfs:$ROOTFS_HASH"
if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  docker import --change "LABEL io.streamspace.rootfs-hash=$ROOTFS_HASH" "$ROOTFS_TAR" "$BASE" >/dev/null
fi
staging=$(docker create --label io.streamspace.build=offline "$BASE" /bin/true)
trap 'docker rm -f "$staging" >/dev/null 2>&1 || true' EXIT
docker cp "$HERE/desktop/entrypoint.sh" "$staging:/usr/local/bin/streamspace-entrypoint"
docker commit \
  -c 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/streamspace-entrypoint"]' \
  -c 'CMD []' \
  -c 'USER 1000' \
  -c 'WORKDIR /home/user' \
  -c 'ENV HOME=/home/user' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'EXPOSE 5900' \
  -c "LABEL io.streamspace.recipe-hash=$RECIPE_HASH io.streamspace.image-variant=$VARIANT" \
  "$staging" "$IMAGE" >/dev/null
tag_extra
log "imported $IMAGE"
echo "$IMAGE"
