#!/usr/bin/env bash
# Boots the emulated edge node from an image built by build-image.sh, on a throwaway qcow2 overlay.
#
# Usage: qemu/boot-vm.sh IMAGE_DIR RUN_DIR SSH_PORT NATS_PORT [HUB_PORT] [-- QEMU_ARGS...]
# The machine is a Pi Zero 2 W's CPU, cores and memory. Its only network is QEMU's user network with
# restrict=on: SSH and the broker's 4222 forwarded from 127.0.0.1, and, with HUB_PORT, the guest's
# 10.0.2.100:7422 forwarded to a hub at 127.0.0.1:HUB_PORT on the host (through socat). QEMU daemonizes; its pid is in
# RUN_DIR/qemu.pid (stop it by that pid) and the guest console goes to RUN_DIR/console.log.
# QEMU_ARGS after "--" are added to QEMU's command line as they are: more devices, such as the tests'
# simulated USB I2C adapter (an xHCI controller, a chardev socket, a usb-redir device on it).
# When QEMU refuses to start (a missing ROM, kernel or disk), its own error lines are repeated on
# stderr after "boot-vm.sh: QEMU did not start:" and the script exits non-zero.
set -euo pipefail

ARGS=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  ARGS+=("$1")
  shift
done
[ $# -gt 0 ] && shift  # the "--": what is left of "$@" goes to QEMU as it is
IMAGE="${ARGS[0]:?image dir}"
RUN="${ARGS[1]:?run dir}"
SSH_PORT="${ARGS[2]:?ssh port}"
NATS_PORT="${ARGS[3]:?nats port}"
HUB_PORT="${ARGS[4]:-}"

mkdir -p "$RUN"
if [ ! -f "$RUN/disk.qcow2" ]; then
  qemu-img create -q -f qcow2 -F qcow2 -b "$(cd "$IMAGE" && pwd)/disk.qcow2" "$RUN/disk.qcow2"
fi
NET="user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22,hostfwd=tcp:127.0.0.1:$NATS_PORT-:4222"
if [ -n "$HUB_PORT" ]; then
  # cmd: runs socat for each connection the guest makes; a tcp: target would be dialled once, when
  # QEMU starts, long before the guest's broker connects (the hub then drops it for silence).
  NET="$NET,guestfwd=tcp:10.0.2.100:7422-cmd:socat STDIO TCP:127.0.0.1:$HUB_PORT"
fi
# The NIC has no option ROM (romfile=): direct kernel boot never runs PXE, and the ROM lives in a
# package (ipxe-qemu) that a --no-install-recommends install of QEMU leaves out.
if ! qemu-system-aarch64 -M virt -cpu cortex-a53 -smp 4 -m 512M -accel tcg,thread=multi \
  -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.img" \
  -append "root=/dev/vda rw console=ttyAMA0 quiet" \
  -drive "if=none,id=d0,file=$RUN/disk.qcow2,format=qcow2,cache=unsafe" -device virtio-blk-pci,drive=d0 \
  -netdev "$NET" -device virtio-net-pci,netdev=n0,romfile= \
  -device virtio-rng-pci "$@" \
  -display none -serial "file:$RUN/console.log" -daemonize -pidfile "$RUN/qemu.pid" 2> "$RUN/qemu.err"; then
  echo "boot-vm.sh: QEMU did not start:" >&2
  cat "$RUN/qemu.err" >&2
  exit 1
fi
