#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the DD/OS initramfs images from what setup.sh prepared: busybox,
# guest/init, the stock drivers with their dependency closure and ddvm.ko.
#
#   $BUILD/guest/initramfs.cpio        the driver domain (a few MiB)
#   $BUILD/guest/initramfs-bench.cpio  the same plus fio, iperf3, mke2fs,
#                                      e2fsck and their libraries: in-guest
#                                      "native" benchmarks, and the client-VM
#                                      image (ddvm.mode=client)
#
# Both carry ddvm_front.ko (the client VMs' front-end module) when
# guest/front was built: it is small, and one image per role is enough.
#
# fio is kept out of the serving image on purpose: Debian's fio links ceph,
# gluster, rdma and (through libxml2) ICU, about 85 MB, which would not even
# unpack in a 192 MiB DD/OS and would slow every restart.  The bench image is
# the serving archive with a second newc archive appended; the kernel unpacks
# concatenated archives in order.
#
# Both are uncompressed newc: QEMU loads them as they are and the guest does
# no decompression under TCG.  Output is deterministic (sorted, owner 0,
# mtime 0) and rebuilt only when an input changed.
#
#   BUILD=DIR VAR=DIR   as in the Makefile (defaults build, var)
#   FORCE=1             rebuild even if up to date
set -euo pipefail

# Stock drivers in the image: disk controllers (virtio-blk, NVMe, q35's
# ich9-ahci), NICs (virtio-net, e1000, e1000e, and for rtl8139 both 8139cp,
# which drives QEMU's RTL8139C+, and 8139too for older chips), the i6300esb
# watchdog and pvpanic, and ext4 for client VMs' file systems (the kernel
# loads it itself on mount, through busybox modprobe).  sd_mod and virtio_pci are named because udev would
# load them by modalias, not as dependencies.  Each comes with its closure
# (modules.dep plus softdeps); stage_modules checks that each loads.
DRIVERS=(
	virtio_pci virtio_blk
	nvme
	ahci libahci libata sd_mod scsi_mod
	virtio_net e1000 e1000e 8139cp 8139too
	i6300esb pvpanic-pci
	ext4
)

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOP=$PWD
BUILD=$(realpath -m -- "${BUILD:-build}")
VAR=$(realpath -m -- "${VAR:-var}")
OUTDIR=$BUILD/guest
OUT=$OUTDIR/initramfs.cpio
OUT_BENCH=$OUTDIR/initramfs-bench.cpio
MANIFEST=$OUTDIR/initramfs.inputs
DDVM_KO=$TOP/guest/modules/ddvm.ko
BUSYBOX=/bin/busybox
FIO=/usr/bin/fio
# the native side of "ddvm bench net" (setup.sh installs it)
IPERF3=/usr/bin/iperf3
# client VMs format and check their disks (busybox has no ext4 mkfs or fsck)
E2FS=(/usr/sbin/mke2fs /usr/sbin/e2fsck)
DDVM_FRONT_KO=$TOP/guest/front/ddvm_front.ko
# one fixed mtime for every file in the archives (reproducible builds)
EPOCH=${SOURCE_DATE_EPOCH:-0}

say() {
	echo "mkinitramfs: $*"
}

die() {
	echo "mkinitramfs: error: $*" >&2
	exit 1
}

