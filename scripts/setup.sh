#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Prepares a Debian 12 machine for ddvm from nothing: host packages, the guest
# kernel (Debian's stock image, unpacked, never installed on the host), an
# uncompressed vmlinux for fast PVH boots, and modules.dep for the guest.
#
# Idempotent: every step leaves a stamp under $VAR and is skipped when done,
# so a finished machine passes through in well under 2 s (no apt-cache call,
# which costs over a second when apt's package cache is disabled).
#
#   VAR=DIR          state directory (default: var, relative to the repository)
#   DDVM_ABI=X       use guest kernel ABI X instead of resolving linux-image-amd64
set -euo pipefail

# Host packages ddvm needs; the one list to extend.  Installed without
# recommends so CI stays lean and everything needed is named here.
# libclang-rt-dev: clang -fsanitize=fuzzer needs the libFuzzer runtime, which
# clang only recommends.  file, binutils: setup verifies vmlinux with them.
PACKAGES=(
	build-essential pkg-config
	clang libclang-rt-dev
	libcmocka-dev libjansson-dev
	qemu-system-x86 qemu-utils
	busybox-static cpio kmod
	file binutils xz-utils zstd
	fio gnuplot-nox iproute2 iputils-ping iperf3
	nbdkit nbdkit-plugin-dev libnbd-bin e2fsprogs
)

STEPS=8
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOP=$PWD
VAR=$(realpath -m -- "${VAR:-var}")
GUEST=$VAR/guest
LOG=$VAR/log/setup-apt.log
export DEBIAN_FRONTEND=noninteractive

say() {
	echo "setup: $*"
}

step() {	# N text
	local n=$1
	shift
	echo "setup: [$n/$STEPS] $*"
}

die() {
	echo "setup: error: $*" >&2
	exit 1
}

is_root() {
	[ "$(id -u)" -eq 0 ]
}

# Prints the packages among "$@" that dpkg does not list as installed.
missing_packages() {
	local installed
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null |
		awk '$2 == "ii" { print $1 }' || true)
	local p
	for p in "$@"; do
		grep -qxF -- "$p" <<<"$installed" || echo "$p"
	done
}

# apt lists are "fresh" when present and refreshed within the last day; an
# install needs them, an already-set-up machine never touches them.
apt_lists_fresh() {
	local lists=/var/lib/apt/lists
	compgen -G "$lists/*_Packages*" >/dev/null || return 1
	[ -n "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit)" ]
}

# Runs an apt command with its chatter in $LOG; returns its status.
apt_try() {	# cmd...
	mkdir -p "$(dirname "$LOG")"
	echo "+ $*" >>"$LOG"
	"$@" >>"$LOG" 2>&1
}

# As apt_try, but on failure shows the tail of the log and the likely cause.
apt_run() {	# what cmd...
	local what=$1
	shift
	apt_try "$@" && return 0
	echo "setup: error: $what failed: $*" >&2
	tail -n 15 "$LOG" | sed 's/^/  | /' >&2
	echo "setup: (full output in $LOG; no network? deb.debian.org must be reachable)" >&2
	return 1
}

apt_update() {
	say "      apt-get update ..."
	apt_run "apt-get update" apt-get update --error-on=any || exit 1
}

ensure_apt_lists() {
	compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null && return 0
	is_root || die "apt has no package lists; run as root: apt-get update"
	apt_update
}

need_root_for() {	# packages...
	is_root && return 0
	{
		echo "setup: error: these Debian packages are missing: $*"
		echo "setup: run as root:  apt-get install -y --no-install-recommends $*"
		echo "setup: (then run this again; the rest of setup needs no root)"
	} >&2
	exit 1
}

install_packages() {	# packages...
	need_root_for "$@"
	local updated=0
	if ! apt_lists_fresh; then
		apt_update
		updated=1
	fi
	say "      apt-get install $*"
	if ! apt_try apt-get install -y --no-install-recommends "$@"; then
		# lists older than the mirror name .debs it no longer has: refresh once
		if [ $updated -eq 0 ]; then
			say "      install failed; retrying after apt-get update"
			apt_update
		fi
		apt_run "apt-get install" apt-get install -y --no-install-recommends "$@" || exit 1
	fi
	local still
	still=$(missing_packages "$@")
	[ -z "$still" ] || die "apt-get reported success but these are not installed: $still"
}

check_packages() {
	step 1 "checking host packages (${#PACKAGES[@]})"
	local missing
	missing=$(missing_packages "${PACKAGES[@]}" | xargs)
	if [ -z "$missing" ]; then
		step 2 "host packages: all installed"
	else
		step 2 "installing host packages: $missing"
		# shellcheck disable=SC2086
		install_packages $missing
	fi
}

