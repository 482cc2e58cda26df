# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Host side of the VM tests: picks the Debian kernel the VM boots, builds
# gpio-sim for it, packs an initramfs and boots it in qemu: with KVM where
# the CPU offers it, else by software emulation (CI's machines have no
# hardware virtualisation; emulated, the VM still boots in seconds).
#
# A test script sources this, then:
#   vm_require                      # or exit 77 (skipped), saying why
#   vm_prepare                      # kernel, vmlinux and modules, cached
#   vm_initramfs SCENARIO BINARY... # BINARY: into /usr/bin, with its libraries
#   vm_boot                         # runs SCENARIO in the VM; its result
#
# Environment: VM_CACHE (where built modules are kept; default
# ./vm-cache), VM_TIMEOUT (seconds the VM may run; default 90),
# LOKERBUKU_VM_KERNEL (a kernel release such as 6.12.117+deb12-amd64 to use
# instead of the newest one installed), VM_ACCEL (kvm or tcg, instead of
# the guess), KEEP_WORK (keep the scratch folder), VM_DISK (a raw disk
# image the VM gets as /dev/vda, with the drivers for it and for ext4;
# set it before vm_initramfs), VM_APPEND (more kernel command line, which
# the scenario reads in /proc/cmdline).
#
# A test that runs qemu itself (to kill it, say) calls vm_qemu_command and
# runs "${VM_QEMU[@]}" instead of vm_boot.
set -euo pipefail

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${VM_CACHE:-$PWD/vm-cache}
VM_TIMEOUT=${VM_TIMEOUT:-90}
VM_WORK=$(mktemp -d /tmp/lokerbuku-vm.XXXXXX)
vm_cleanup() {
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$VM_WORK"
}
trap vm_cleanup EXIT

vm_log() { echo "vm: $*"; }

# Exits 77, which CTest reports as skipped, with the reason where it shows.
vm_skip() {
	{
		echo "################################################################"
		echo "## SKIPPED: $*"
		echo "## (tools/bootstrap installs what the VM test needs)"
		echo "################################################################"
	} >&2
	exit 77
}

# The newest installed linux-image-6.*-amd64 with its headers and the
# source of its series: "RELEASE VERSION SOURCE-TARBALL".
vm_find_kernel() {
	local abi rel ver tarball

	for abi in $(dpkg-query -W -f='${db:Status-Abbrev}${Package}\n' \
		'linux-image-6.*' 2>/dev/null | sed -n 's/^ii *//p' |
		grep -E '^linux-image-6\.[0-9]+\.[0-9]+[^ ]*-amd64$' |
		grep -vE -- '-(rt|cloud)-amd64$' |
		sed 's/^linux-image-//; s/-amd64$//' | sort -rV); do
		rel=$abi-amd64
		[ -z "${LOKERBUKU_VM_KERNEL:-}" ] ||
			[ "$rel" = "$LOKERBUKU_VM_KERNEL" ] || continue
		ver=$(dpkg-query -W -f='${Version}' "linux-image-$rel")
		tarball=/usr/src/linux-source-$(echo "$ver" | cut -d. -f1,2).tar.xz
		[ -r "/boot/vmlinuz-$rel" ] || continue
		[ -f "/lib/modules/$rel/build/Makefile" ] || continue
		[ -r "$tarball" ] || continue
		echo "$rel $ver $tarball"
		return 0
	done
	return 1
}

# Checks everything the VM test needs is here, or skips it loudly.
vm_require() {
	local tool

	[ "$(uname -m)" = x86_64 ] ||
		vm_skip "the VM test boots Debian's amd64 kernel; this is $(uname -m)"
	for tool in qemu-system-x86_64 cpio make strip readelf ldd zstd xz timeout flock; do
		command -v "$tool" >/dev/null ||
			vm_skip "no $tool (Debian: qemu-system-x86, cpio, make, binutils, libc-bin, zstd, xz-utils, coreutils, util-linux)"
	done
	[ -x /bin/busybox ] || vm_skip "no /bin/busybox (Debian: busybox-static)"
	VM_KERNEL=$(vm_find_kernel) ||
		vm_skip "no linux-image-6.*-amd64 installed together with its linux-headers and linux-source${LOKERBUKU_VM_KERNEL:+ (asked for $LOKERBUKU_VM_KERNEL)}"
	read -r VM_RELEASE VM_VERSION VM_SOURCE <<<"$VM_KERNEL"
}

