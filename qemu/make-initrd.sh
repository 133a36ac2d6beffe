#!/usr/bin/env bash
# Makes the guest's tiny initrd natively (building one inside the emulated guest takes many minutes):
# an arm64 busybox, the modules that reach an ext4 root on virtio-blk, and an /init that mounts
# /dev/vda and switches to it.
#
# Usage: qemu/make-initrd.sh ROOT KERNEL_VERSION BUSYBOX OUT
#   ROOT holds lib/modules/KERNEL_VERSION (with modules.dep); BUSYBOX is an arm64 busybox-static binary.
set -euo pipefail

ROOT="${1:?root with lib/modules}"
KVER="${2:?kernel version}"
BUSYBOX="${3:?arm64 busybox}"
OUT="${4:?output file}"

INITRD="$(mktemp -d)"
trap 'rm -rf "$INITRD"' EXIT
mkdir -p "$INITRD/bin" "$INITRD/modules"
cp "$BUSYBOX" "$INITRD/bin/busybox"
: > "$INITRD/modules/order"
# One modprobe per module: further names on one command line would be taken as module parameters.
for module in virtio_pci virtio_blk crc32c_generic ext4; do
  modprobe -d "$ROOT" -S "$KVER" --show-depends "$module" | awk '$1 == "insmod" {print $2}' |
    while read -r ko; do
      name=$(basename "$ko")
      if [ ! -e "$INITRD/modules/$name" ]; then
        cp "$ko" "$INITRD/modules/$name"
        echo "$name" >> "$INITRD/modules/order"
      fi
    done
done
cat > "$INITRD/init" <<'INIT'
#!/bin/busybox sh
# Loads the virtio and ext4 modules, mounts /dev/vda and hands over to systemd.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod "/modules/$m"; done
for _ in $(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done
mount -t ext4 -o rw /dev/vda /newroot || exec sh
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
INIT
chmod 0755 "$INITRD/init"
(cd "$INITRD" && find . | cpio -o -H newc --quiet | gzip -9) > "$OUT"
