#!/bin/sh
# Run the test suite as root on Debian 13 "trixie" (Wireshark 4.4, Lua 5.4) in a
# throw-away chroot, as CI machines on Debian 13 run it.  `make test-trixie`
# calls this; it is not part of `make test`.
#
# Usage (as root): tests/trixie.sh CHROOT [pytest arguments]
#   CHROOT is made with debootstrap when it does not exist yet.  The working
#   tree (without .venv, build/, .git) is copied to CHROOT/src; there `make test`
#   runs (or `make deps` and pytest with the arguments given).
set -eu

root=${1:?usage: tests/trixie.sh CHROOT [pytest arguments]}
shift
[ "$(id -u)" = 0 ] || { echo "tests/trixie.sh: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
pkgs="make git tshark lua5.2 lua5.4 python3 python3-venv ca-certificates util-linux"

if [ ! -x "$root/usr/bin/apt-get" ]; then
    command -v debootstrap >/dev/null || {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
    debootstrap --variant=minbase --include="$(echo "$pkgs" | tr ' ' ,)" \
        trixie "$root" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
# pip inside trusts what the host trusts (a site proxy's CA, say).
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host-ca-certificates.crt"

# /proc for the tests that look at open files, /dev and /dev/pts for the
# pseudo-terminals; unmounted whatever happens.
mounts=""
cleanup() { for m in $mounts; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
for m in proc dev dev/pts; do
    mountpoint -q "$root/$m" && continue
    case $m in
        proc) mount -t proc proc "$root/proc" ;;
        *) mount --bind "/$m" "$root/$m" ;;
    esac
    mounts="$root/$m $mounts"
done

missing=""
for p in $pkgs; do chroot "$root" dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq $missing >/dev/null"
fi

# A fresh copy of the working tree; its .venv is the chroot's own, kept between runs.
mkdir -p "$root/src"
find "$root/src" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
(cd "$here" && tar -c --exclude=./.venv --exclude=./build --exclude=./.git \
    --exclude=./.pytest_cache --exclude=./.hypothesis --exclude='*.egg-info' .) |
    tar -x -C "$root/src"

# A git checkout of the copy, as CI's clean clone is (tests compare tracked files).
chroot "$root" sh -c 'cd /src && git init -q && git add -A && git -c user.name=ci \
    -c user.email=ci@localhost commit -qm copy'
chroot "$root" sh -c 'tshark --version | head -1; tshark -v | grep -o "Lua [0-9.]*"; id'
if [ $# -eq 0 ]; then
    chroot "$root" env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        LANG=C.UTF-8 PIP_CERT=/etc/ssl/host-ca-certificates.crt \
        MEPSHARK_THROWAWAY_SYSTEM=1 sh -c 'cd /src && make test'
else
    chroot "$root" env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
        LANG=C.UTF-8 PIP_CERT=/etc/ssl/host-ca-certificates.crt \
        MEPSHARK_THROWAWAY_SYSTEM=1 sh -c 'cd /src && make deps >/dev/null && .venv/bin/python -m pytest "$@"' \
        pytest "$@"
fi