# The uncompressed kernel inside a bzImage, found as the kernel's
# extract-vmlinux does; kept only when qemu can boot it (a PVH entry note).
vm_extract_vmlinux() {
	local img=$1 out=$2 tool magic pos

	for tool in zstd xz; do
		case $tool in
		zstd) magic=$'\x28\xb5\x2f\xfd' ;;
		xz) magic=$'\xfd7zXZ' ;;
		esac
		while read -r pos; do
			# Whatever follows the payload makes the tool complain.
			tail -c +$((pos + 1)) "$img" | "$tool" -dcq >"$out" 2>/dev/null ||
				true
			# XEN_ELFNOTE_PHYS32_ENTRY (0x12): the PVH entry point.
			readelf -n "$out" 2>/dev/null |
				grep -qE 'Xen.*(0x00000012|PHYS32_ENTRY)' && return 0
		done < <(LC_ALL=C grep -abo "$magic" "$img" | cut -d: -f1)
	done
	rm -f "$out"
	return 1
}

# gpio-sim (with irq_sim, which it needs and Debian does not build) as one
# out-of-tree module for the kernel the VM boots, and the modules it needs.
vm_build_modules() {
	local dir=$1 src=$VM_WORK/gpio-sim top f objs ko out

	mkdir -p "$src"
	top=$(basename "$VM_SOURCE" .tar.xz)
	vm_log "building gpio-sim from $VM_SOURCE for $VM_RELEASE (once; cached)"
	# One pass over the tarball (it takes seconds). dev-sync-probe.* only
	# exists from 6.15 on, so tar may complain about it: check what came out.
	tar -xJf "$VM_SOURCE" -C "$src" --strip-components=3 --wildcards \
		"$top/drivers/gpio/gpio-sim.c" "$top/drivers/gpio/gpiolib.h" \
		"$top/drivers/gpio/dev-sync-probe.*" "$top/kernel/irq/irq_sim.c" \
		2>/dev/null || true
	for f in gpio-sim.c gpiolib.h irq_sim.c; do
		if [ ! -f "$src/$f" ]; then
			echo "vm: no $f in $VM_SOURCE" >&2
			return 1
		fi
	done
	# A module cannot call irq_to_desc(); generic_handle_irq() does the same.
	sed -i 's/handle_simple_irq(irq_to_desc(\([a-z_]*\)))/generic_handle_irq(\1)/' \
		"$src/irq_sim.c"
	if grep -q 'irq_to_desc' "$src"/*.c; then
		echo "vm: irq_to_desc() still called after the patch" >&2
		return 1
	fi
	# gpio-sim puts a released output back to its pull, which hides the
	# level lokerd left a lock at when it let go. Keep the level last
	# driven instead, so the test sees it. (Controllers differ: the Pi's
	# makes a released line an input, which is why docs/hardware.md has
	# the pulls hold the lock drivers off.)
	perl -0pi -e 's/(\n(\s*))(__assign_bit\(offset, chip->value_map,\s*!!test_bit\(offset, chip->pull_map\)\);)/$1if (test_bit(offset, chip->direction_map))$1\t$3/g' \
		"$src/gpio-sim.c"
	if ! grep -q 'if (test_bit(offset, chip->direction_map))' "$src/gpio-sim.c"; then
		echo "vm: gpio_sim_free() not patched to keep output levels" >&2
		return 1
	fi
	objs="gpio-sim.o irq_sim.o"
	[ ! -f "$src/dev-sync-probe.c" ] || objs="$objs dev-sync-probe.o"
	printf 'obj-m := gpiosim.o\ngpiosim-y := %s\n' "$objs" >"$src/Kbuild"
	if ! make -s -C "/lib/modules/$VM_RELEASE/build" M="$src" modules \
		>"$src/build.log" 2>&1; then
		cat "$src/build.log" >&2
		return 1
	fi
	strip --strip-debug -o "$dir/gpiosim.ko" "$src/gpiosim.ko"
	# configfs for gpio-sim, evdev and uinput for the scanner, unless
	# built in; Debian compresses its modules.
	for f in fs/configfs/configfs drivers/input/evdev \
		drivers/input/misc/uinput; do
		ko=$(find "/lib/modules/$VM_RELEASE/kernel/$(dirname "$f")" \
			-maxdepth 1 -name "$(basename "$f").ko*" 2>/dev/null |
			head -n 1)
		[ -z "$ko" ] || vm_unpack_module "$ko" "$dir/$(basename "$f").ko"
	done
	vm_disk_modules "$dir/disk"
}

# A module as the kernel loads it: Debian compresses its modules.
vm_unpack_module() {
	case $1 in
	*.xz) xz -dc "$1" >"$2" ;;
	*.zst) zstd -dcq "$1" >"$2" ;;
	*.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# For VM_DISK: virtio-blk, ext4 and crc32c (ext4's checksums, a soft
# dependency modules.dep does not list) with what they depend on, each
# unless built in, into DIR with "order", the order to load them in.
vm_disk_modules() {
	local dir=$1 mods=/lib/modules/$VM_RELEASE name line path dep

	mkdir -p "$dir"
	: >"$dir/order"
	for name in virtio_blk crc32c_generic ext4; do
		line=$(grep -E "/${name//_/[_-]}\.ko(\.[a-z]+)?:" "$mods/modules.dep" ||
			true)
		if [ -z "$line" ]; then
			grep -qE "/${name//_/[_-]}\.ko\$" "$mods/modules.builtin" && continue
			echo "vm: no module $name for $VM_RELEASE" >&2
			return 1
		fi
		# modules.dep lists every dependency, the one to load last first.
		for path in $(echo "${line#*:}" | tr ' ' '\n' | tac) "${line%%:*}"; do
			dep=$(basename "$path" | sed 's/\.ko.*//')
			grep -qx "$dep" "$dir/order" && continue
			vm_unpack_module "$mods/$path" "$dir/$dep.ko"
			echo "$dep" >>"$dir/order"
		done
	done
}

