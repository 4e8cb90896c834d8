#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the DD/OS image under QEMU once per disk controller and checks the
# init contract on the serial console (DDVM-READY / DDVM-FAIL), printing the
# host wall time from QEMU start to that line.  A hand-run smoke check, not a
# test tier: timings are reported, never judged.
#
#   scripts/boot-smoke.sh [CASE ...]    cases: virtio-blk nvme ahci fio serve
#                                       serve-nodev nodisk badmode (default: all)
#   BUILD=DIR VAR=DIR  as in the Makefile;  TIMEOUT=s per boot (default 60)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=$(realpath -m -- "${BUILD:-build}")
VAR=$(realpath -m -- "${VAR:-var}")
TIMEOUT=${TIMEOUT:-60}
VMLINUX=$VAR/guest/vmlinux
INITRD=$BUILD/guest/initramfs.cpio
INITRD_BENCH=$BUILD/guest/initramfs-bench.cpio
ACCEL=${DDVM_QEMU_ACCEL:-tcg,thread=multi}
FAILED=0

die() {
	echo "boot-smoke: error: $*" >&2
	exit 1
}

# Boots once; sets LOG, RESULT (READY, FAIL, SHELL or TIMEOUT) and SECS.
# The console is scanned live so SECS is QEMU start to the marker line.
boot() {	# name initrd mem append qemu-args...
	local name=$1 initrd=$2 mem=$3 append=$4 t0 line pid
	shift 4
	LOG=$WORK/$name.log
	: >"$LOG"
	t0=$(date +%s%N)
	RESULT=TIMEOUT
	SECS=-
	exec {fd}< <(exec timeout "$TIMEOUT" qemu-system-x86_64 -M q35 -accel "$ACCEL" \
		-m "$mem" -nodefaults -no-user-config -display none \
		-kernel "$VMLINUX" -initrd "$initrd" -serial stdio \
		-append "console=ttyS0 loglevel=5 $append" "$@" 2>&1)
	pid=$!
	while IFS= read -r line <&"$fd"; do
		echo "$line" >>"$LOG"
		case $line in
		*DDVM-READY*|*DDVM-FAIL:*|*DDVM-SHELL*)
			if [ "$RESULT" = TIMEOUT ]; then
				SECS=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
				case $line in
				*DDVM-READY*) RESULT=READY ;;
				*DDVM-FAIL:*) RESULT=FAIL ;;
				*) RESULT=SHELL ;;
				esac
				# serve never powers off by itself; the marker is all we need
				[ "$RESULT" = READY ] && [[ $append != *ddvm.mode=bench* ]] && kill "$pid" 2>/dev/null
			fi
			;;
		esac
	done
	exec {fd}<&-
	wait "$pid" 2>/dev/null || true
}

expect() {	# name want-result [grep-pattern-in-log]
	local name=$1 want=$2 pat=${3:-}
	if [ "$RESULT" != "$want" ]; then
		echo "FAIL  $name: got $RESULT, want $want (console: $LOG)"
		grep -E 'DDVM|ddvm-init' "$LOG" | sed 's/^/      | /'
		FAILED=$((FAILED + 1))
		return
	fi
	# too little guest memory shows only here; init would carry on without fio
	if grep -q 'Initramfs unpacking failed' "$LOG"; then
		echo "FAIL  $name: $(grep -o 'Initramfs unpacking failed.*' "$LOG" | head -n1) (more -m?)"
		FAILED=$((FAILED + 1))
		return
	fi
	if [ -n "$pat" ] && ! grep -qE "$pat" "$LOG"; then
		echo "FAIL  $name: $RESULT but no /$pat/ on the console ($LOG)"
		FAILED=$((FAILED + 1))
		return
	fi
	printf 'ok    %-11s %-6s %6s s  %s\n' "$name" "$RESULT" "$SECS" \
		"$(grep -o 'ddvm-init: [a-z ]*after [0-9.]* s' "$LOG" | head -n1 | sed 's/ddvm-init: //')"
}

disk() {	# name -> path of a fresh 64 MiB raw image
	local f=$WORK/$1.img
	truncate -s 64M "$f"
	echo "$f"
}

case_ctrl() {	# virtio-blk|nvme|ahci
	local c=$1 img dev args
	img=$(disk "$c")
	case $c in
	virtio-blk) dev=/dev/vda; args=(-device "virtio-blk-pci,drive=d0") ;;
	nvme) dev=/dev/nvme0n1; args=(-device "nvme,serial=ddvm0,drive=d0") ;;
	ahci) dev=/dev/sda; args=(-device "ide-hd,drive=d0,bus=ide.0") ;;
	esac
	boot "$c" "$INITRD" 192 "ddvm.mode=bench ddvm.disk=$c ddvm.run=/ddvm/run/info" \
		-drive "file=$img,if=none,id=d0,format=raw,cache=unsafe" "${args[@]}"
	expect "$c" READY "block: ${dev#/dev/} 131072 sectors"
}