# clang -fsanitize=fuzzer needs a runtime that not every clang install has;
# check once per clang version rather than trusting the package list.
check_fuzzer() {
	local stamp=$VAR/stamps/libfuzzer version tmp
	version=$(clang --version 2>/dev/null | head -n1) ||
		die "clang does not run (package clang)"
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && return 0
	tmp=$(mktemp -d)
	if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
		clang -x c -fsanitize=fuzzer - -o "$tmp/fuzz" >"$tmp/log" 2>&1; then
		sed 's/^/  | /' "$tmp/log" >&2
		rm -rf "$tmp"
		die "clang -fsanitize=fuzzer cannot link; the libFuzzer runtime (libclang-rt-dev) is missing or broken"
	fi
	rm -rf "$tmp"
	mkdir -p "$(dirname "$stamp")"
	echo "$version" >"$stamp"
}

# The guest kernel ABI: recorded once, so a later archive update does not
# silently swap the kernel under a built image (rm -rf $VAR/guest to move on).
resolve_abi() {
	local abi dep
	if [ -n "${DDVM_ABI:-}" ]; then
		abi=$DDVM_ABI
	elif [ -s "$GUEST/abi" ]; then
		abi=$(cat "$GUEST/abi")
		step 3 "guest kernel ABI: $abi (recorded in $GUEST/abi)"
		ABI=$abi
		return
	else
		ensure_apt_lists
		dep=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
		[ -n "$dep" ] ||
			die "cannot resolve the kernel ABI: 'apt-cache depends linux-image-amd64' names no linux-image-*-amd64"
		abi=${dep#linux-image-}
	fi
	[[ $abi =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$ ]] ||
		die "kernel ABI '$abi' does not look like 6.1.0-56-amd64"
	mkdir -p "$GUEST"
	echo "$abi" >"$GUEST/abi.tmp"
	mv "$GUEST/abi.tmp" "$GUEST/abi"
	step 3 "guest kernel ABI: $abi (from linux-image-amd64)"
	ABI=$abi
}

install_headers() {
	local pkg=linux-headers-$ABI
	if [ -z "$(missing_packages "$pkg")" ] && [ -d "/usr/src/$pkg" ]; then
		step 4 "$pkg: installed"
		return
	fi
	step 4 "installing $pkg (to build the guest modules)"
	ensure_apt_lists
	install_packages "$pkg"
	[ -d "/usr/src/$pkg" ] || die "$pkg is installed but /usr/src/$pkg is missing"
}

download_image() {
	local pkg=linux-image-$ABI deb tmp
	deb=$(compgen -G "$GUEST/${pkg}_*_amd64.deb" | head -n1 || true)
	if [ -n "$deb" ]; then
		step 5 "$pkg: downloaded ($(basename "$deb"))"
		DEB=$deb
		return
	fi
	step 5 "downloading $pkg ..."
	ensure_apt_lists
	tmp=$(mktemp -d "$GUEST/download.XXXXXX")
	# apt's _apt sandbox user must be able to write the target directory
	is_root && id _apt >/dev/null 2>&1 && chown _apt "$tmp"
	if ! (cd "$tmp" && apt_run "apt-get download $pkg" apt-get download "$pkg"); then
		rm -rf "$tmp"
		die "could not download $pkg (no network, or the archive no longer has this ABI: rm $GUEST/abi and retry)"
	fi
	deb=$(compgen -G "$tmp/${pkg}_*_amd64.deb" | head -n1 || true)
	[ -n "$deb" ] || die "apt-get download $pkg left no ${pkg}_*_amd64.deb in $tmp"
	dpkg-deb --info "$deb" >/dev/null 2>&1 || die "$deb is not a valid .deb"
	mv "$deb" "$GUEST/"
	rm -rf "$tmp"
	DEB=$GUEST/$(basename "$deb")
}

unpack_image() {
	local root=$GUEST/root stamp=$GUEST/root/.ddvm-unpacked tmp
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(basename "$DEB")" ]; then
		step 6 "unpacked in $root"
		return
	fi
	step 6 "unpacking $(basename "$DEB") into $root ..."
	tmp=$GUEST/root.tmp
	rm -rf "$tmp"
	dpkg-deb -x "$DEB" "$tmp" || die "dpkg-deb -x $DEB failed"
	[ -f "$tmp/boot/vmlinuz-$ABI" ] || die "$DEB has no boot/vmlinuz-$ABI"
	[ -d "$tmp/lib/modules/$ABI/kernel" ] || die "$DEB has no lib/modules/$ABI/kernel"
	basename "$DEB" >"$tmp/.ddvm-unpacked"
	rm -rf "$root" "$GUEST/vmlinux"
	mv "$tmp" "$root"
}

# Reads a little-endian unsigned integer of @size bytes at @offset of @file.
read_le() {	# file offset size
	od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '
}

# Copies @count bytes at @offset of @file to stdout (no SIGPIPE games).
cut_bytes() {	# file offset count
	dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none
}

# The bzImage's xz payload, located through the boot protocol header
# (setup_sects, payload_offset, payload_length; protocol >= 2.08) rather
# than by searching for the xz magic, so the cut is exact.  The kernel build
# appends the uncompressed size as 4 bytes, which checks the result.
extract_vmlinux() {
	local bz=$GUEST/root/boot/vmlinuz-$ABI out=$GUEST/vmlinux tmp
	local setup_sects poff plen start want got
	if [ -f "$out" ] && [ -f "$GUEST/vmlinux.ok" ] && [ "$(cat "$GUEST/vmlinux.ok")" = "$ABI" ]; then
		step 7 "vmlinux: $out"
		return
	fi
	step 7 "extracting an uncompressed vmlinux from $(basename "$bz") ..."
	[ "$(cut_bytes "$bz" $((0x202)) 4)" = HdrS ] ||
		die "$bz is not a bzImage (no HdrS boot header)"
	[ "$(read_le "$bz" $((0x206)) 2)" -ge $((0x208)) ] ||
		die "$bz: boot protocol older than 2.08 has no payload fields"
	setup_sects=$(read_le "$bz" $((0x1f1)) 1)
	[ "$setup_sects" -ne 0 ] || setup_sects=4
	poff=$(read_le "$bz" $((0x248)) 4)
	plen=$(read_le "$bz" $((0x24c)) 4)
	start=$(((setup_sects + 1) * 512 + poff))
	[ "$(cut_bytes "$bz" "$start" 6 | od -An -tx1 | tr -d ' ')" = fd377a585a00 ] ||
		die "$bz: payload is not xz (Debian builds CONFIG_KERNEL_XZ=y; did the config change?)"
	want=$(read_le "$bz" $((start + plen - 4)) 4)
	tmp=$out.tmp
	cut_bytes "$bz" "$start" "$plen" | xz -dc --single-stream >"$tmp" ||
		die "xz could not decompress the payload of $bz"
	got=$(stat -c %s "$tmp")
	[ "$got" = "$want" ] || die "vmlinux from $bz is $got bytes, the bzImage says $want"
	file -b "$tmp" | grep -q '^ELF 64-bit LSB executable, x86-64' ||
		die "vmlinux from $bz is not an x86-64 ELF executable: $(file -b "$tmp")"
	# QEMU boots an ELF -kernel through its PVH entry (XEN_ELFNOTE_PHYS32_ENTRY = 18)
	readelf -n "$tmp" | grep -E '^ +Xen +0x[0-9a-f]+' | grep -qE '\(0x0*12\)|PHYS32' ||
		die "vmlinux from $bz has no Xen PHYS32_ENTRY note (CONFIG_PVH): QEMU cannot boot it directly"
	mv "$tmp" "$out"
	echo "$ABI" >"$GUEST/vmlinux.ok"
}

run_depmod() {
	local root=$GUEST/root dep=$GUEST/root/lib/modules/$ABI/modules.dep
	if [ -s "$dep" ]; then
		step 8 "modules.dep: present"
		return
	fi
	step 8 "depmod -b $root $ABI (the .deb ships no modules.dep) ..."
	depmod -b "$root" "$ABI" || die "depmod -b $root $ABI failed (package kmod)"
	[ -s "$dep" ] || die "depmod left no $dep"
}

summary() {
	local accel
	if [ -x "$TOP/build/ddvm" ]; then
		accel=$("$TOP/build/ddvm" accel 2>&1 | head -n1) || accel="unknown: $accel"
	else
		accel="not checked yet (build/ddvm not built; run 'make host' then 'build/ddvm accel')"
	fi
	say "done."
	say "  kernel ABI:  $ABI"
	say "  vmlinux:     $GUEST/vmlinux"
	say "  modules:     $GUEST/root/lib/modules/$ABI"
	say "  headers:     /usr/src/linux-headers-$ABI"
	say "  accelerator: $accel"
}

main() {
	mkdir -p "$VAR"
	# two "make test" runs in one tree must not unpack into each other
	exec 9>"$VAR/.setup.lock"
	flock 9
	check_packages
	check_fuzzer
	resolve_abi
	install_headers
	download_image
	unpack_image
	extract_vmlinux
	run_depmod
	summary
}

main "$@"
