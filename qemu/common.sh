# Shared helpers for the QEMU build scripts: mirror, binfmt handlers, cache keys, chroot mounts.
# Sourced, not run. Everything here needs root (debootstrap, binfmt_misc, mounts).

# The Debian mirror apt already uses, so no host is hard-coded and CI's mirror is honoured.
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  elif [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# Maps a Debian architecture to the qemu-user binfmt handler that runs its binaries.
qemu_user_name() {
  case "$1" in
    arm64) echo qemu-aarch64 ;;
    armhf) echo qemu-arm ;;
    *) echo "unsupported architecture: $1" >&2; return 1 ;;
  esac
}

# Registers the qemu-user handler for an architecture unless the kernel already has it, and remembers
# it in REGISTERED_BINFMT for release_binfmt. Without binfmt only the first process is emulated and
# its children fail with "Exec format error".
REGISTERED_BINFMT=""
ensure_binfmt() {
  local name
  name=$(qemu_user_name "$1")
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [ ! -e "/proc/sys/fs/binfmt_misc/$name" ]; then
    grep -v '^#' "/usr/lib/binfmt.d/$name.conf" > /proc/sys/fs/binfmt_misc/register
    REGISTERED_BINFMT="$REGISTERED_BINFMT $name"
  fi
}

# Unregisters the handlers this script registered, leaving the ones the system had.
release_binfmt() {
  local name
  for name in $REGISTERED_BINFMT; do
    echo -1 > "/proc/sys/fs/binfmt_misc/$name"
  done
  REGISTERED_BINFMT=""
}

# Removes a build folder: first whatever the build left mounted inside it (debootstrap's second stage
# mounts /proc and /sys in the new root and leaves them when it fails), then the folder.
remove_build_dir() {
  { grep -o " $1/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mountpoint; do umount -l "$mountpoint"; done
  rm -rf "$1"
}

# A cache key that changes whenever one of the given files changes.
files_hash() {
  cat "$@" | sha256sum | cut -c1-16
}

# debootstrap in two stages, the second one under qemu-user inside the new root.
bootstrap_rootfs() {
  local arch="$1" rootfs="$2" include="$3"
  ensure_binfmt "$arch"
  debootstrap --arch="$arch" --variant=minbase --foreign --include="$include" \
    bookworm "$rootfs" "$(debian_mirror)"
  chroot "$rootfs" /debootstrap/debootstrap --second-stage
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
}
