#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Debian packages of this build tree into BUILD/packages with
# CPack and checks what they hold: every file where Debian wants it, the
# configuration as a conffile, maintainer scripts, and dependencies on the
# shared libraries lokerd links. Needs a tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr (tools/test's build/); skipped otherwise.
#
#   debs.sh BUILD [ARCH]   ARCH: Debian's name of the tree's architecture,
#                          the build machine's by default; a cross tree's
#                          lokerd runs under $LOKERBUKU_EMULATOR
set -euo pipefail
build=${1:?the build tree}
arch=${2:-$(dpkg --print-architecture)}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if [ "$prefix" != /usr ]; then
	echo "SKIPPED: $build is configured for $prefix; packages need -DCMAKE_INSTALL_PREFIX=/usr" >&2
	exit 77
fi
command -v dpkg-shlibdeps >/dev/null ||
	fail "dpkg-shlibdeps is missing (Debian: dpkg-dev, in build-essential)"

# Only what this run makes: the cross build puts its arm64 package here too.
rm -rf "$build/packages/_CPack_Packages"
rm -f "$build"/packages/*_"$arch".deb "$build"/packages/*_all.deb
(cd "$build" && cpack -G DEB -B packages >cpack.log 2>&1) || {
	tail -n 20 "$build/cpack.log" >&2
	fail "cpack failed; its log: $build/cpack.log"
}
deb=$(ls "$build"/packages/lokerbuku_*_"$arch".deb)
echo "built: $(basename "$deb")"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] ||
	fail "$(basename "$deb") says Architecture: $(dpkg-deb -f "$deb" Architecture)"

files=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
for f in ./usr/sbin/lokerd ./usr/bin/lokerctl ./usr/sbin/lokerbuku-provision \
	./usr/lib/systemd/system/lokerd.service \
	./usr/lib/sysusers.d/lokerbuku.conf \
	./usr/lib/udev/rules.d/60-lokerbuku.rules \
	./etc/lokerbuku/lokerd.conf ./usr/share/doc/lokerbuku/configuration.md \
	./usr/share/man/man8/lokerd.8 ./usr/share/man/man8/lokerctl.8 \
	./usr/share/man/man5/lokerd.conf.5; do
	grep -qxF "$f" <<<"$files" || fail "$f is not in the package"
done
grep -qx "./usr/bin/lokerhub" <<<"$files" && fail "lokerhub, a test server, is in the package"
grep -q '^./usr/local' <<<"$files" && fail "files under /usr/local"

ctl=$(mktemp -d)
trap 'rm -rf "$ctl"' EXIT
dpkg-deb -e "$deb" "$ctl"
grep -qxF /etc/lokerbuku/lokerd.conf "$ctl/conffiles" ||
	fail "lokerd.conf is not a conffile (a changed one would be overwritten)"
for s in postinst prerm postrm; do
	[ -x "$ctl/$s" ] || fail "no executable $s"
	sh -n "$ctl/$s" || fail "$s is not valid sh"
done
grep -q systemd-sysusers "$ctl/postinst" || fail "postinst makes no user"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libnfc6 libgpiod libmodbus5 libsqlite3-0 libcurl4 libmicrohttpd12 libsystemd0; do
	grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

# The man pages format without a warning.
dpkg-deb -x "$deb" "$ctl/root"
# The programs are built for the package's architecture, and stripped.
case $arch in
amd64) machine=x86-64 ;;
arm64) machine=aarch64 ;;
*) machine=$arch ;;
esac
for p in usr/sbin/lokerd usr/bin/lokerctl; do
	file -b "$ctl/root/$p" | grep -q "ELF 64-bit.*$machine.*, stripped" ||
		fail "$p is not a stripped program for $arch: $(file -b "$ctl/root/$p")"
done
for page in "$ctl"/root/usr/share/man/man*/*; do
	warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
	[ -z "$warnings" ] || fail "$(basename "$page"): $warnings"
done

# The packaged configuration stops lokerd until the kiosk is set up.
conf=$ctl/lokerd.conf
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/lokerbuku/lokerd.conf >"$conf"
# shellcheck disable=SC2086 # the emulator and its options
if ${LOKERBUKU_EMULATOR:-} "$build/bin/lokerd" --check-config -c "$conf" 2>"$ctl/err"; then
	fail "the packaged configuration starts a kiosk that was never set up"
fi
echo "the packaged configuration refuses to start: $(cat "$ctl/err")"

# The screen's package: the app where lokerd looks for it, its launcher.
ui=$(ls "$build"/packages/lokerbuku-kiosk-ui_*_all.deb)
echo "built: $(basename "$ui")"
ui_files=$(dpkg-deb -c "$ui" | awk '{ print $6 }')
for f in ./usr/share/lokerbuku/ui/index.html ./usr/share/lokerbuku/ui/i18n/id.json \
	./usr/lib/systemd/system/lokerbuku-kiosk-ui.service \
	./usr/lib/sysusers.d/lokerbuku-kiosk-ui.conf; do
	grep -qxF "$f" <<<"$ui_files" || fail "$f is not in $(basename "$ui")"
done
grep -q '\.service$\|README' <<<"$(grep '^./usr/share/lokerbuku/ui/' <<<"$ui_files")" &&
	fail "the app's folder serves more than the app"
ui_depends=$(dpkg-deb -f "$ui" Depends)
grep -q 'lokerbuku (= ' <<<"$ui_depends" && grep -q chromium <<<"$ui_depends" &&
	grep -q cage <<<"$ui_depends" || fail "kiosk-ui Depends: $ui_depends"
echo "depends: $depends"
echo "packages: OK"
