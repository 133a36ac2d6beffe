#!/usr/bin/env bash
# Builds everything the emulation tier needs at once: the arm64 and armhf chroots (qemu-user tier) and
# the VM image, side by side. Each is cached (see the scripts), so this returns at once when all are there;
# from nothing, building them together takes about as long as the slowest one instead of their sum.
#
# Usage: sudo qemu/build-all.sh
# The qemu-user handlers are registered here, before the builds start, and released when all are done:
# a build that registered one itself would release it when it finished, under the others' feet.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=qemu/common.sh
. "$HERE/common.sh"
LOGS="$(mktemp -d)"
trap 'release_binfmt; rm -rf "$LOGS"' EXIT

ensure_binfmt arm64
ensure_binfmt armhf

"$HERE/build-rootfs.sh" arm64 > "$LOGS/arm64.out" 2> "$LOGS/arm64.err" &
arm64=$!
"$HERE/build-rootfs.sh" armhf > "$LOGS/armhf.out" 2> "$LOGS/armhf.err" &
armhf=$!
"$HERE/build-image.sh" > "$LOGS/vm.out" 2> "$LOGS/vm.err" &
vm=$!

failed=0
for build in arm64 armhf vm; do
  if wait "${!build}"; then
    cat "$LOGS/$build.out"
  else
    echo "build-all: the $build build failed:" >&2
    tail -n 40 "$LOGS/$build.err" >&2
    failed=1
  fi
done
exit "$failed"