# Kernel, uncompressed kernel and modules under $VM_CACHE/RELEASE, made
# once per kernel and source version; sets VM_BOOT_KERNEL and VM_MODULES.
vm_prepare() {
	local key dir tmp

	key="$VM_RELEASE $VM_VERSION $(stat -c '%s %Y' "$VM_SOURCE") $(sha1sum "$VM_LIB_DIR/lib.sh" | cut -c1-12)"
	dir=$VM_CACHE/$VM_RELEASE
	mkdir -p "$VM_CACHE"
	exec 9>"$VM_CACHE/.lock"
	flock 9
	if [ "$(cat "$dir/key" 2>/dev/null)" != "$key" ]; then
		tmp=$(mktemp -d "$VM_CACHE/.new.XXXXXX")
		if ! vm_build_modules "$tmp"; then
			rm -rf "$tmp"
			echo "vm: FAILED to build gpio-sim for $VM_RELEASE" >&2
			exit 1
		fi
		vm_extract_vmlinux "/boot/vmlinuz-$VM_RELEASE" "$tmp/vmlinux" ||
			vm_log "no uncompressed kernel in the bzImage: booting it compressed (slower)"
		echo "$key" >"$tmp/key"
		rm -rf "$dir"
		mv "$tmp" "$dir"
	fi
	exec 9>&-
	VM_MODULES=$dir
	VM_BOOT_KERNEL=/boot/vmlinuz-$VM_RELEASE
	# qemu boots an uncompressed ELF kernel through its PVH entry, skipping
	# the decompression that takes seconds under emulation.
	[ -f "$dir/vmlinux" ] && VM_BOOT_KERNEL=$dir/vmlinux
	vm_log "kernel $VM_RELEASE ($VM_VERSION), source $(basename "$VM_SOURCE")"
}

