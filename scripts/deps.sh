#!/bin/sh
# Install the Debian packages numavm builds, tests and benchmarks with, when
# they are missing.  Called by make before the first build; safe to rerun.
# Needs root (or sudo) only when something is actually missing.
set -eu

PKGS="build-essential pkg-config check libnuma-dev libinih-dev libjson-c-dev \
libxml2-dev libxml2-utils qemu-system-x86 libvirt-clients clang \
libclang-rt-14-dev numactl socat"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2 || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