# fio runs inside the bench image (its libraries all made it in).  The
# bench image needs -m 384: at 256 MiB the guest runs out of memory unpacking.
case_fio() {
	local img cmd
	img=$(disk fio)
	cmd=$(printf 'fio --version\nfio --name=r --filename=/dev/vda --rw=randread --bs=4k --size=16M --direct=1 --runtime=2 --time_based --output-format=terse >/dev/null && echo fio-run-ok\n' | base64 -w0)
	boot fio "$INITRD_BENCH" 384 "ddvm.mode=bench ddvm.disk=virtio-blk ddvm.cmd=$cmd" \
		-drive "file=$img,if=none,id=d0,format=raw,cache=unsafe" -device virtio-blk-pci,drive=d0
	expect fio READY 'fio-run-ok'
	grep -q 'DDVM-BENCH-END 0' "$LOG" || { echo "FAIL  fio: bench script did not exit 0"; FAILED=$((FAILED + 1)); }
}

# serve: a hub channel reaches the DD/OS as an ivshmem-doorbell device at
# 0000:00:10.0 and ddvm.ko serves /dev/vda on it.
case_serve() {
	local img hub=$WORK/hub
	img=$(disk serve)
	if [ ! -f guest/modules/ddvm.ko ]; then
		boot serve "$INITRD" 192 "ddvm.disk=virtio-blk ddvm.exports=0000:00:10.0=blk:/dev/vda" \
			-drive "file=$img,if=none,id=d0,format=raw,cache=unsafe" -device virtio-blk-pci,drive=d0
		expect serve FAIL 'DDVM-FAIL: /lib/modules/ddvm/ddvm.ko is not in this image'
		return
	fi
	[ -x "$BUILD/ddvm" ] || die "$BUILD/ddvm missing (make host): the serve case needs its hub"
	mkdir -p "$hub"
	"$BUILD/ddvm" hub "$hub" c0=16M 2>"$WORK/hub.log" &
	HUB_PID=$!
	for _ in $(seq 100); do
		[ -S "$hub/c0.sock" ] && break
		sleep 0.05
	done
	[ -S "$hub/c0.sock" ] || die "the hub did not create $hub/c0.sock"
	boot serve "$INITRD" 192 "ddvm.disk=virtio-blk ddvm.exports=0000:00:10.0=blk:/dev/vda" \
		-drive "file=$img,if=none,id=d0,format=raw,cache=unsafe" -device virtio-blk-pci,drive=d0 \
		-chardev "socket,path=$hub/c0.sock,id=ch0" -device "ivshmem-doorbell,chardev=ch0,vectors=1,addr=0x10"
	kill "$HUB_PID"
	wait "$HUB_PID" 2>/dev/null || true
	HUB_PID=
	expect serve READY
}

# ddvm.ko refuses an export with no ivshmem device behind it: FAIL, naming it
case_serve_nodev() {
	local img
	[ -f guest/modules/ddvm.ko ] || return 0
	img=$(disk serve-nodev)
	boot serve-nodev "$INITRD" 192 "ddvm.disk=virtio-blk ddvm.exports=0000:00:10.0=blk:/dev/vda" \
		-drive "file=$img,if=none,id=d0,format=raw,cache=unsafe" -device virtio-blk-pci,drive=d0
	expect serve-nodev FAIL 'DDVM-FAIL: insmod ddvm.ko'
}

# the disk never appears: a bounded wait, then a FAIL naming the device
case_nodisk() {
	boot nodisk "$INITRD" 192 "ddvm.disk=virtio-blk ddvm.timeout=2 ddvm.exports=0000:00:10.0=blk:/dev/vda"
	expect nodisk FAIL 'DDVM-FAIL: /dev/vda did not appear'
}

case_badmode() {
	boot badmode "$INITRD" 192 "ddvm.mode=bogus ddvm.disk=virtio-blk"
	expect badmode FAIL "DDVM-FAIL: unknown ddvm.mode='bogus'"
}

main() {
	local c cases=("$@")
	[ ${#cases[@]} -gt 0 ] || cases=(virtio-blk nvme ahci fio serve serve-nodev nodisk badmode)
	[ -f "$VMLINUX" ] || die "$VMLINUX missing: run 'make setup'"
	[ -f "$INITRD" ] || die "$INITRD missing: run 'make image'"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (package qemu-system-x86)"
	WORK=$(mktemp -d /tmp/ddvm-boot-smoke.XXXXXX)
	HUB_PID=
	trap '[ -z "$HUB_PID" ] || kill "$HUB_PID" 2>/dev/null' EXIT
	echo "boot-smoke: accel $ACCEL, logs in $WORK"
	for c in "${cases[@]}"; do
		case $c in
		virtio-blk|nvme|ahci) case_ctrl "$c" ;;
		fio|serve|nodisk|badmode) "case_$c" ;;
		serve-nodev) case_serve_nodev ;;
		*) die "unknown case '$c' (virtio-blk nvme ahci fio serve serve-nodev nodisk badmode)" ;;
		esac
	done
	rm -f "$WORK"/*.img
	[ $FAILED -eq 0 ] || die "$FAILED case(s) failed"
	echo "boot-smoke: all passed"
}

main "$@"
