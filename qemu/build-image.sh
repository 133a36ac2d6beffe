#!/usr/bin/env bash
# Builds the emulated edge node: an arm64 Debian bookworm root filesystem (as Raspberry Pi OS is),
# a Debian arm64 kernel, a tiny initrd made natively, and a qcow2 disk for qemu-system-aarch64 -M virt.
#
# Usage: sudo qemu/build-image.sh        prints the cache directory holding the image
# The result is cached under .cache/qemu/vm-<hash of this script and common.sh>/ and rebuilt only
# when missing. It holds disk.qcow2, vmlinuz, initrd.img and the SSH key pair (id_ed25519) of the
# passwordless-sudo user "pi". The guest has no network but its port forwards.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=qemu/common.sh
. "$HERE/common.sh"
CACHE="${EDGENATS_QEMU_CACHE:-$HERE/../.cache/qemu}"
OUT="$CACHE/vm-$(files_hash "$HERE/build-image.sh" "$HERE/make-initrd.sh" "$HERE/common.sh")"

if [ -f "$OUT/complete" ]; then
  echo "$OUT"
  exit 0
fi

# What a Raspberry Pi OS Lite node already has, plus python3-apt and python3-packaging that
# Ansible's apt and pip modules need, since the guest cannot fetch anything.
PACKAGES=systemd-sysv,udev,kmod,iproute2,openssh-server,sudo,python3,python3-venv,python3-apt,python3-packaging,systemd-timesyncd,busybox-static,ca-certificates
DISK_SIZE=2G

WORK="$CACHE/build-vm.$$"
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'release_binfmt; remove_build_dir "$WORK"' EXIT
ROOTFS="$WORK/rootfs"

log() { echo "build-image: $*" >&2; }

log "debootstrap arm64 root filesystem"
bootstrap_rootfs arm64 "$ROOTFS" "$PACKAGES"

log "configure the guest"
echo edge-vm > "$ROOTFS/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 edge-vm\n' > "$ROOTFS/etc/hosts"
echo '/dev/vda / ext4 defaults,noatime 0 1' > "$ROOTFS/etc/fstab"
: > "$ROOTFS/etc/machine-id"
# QEMU's user network: the guest is always 10.0.2.15 behind the 10.0.2.2 gateway, so a static
# address saves the DHCP wait at every boot.
cat > "$ROOTFS/etc/systemd/network/10-qemu.network" <<'NET'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
NET
chroot "$ROOTFS" systemctl enable systemd-networkd ssh
# Units that slow the boot or wait for a network the guest does not have.
chroot "$ROOTFS" systemctl mask systemd-networkd-wait-online.service apt-daily.timer \
  apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer getty@tty1.service \
  systemd-timesyncd.service
echo 'UseDNS no' > "$ROOTFS/etc/ssh/sshd_config.d/10-fast.conf"
chroot "$ROOTFS" useradd --create-home --shell /bin/bash --groups sudo pi
echo 'pi ALL=(ALL) NOPASSWD: ALL' > "$ROOTFS/etc/sudoers.d/pi"
chmod 0440 "$ROOTFS/etc/sudoers.d/pi"
ssh-keygen -q -t ed25519 -N '' -C edge-vm-test -f "$WORK/id_ed25519"
install -d -m 0700 "$ROOTFS/home/pi/.ssh"
install -m 0600 "$WORK/id_ed25519.pub" "$ROOTFS/home/pi/.ssh/authorized_keys"
chroot "$ROOTFS" chown -R pi:pi /home/pi/.ssh

log "kernel"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -q >&2
KPKG=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
KPKG="${KPKG%:arm64}"
(cd "$WORK" && apt-get download -q "$KPKG:arm64" >&2)
dpkg-deb -x "$WORK"/linux-image-*.deb "$WORK/kernel"
KVER=$(ls "$WORK/kernel/lib/modules")
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
mkdir -p "$ROOTFS/lib/modules"
cp -a "$WORK/kernel/lib/modules/$KVER" "$ROOTFS/lib/modules/"
depmod -b "$ROOTFS" "$KVER"

log "initrd"
"$HERE/make-initrd.sh" "$ROOTFS" "$KVER" "$ROOTFS/bin/busybox" "$WORK/initrd.img"

log "disk image"
truncate -s "$DISK_SIZE" "$WORK/disk.raw"
mkfs.ext4 -q -L root -d "$ROOTFS" "$WORK/disk.raw"
qemu-img convert -O qcow2 "$WORK/disk.raw" "$WORK/disk.qcow2"

mkdir -p "$OUT"
mv "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/disk.qcow2" "$WORK/id_ed25519" "$WORK/id_ed25519.pub" "$OUT/"
echo "$KVER" > "$OUT/kernel-version"
touch "$OUT/complete"
echo "$OUT"
