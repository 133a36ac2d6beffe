#!/usr/bin/env bash
# Builds a Debian bookworm root filesystem for ARCH (arm64: 64-bit Raspberry Pi OS; armhf: 32-bit) with
# Python and the test dependencies Debian packages, for running the broker's test suite under qemu-user.
#
# Usage: sudo qemu/build-rootfs.sh ARCH    prints the cache directory (the root filesystem is its rootfs/)
# Cached under .cache/qemu/rootfs-ARCH-<hash of this script and common.sh>/, rebuilt only when missing.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=qemu/common.sh
. "$HERE/common.sh"
ARCH="${1:?usage: build-rootfs.sh arm64|armhf}"
qemu_user_name "$ARCH" > /dev/null
CACHE="${EDGENATS_QEMU_CACHE:-$HERE/../.cache/qemu}"
OUT="$CACHE/rootfs-$ARCH-$(files_hash "$HERE/build-rootfs.sh" "$HERE/common.sh")"

if [ -f "$OUT/complete" ]; then
  echo "$OUT"
  exit 0
fi

# The broker's runtime dependencies and the test tools, as Debian ships them for the Pi. debootstrap does
# not resolve virtual packages, so python3-cffi-backend (bcrypt's "cffi-backend-api") is named.
PACKAGES=python3,python3-bcrypt,python3-cffi-backend,python3-h11,python3-psutil,python3-pytest,python3-pytest-asyncio,python3-hypothesis,iproute2

WORK="$CACHE/build-rootfs-$ARCH.$$"
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'release_binfmt; remove_build_dir "$WORK"' EXIT

echo "build-rootfs: debootstrap $ARCH" >&2
bootstrap_rootfs "$ARCH" "$WORK/rootfs" "$PACKAGES"

rm -rf "$OUT"
mkdir -p "$OUT"
mv "$WORK/rootfs" "$OUT/rootfs"
touch "$OUT/complete"
echo "$OUT"
