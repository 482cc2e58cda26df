# SPDX-License-Identifier: GPL-2.0-or-later
# A clean Debian root made by debootstrap from the machine's own Debian
# mirror (nothing else is reachable), for the tests that install or build
# lokerbuku as on a fresh machine. Source it; it needs root and debootstrap
# and skips loudly without them.
#
#   root_make LOG       sets ROOT (removed at exit with root_cleanup), MIRROR,
#                       SUITE; /proc and /dev mounted, resolv.conf copied;
#                       debootstrap's output in LOG
#   in_root CMD...      runs CMD in the root

skip() {
	echo "SKIPPED: $*" >&2
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
in_root() { chroot "$ROOT" "$@"; }

root_cleanup() {
	[ -n "${ROOT:-}" ] || return 0
	for m in "$ROOT/proc" "$ROOT/dev"; do
		mountpoint -q "$m" && umount -l "$m"
	done
	rm -rf --one-file-system "$ROOT"
}

root_make() {
	local log=$1 arch start
	[ "$(id -u)" = 0 ] || skip "debootstrap and chroot need root"
	command -v debootstrap >/dev/null || skip "debootstrap is missing (tools/bootstrap installs it)"
	arch=$(dpkg --print-architecture)
	. /etc/os-release
	SUITE=$VERSION_CODENAME
	MIRROR=$(apt-cache policy | sed -n "s#^ *[0-9]* \(https\?://[^ ]*\) $SUITE/main $arch Packages\$#\1#p" | head -n 1)
	[ -n "$MIRROR" ] || fail "no Debian mirror for $SUITE/main $arch in apt's sources"
	ROOT=$(mktemp -d /var/tmp/lokerbuku-root.XXXXXX)
	chmod 0755 "$ROOT" # a root file system: others may enter
	echo "debootstrap $SUITE from $MIRROR"
	start=$(date +%s)
	debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		fail "debootstrap failed; its log: $log"
	}
	echo "  done in $(($(date +%s) - start)) s"
	mount -t proc proc "$ROOT/proc"
	mount --bind /dev "$ROOT/dev"
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}