# Copies a program and the shared libraries it loads into the initramfs.
vm_add_binary() {
	local root=$1 bin=$2 dest=${3:-/usr/bin} lib

	mkdir -p "$root$dest"
	cp -L "$bin" "$root$dest/"
	# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux... (0x...)"
	for lib in $(ldd "$bin" 2>/dev/null | awk '/=> \// {print $3} /^\t\// {print $1}'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# Packs the initramfs: busybox, the modules, /init, the scenario and the
# given programs with their libraries.
vm_initramfs() {
	local scenario=$1 root=$VM_WORK/root bin
	shift

	mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,lib/modules}
	vm_add_binary "$root" /bin/busybox /bin
	ln -s busybox "$root/bin/sh"
	cp "$VM_MODULES"/*.ko "$root/lib/modules/"
	[ -z "${VM_DISK:-}" ] || cp -r "$VM_MODULES/disk" "$root/lib/modules/"
	cp "$VM_LIB_DIR/init" "$root/init"
	cp "$scenario" "$root/scenario"
	chmod 755 "$root/init"
	for bin in "$@"; do
		vm_add_binary "$root" "$bin"
	done
	VM_INITRAMFS=$VM_WORK/initramfs.cpio
	# Uncompressed: the kernel unpacks it faster than it could decompress.
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		>"$VM_INITRAMFS"
}

# KVM when /dev/kvm is usable and the CPU has VT-x or AMD-V; qemu falls
# back to emulation should KVM still fail to start. VM_ACCEL overrides.
vm_accel() {
	if [ -n "${VM_ACCEL:-}" ]; then
		echo "$VM_ACCEL"
	elif [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
		grep -qwE 'vmx|svm' /proc/cpuinfo; then
		echo kvm
	else
		echo tcg
	fi
}

# The qemu command line that boots the initramfs, into the array VM_QEMU.
vm_qemu_command() {
	local accel

	accel=$(vm_accel)
	VM_QEMU=(qemu-system-x86_64 -M pc -cpu max -m 256 -accel "$accel")
	# Tried in order: emulation when KVM cannot start after all.
	[ "$accel" = tcg ] || VM_QEMU+=(-accel tcg)
	# no_timer_check: emulated on a busy machine, the kernel's check of
	# the IO-APIC timer can find too few ticks and panic at boot.
	VM_QEMU+=(-nographic -no-reboot -nic none
		-kernel "$VM_BOOT_KERNEL" -initrd "$VM_INITRAMFS"
		-append "console=ttyS0 quiet panic=-1 oops=panic no_timer_check${VM_APPEND:+ $VM_APPEND}"
		-device "isa-debug-exit,iobase=0xf4,iosize=0x04")
	# cache=none: qemu writes the image with O_DIRECT, past the host's
	# page cache (the image's file system must support O_DIRECT: not
	# tmpfs), shows the guest a write-back cache, and turns the guest's
	# flushes into fdatasync(). Killing qemu then loses what a power cut
	# loses inside the guest: its page cache and the requests in flight.
	# (Writes the guest saw completed are in the host's file even when
	# not yet flushed: a disk cache dropping them is not modelled.)
	[ -z "${VM_DISK:-}" ] ||
		VM_QEMU+=(-drive "file=$VM_DISK,format=raw,if=virtio,cache=none")
}

# Boots the VM and prints the scenario's checks from its console. Returns 0
# when the scenario passed.
vm_boot() {
	local log=$VM_WORK/console.log rc start

	vm_qemu_command
	vm_log "accelerator $(vm_accel)"
	start=$EPOCHREALTIME
	set +e
	timeout -k 5 "$VM_TIMEOUT" "${VM_QEMU[@]}" </dev/null >"$log" 2>&1
	rc=$?
	set -e
	tr -d '\r' <"$log" >"$log.txt"
	grep -E '^(ok|not ok|#|vm:|vm-[a-z-]+:) ' "$log.txt" || true
	vm_log "VM ran $(awk -v a="$start" -v b="$EPOCHREALTIME" \
		'BEGIN {printf "%.1f", b - a}') s"
	# isa-debug-exit: qemu exits with (code << 1) | 1 for the code /init wrote.
	case $rc in
	1)
		vm_log "PASS"
		return 0
		;;
	124 | 137)
		echo "vm: FAIL: the VM did not finish in ${VM_TIMEOUT}s" >&2
		;;
	0)
		echo "vm: FAIL: the VM stopped without a result (kernel panic?)" >&2
		;;
	*)
		if [ $((rc & 1)) = 1 ]; then
			echo "vm: FAIL: the scenario exited $((rc >> 1))" >&2
		else
			echo "vm: FAIL: qemu exited $rc" >&2
		fi
		;;
	esac
	echo "--- VM console (last 60 lines):" >&2
	tail -n 60 "$log.txt" >&2
	return 1
}