check_inputs() {
	[ -s "$VAR/guest/abi" ] || die "$VAR/guest/abi is missing: run 'make setup' first"
	ABI=$(cat "$VAR/guest/abi")
	KROOT=$VAR/guest/root
	MODDIR=$KROOT/lib/modules/$ABI
	[ -s "$MODDIR/modules.dep" ] ||
		die "$MODDIR/modules.dep is missing: run 'make setup' (it unpacks the kernel and runs depmod)"
	[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing (package busybox-static)"
	file -b "$BUSYBOX" | grep -q 'statically linked' ||
		die "$BUSYBOX is not statically linked: install busybox-static, not busybox"
	[ -x "$FIO" ] || die "$FIO is missing (package fio)"
	[ -x "$IPERF3" ] || die "$IPERF3 is missing (package iperf3)"
	local f
	for f in "${E2FS[@]}"; do
		[ -x "$f" ] || die "$f is missing (package e2fsprogs)"
	done
	[ -f guest/init/init ] || die "guest/init/init is missing"
}

# Paths (relative to $KROOT) of the .ko files that loading @module needs,
# itself included.  modprobe -D reads the unpacked tree's modules.dep and
# softdeps; -C /dev/null keeps the host's /etc/modprobe.d out of it.
module_closure() {	# module
	local out
	out=$(modprobe -D -C /dev/null -d "$KROOT" -S "$ABI" "$1" 2>&1) ||
		die "module $1 is not in $MODDIR (modprobe -D: $out)"
	sed -n "s|^insmod $KROOT/\\(lib/modules/[^ ]*\\.ko\\) *.*|\\1|p" <<<"$out"
}

# Everything a program loads: the binary, its ldd closure and the dynamic loader.
fio_files() {	# [program]
	local out bin=${1:-$FIO}
	out=$(ldd "$bin") || die "ldd $bin failed"
	grep -q 'not found' <<<"$out" && die "$bin has missing libraries: $(grep 'not found' <<<"$out" | xargs)"
	echo "$bin"
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' <<<"$out"
}

# The stock modules one of our .ko files needs (space-separated; none if absent).
ko_deps() {	# ko
	[ -f "$1" ] || return 0
	modinfo -F depends "$1" | tr , ' '
}

collect_inputs() {
	local m
	MODULES=$(for m in "${DRIVERS[@]}"; do module_closure "$m"; done | sort -u)
	DDVM_DEPS=$(ko_deps "$DDVM_KO")
	FRONT_DEPS=$(ko_deps "$DDVM_FRONT_KO")
	for m in $DDVM_DEPS $FRONT_DEPS; do
		MODULES+=$'\n'$(module_closure "$m")
	done
	MODULES=$(sort -u <<<"$MODULES")
	FIO_FILES=$({
		fio_files
		fio_files "$IPERF3"
		for m in "${E2FS[@]}"; do fio_files "$m"; done
		echo /etc/mke2fs.conf
	} | sort -u)
}

# One line per input (path, size, mtime) plus the settings; when this is
# unchanged the images are up to date.
manifest() {
	local f
	echo "abi $ABI"
	echo "drivers ${DRIVERS[*]}"
	echo "epoch $EPOCH"
	{
		echo "$TOP/scripts/mkinitramfs.sh"
		echo "$BUSYBOX"
		find "$TOP/guest/init" -type f
		[ -f "$DDVM_KO" ] && echo "$DDVM_KO"
		[ -f "$DDVM_FRONT_KO" ] && echo "$DDVM_FRONT_KO"
		echo "$MODDIR/modules.dep"
		for f in $MODULES; do echo "$KROOT/$f"; done
		echo "$FIO_FILES"
	} | sort -u | xargs -d '\n' stat -L -c '%n %s %Y'
	[ -f "$DDVM_KO" ] || echo "no ddvm.ko"
}

stage_busybox() {	# stage
	local s=$1 link
	mkdir -p "$s/bin"
	cp "$BUSYBOX" "$s/bin/busybox"
	# every applet as a symlink at its usual place (bin/sh, sbin/modprobe, ...)
	for link in $("$BUSYBOX" --list-full); do
		[ "$link" = bin/busybox ] && continue
		mkdir -p "$s/$(dirname "$link")"
		ln -sf /bin/busybox "$s/$link"
	done
}

stage_modules() {	# stage
	local s=$1 f m
	for f in $MODULES; do
		mkdir -p "$s/$(dirname "$f")"
		cp "$KROOT/$f" "$s/$f"
	done
	for f in modules.builtin modules.builtin.modinfo; do
		[ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$s/lib/modules/$ABI/"
	done
	# depmod wants modules.order; keep the stock order of what we ship
	sed 's|^|lib/modules/'"$ABI"'/|' "$MODDIR/modules.order" |
		grep -Fx -f <(echo "$MODULES") | sed 's|^lib/modules/'"$ABI"'/||' \
		>"$s/lib/modules/$ABI/modules.order" || true
	# busybox modprobe in the guest reads this tree's own modules.dep
	depmod -b "$s" "$ABI" || die "depmod -b $s $ABI failed"
	for m in "${DRIVERS[@]}"; do
		modprobe -D -C /dev/null -d "$s" -S "$ABI" "$m" >/dev/null 2>&1 ||
			die "staged modules cannot load $m (closure incomplete?)"
	done
	if [ -f "$DDVM_KO" ]; then
		stage_ko "$s" "$DDVM_KO" ddvm.ko deps "$DDVM_DEPS"
	else
		say "warning: $DDVM_KO not built; the image can boot (mode=shell/bench) but not serve"
	fi
	if [ -f "$DDVM_FRONT_KO" ]; then
		stage_ko "$s" "$DDVM_FRONT_KO" ddvm_front.ko front-deps "$FRONT_DEPS"
	fi
}

# One of our modules into /lib/modules/ddvm, with the stock modules it needs
# listed beside it (insmod resolves none; init loads them first).
stage_ko() {	# stage ko name depsfile deps
	local s=$1 magic
	magic=$(modinfo -F vermagic "$2")
	[ "${magic%% *}" = "$ABI" ] ||
		die "$2 was built for '${magic%% *}', the guest kernel is $ABI: rebuild it (make modules)"
	mkdir -p "$s/lib/modules/ddvm"
	cp "$2" "$s/lib/modules/ddvm/$3"
	echo "$5" >"$s/lib/modules/ddvm/$4"
}

stage_base() {	# stage
	local s=$1
	mkdir -p "$s"/{dev,proc,sys,tmp,run,root,etc,mnt,ddvm}
	chmod 1777 "$s/tmp"
	stage_busybox "$s"
	stage_modules "$s"
	install -m 0755 guest/init/init "$s/init"
	# in-image bench scripts for ddvm.run= (guest/init/run/NAME -> /ddvm/run/NAME)
	if [ -d guest/init/run ]; then
		mkdir -p "$s/ddvm/run"
		cp -r guest/init/run/. "$s/ddvm/run/"
		chmod -R a+rX "$s/ddvm/run"
	fi
	echo "$ABI" >"$s/etc/ddvm-abi"
}

stage_fio() {	# stage
	local s=$1 f
	for f in $FIO_FILES; do
		mkdir -p "$s/$(dirname "$f")"
		cp -L "$f" "$s/$f"
	done
	# the names people type; the busybox applets of the same names are
	# in sbin, behind usr/sbin in PATH
	ln -sf mke2fs "$s/usr/sbin/mkfs.ext4"
	ln -sf e2fsck "$s/usr/sbin/fsck.ext4"
}

# Host-side check that the staged fio finds all its libraries: run it in a
# chroot of base + fio layer (root only; the guest test covers the rest).
check_fio() {	# base fio
	local t
	is_root || return 0
	t=$(mktemp -d "$OUTDIR/fiocheck.XXXXXX")
	cp -al "$1/." "$2/." "$t/"
	if ! chroot "$t" /usr/bin/fio --version >/dev/null 2>&1; then
		rm -rf "$t"
		die "fio does not run from the staged libraries (chroot $t /usr/bin/fio --version)"
	fi
	if ! chroot "$t" "$IPERF3" --version >/dev/null 2>&1; then
		rm -rf "$t"
		die "iperf3 does not run from the staged libraries (chroot $t $IPERF3 --version)"
	fi
	if ! chroot "$t" /usr/sbin/mkfs.ext4 -V >/dev/null 2>&1; then
		rm -rf "$t"
		die "mkfs.ext4 does not run from the staged libraries (chroot $t /usr/sbin/mkfs.ext4 -V)"
	fi
	rm -rf "$t"
}

is_root() {
	[ "$(id -u)" -eq 0 ]
}

# newc archive of @dir with sorted names, owner root, one mtime.
pack() {	# dir out
	find "$1" -exec touch -h -d "@$EPOCH" {} +
	(cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		cpio --quiet -o -H newc --reproducible -R 0:0) >"$2" ||
		die "cpio failed for $2"
}

main() {
	local want
	check_inputs
	collect_inputs
	mkdir -p "$OUTDIR"
	want=$(manifest)
	if [ "${FORCE:-0}" != 1 ] && [ -f "$OUT" ] && [ -f "$OUT_BENCH" ] &&
		[ -f "$MANIFEST" ] && [ "$want" = "$(cat "$MANIFEST")" ]; then
		say "up to date: $OUT"
		return
	fi
	STAGE=$(mktemp -d "$OUTDIR/stage.XXXXXX")
	tmp=$STAGE
	trap 'rm -rf "$STAGE"' EXIT
	stage_base "$tmp/base"
	stage_fio "$tmp/fio"
	check_fio "$tmp/base" "$tmp/fio"
	pack "$tmp/base" "$tmp/base.cpio"
	pack "$tmp/fio" "$tmp/fio.cpio"
	cat "$tmp/base.cpio" "$tmp/fio.cpio" >"$tmp/bench.cpio"
	mv "$tmp/base.cpio" "$OUT"
	mv "$tmp/bench.cpio" "$OUT_BENCH"
	echo "$want" >"$MANIFEST"
	say "$OUT: $(($(stat -c %s "$OUT") / 1024)) KiB, $(wc -l <<<"$MODULES") modules, ddvm.ko: $([ -f "$DDVM_KO" ] && echo yes || echo no)"
	say "$OUT_BENCH: $(($(stat -c %s "$OUT_BENCH") / 1024)) KiB (adds fio, iperf3, e2fsprogs), ddvm_front.ko: $([ -f "$DDVM_FRONT_KO" ] && echo yes || echo no)"
}

main "$@"
