# SPDX-License-Identifier: GPL-2.0-or-later
# A clean Debian root made by debootstrap from the machine's own Debian
# mirror (nothing else is reachable), for the tests that install or build
# lokerbuku as on a fresh machine. Source it; it needs root and debootstrap
# and skips loudly without them.
#
#   root_make LOG [CACHE]
#                       sets ROOT (removed at exit with root_cleanup), MIRROR,
#                       SUITE; /proc and /dev mounted, resolv.conf copied;
#                       debootstrap's output in LOG. With CACHE (a folder of
#                       the build tree), the root debootstrap made is kept
#                       there as a tar file and unpacked again by the next
#                       test, for as long as what it would contain is the
#                       same (see root_cache_key); with ROOT_CACHE_ONLY set,
#                       only that: ROOT is then for root_cleanup alone
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

# What debootstrap would put in the root: the suite, architecture and
# mirror, the mirror's Release file as this machine's apt last saw it (its
# hashes name every package), and debootstrap's version. Prints nothing
# when apt has no Release file of the suite: then nothing is cached.
root_cache_key() {
	local arch=$1 release
	release=/var/lib/apt/lists/$(sed 's#^[a-z]*://##; s#/*$##; s#/#_#g' <<<"$MIRROR")_dists_${SUITE}_InRelease
	[ -r "$release" ] || return 0
	{
		echo "minbase $SUITE $arch $MIRROR"
		dpkg-query -W -f '${Version}\n' debootstrap
		cat "$release"
	} | sha256sum | cut -c1-16
}

# root_debootstrap DIR LOG: a minimal root in DIR.
root_debootstrap() {
	local start
	echo "debootstrap $SUITE from $MIRROR"
	start=$(date +%s)
	debootstrap --variant=minbase "$SUITE" "$1" "$MIRROR" >"$2" 2>&1 || {
		tail -n 20 "$2" >&2
		fail "debootstrap failed; its log: $2"
	}
	echo "  done in $(($(date +%s) - start)) s"
}

root_make() {
	local log=$1 cache=${2:-} arch key tarball start lock
	[ "$(id -u)" = 0 ] || skip "debootstrap and chroot need root"
	command -v debootstrap >/dev/null || skip "debootstrap is missing (tools/bootstrap installs it)"
	arch=$(dpkg --print-architecture)
	. /etc/os-release
	SUITE=$VERSION_CODENAME
	MIRROR=$(apt-cache policy | sed -n "s#^ *[0-9]* \(https\?://[^ ]*\) $SUITE/main $arch Packages\$#\1#p" | head -n 1)
	[ -n "$MIRROR" ] || fail "no Debian mirror for $SUITE/main $arch in apt's sources"
	ROOT=$(mktemp -d /var/tmp/lokerbuku-root.XXXXXX)
	chmod 0755 "$ROOT" # a root file system: others may enter
	key=
	[ -z "$cache" ] || key=$(root_cache_key "$arch")
	if [ -z "$key" ]; then
		[ -z "$cache" ] || echo "no Release file of $SUITE in apt's lists: the root is not cached"
		[ -z "${ROOT_CACHE_ONLY:-}" ] || return 0
		root_debootstrap "$ROOT" "$log"
	else
		# One test makes the root while the others wait for it, under a
		# lock; an older root (another key) goes.
		mkdir -p "$cache"
		tarball=$cache/minbase-$SUITE-$arch-$key.tar
		exec {lock}>"$cache/lock"
		flock "$lock"
		if [ ! -s "$tarball" ]; then
			rm -f "$cache"/minbase-*.tar
			root_debootstrap "$ROOT" "$log"
			tar --numeric-owner --xattrs --xattrs-include='*' -C "$ROOT" -cf "$tarball.new" . ||
				fail "could not keep the root in $tarball"
			mv "$tarball.new" "$tarball"
		elif [ -n "${ROOT_CACHE_ONLY:-}" ]; then
			echo "debootstrap $SUITE from $MIRROR: the root made before is in $tarball"
		else
			start=$(date +%s)
			tar --numeric-owner --xattrs --xattrs-include='*' -C "$ROOT" -xpf "$tarball" ||
				fail "could not unpack $tarball"
			echo "debootstrap $SUITE from $MIRROR: the root made before, unpacked from" \
				"$(basename "$tarball") in $(($(date +%s) - start)) s"
		fi
		exec {lock}>&-
	fi
	[ -z "${ROOT_CACHE_ONLY:-}" ] || return 0
	mount -t proc proc "$ROOT/proc"
	mount --bind /dev "$ROOT/dev"
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}
