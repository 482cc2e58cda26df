#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the lokerbuku package built in BUILD/packages into a clean
# Debian root made by debootstrap (from the machine's own Debian mirror),
# with apt resolving its dependencies there, then starts lokerd in it as
# its own user on simulated hardware and asks it for its status. Also:
# the package made the user and the configuration's group, its
# provisioning tool makes the secrets mode 0600 for lokerd, a changed
# configuration survives reinstalling, and booted with systemd as PID 1
# (systemd-nspawn) the packaged unit starts lokerd at boot, as its user,
# and restarts it after a SIGKILL and after a hang (tests/packaging/
# systemd-probe). Needs root and debootstrap; skipped loudly without them.
set -euo pipefail
build=${1:?the build tree}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	echo "SKIPPED: $*" >&2
	exit 77
}
[ "$(id -u)" = 0 ] || skip "debootstrap and chroot need root"
command -v debootstrap >/dev/null || skip "debootstrap is missing (tools/bootstrap installs it)"
arch=$(dpkg --print-architecture)
deb=$(ls "$build"/packages/lokerbuku_*_"$arch".deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "no package in $build/packages: integration-packages builds it"
. /etc/os-release
suite=$VERSION_CODENAME
# The mirror this machine installs from: nothing else is reachable.
mirror=$(apt-cache policy | sed -n "s#^ *[0-9]* \(https\?://[^ ]*\) $suite/main $arch Packages\$#\1#p" | head -n 1)
[ -n "$mirror" ] || fail "no Debian mirror for $suite/main $arch in apt's sources"

root=$(mktemp -d /var/tmp/lokerbuku-root.XXXXXX)
chmod 0755 "$root" # a root file system: others may enter
cleanup() {
	[ -z "${lokerd_pid:-}" ] || kill "$lokerd_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	for m in "$root/proc" "$root/dev"; do
		mountpoint -q "$m" && umount -l "$m"
	done
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT
in_root() { chroot "$root" "$@"; }

echo "debootstrap $suite from $mirror"
start=$(date +%s)
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$build/debootstrap.log" 2>&1 || {
	tail -n 20 "$build/debootstrap.log" >&2
	fail "debootstrap failed; its log: $build/debootstrap.log"
}
echo "  done in $(($(date +%s) - start)) s"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
# libgpiod v2 on Debian 12 is in bookworm-backports, as tools/bootstrap says.
if [ "$suite" = bookworm ]; then
	echo "deb $mirror bookworm-backports main" >"$root/etc/apt/sources.list.d/backports.list"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

echo "apt installs $(basename "$deb") with what it depends on"
cp "$deb" "$root/tmp/"
in_root apt-get update -q >"$build/install.log" 2>&1 &&
	DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q \
		--no-install-recommends $([ "$suite" = bookworm ] && echo -t bookworm-backports) \
		"/tmp/$(basename "$deb")" >>"$build/install.log" 2>&1 || {
	tail -n 30 "$build/install.log" >&2
	fail "the package did not install; the log: $build/install.log"
}

echo "the package made its user and gave the configuration to its group"
in_root getent passwd lokerbuku >/dev/null || fail "no user lokerbuku"
perms=$(in_root stat -c '%a %U:%G' /etc/lokerbuku/lokerd.conf)
[ "$perms" = "640 root:lokerbuku" ] || fail "lokerd.conf is $perms"
in_root lokerd --check-config -c /etc/lokerbuku/lokerd.conf 2>/dev/null &&
	fail "the packaged configuration starts an unset-up kiosk"

echo "the packaged provisioning makes the kiosk's secrets lokerbuku's alone"
in_root lokerbuku-provision --kiosk deb-test-01 --url https://perpus.example/api \
	>>"$build/install.log" 2>&1 || fail "lokerbuku-provision failed; the log: $build/install.log"
for f in site.key kiosk.key; do
	perms=$(in_root stat -c '%a %U:%G' "/etc/lokerbuku/$f")
	[ "$perms" = "600 lokerbuku:lokerbuku" ] || fail "$f is $perms"
done

echo "lokerd starts as lokerbuku on simulated hardware and answers"
in_root sh -c 'umask 027 && mkdir -p /run/lokerbuku /var/lib/lokerbuku &&
	chown lokerbuku:lokerbuku /run/lokerbuku /var/lib/lokerbuku'
cat >"$root/etc/lokerbuku/sim.conf" <<CONF
[kiosk]
id = deb-test-01
site_key_file = /etc/lokerbuku/site.key
[lockers]
count = 4
[reader]
backend = sim
[lockbank]
backend = sim
[webui]
listen = 127.0.0.1:0
CONF
chgrp "$(in_root getent group lokerbuku | cut -d: -f3)" "$root/etc/lokerbuku/sim.conf"
chmod 0640 "$root/etc/lokerbuku/sim.conf"
chroot --userspec=lokerbuku:lokerbuku "$root" /usr/sbin/lokerd \
	-c /etc/lokerbuku/sim.conf 2>"$build/deb-lokerd.log" &
lokerd_pid=$!
status=""
for _ in $(seq 100); do
	status=$(chroot --userspec=lokerbuku:lokerbuku "$root" lokerctl --json status 2>/dev/null) && break
	kill -0 "$lokerd_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$status" ] || {
	cat "$build/deb-lokerd.log" >&2
	fail "lokerd did not answer"
}
jq -e '.ok and .kiosk_id=="deb-test-01" and (.lockers|length)==4' <<<"$status" >/dev/null ||
	fail "status: $status"
echo "  $(jq -c '{kiosk_id, version, in_service, lockers: (.lockers|length)}' <<<"$status")"
# The screen's server runs without the kiosk-ui package, and says where
# it looks for the app.
url=$(jq -r .webui.url <<<"$status")
curl -sf "${url}api/state" | jq -e '.screen.name=="idle"' >/dev/null ||
	fail "no state from $url"
grep -q "/usr/share/lokerbuku/ui: No such file or directory" "$build/deb-lokerd.log" ||
	fail "lokerd does not look for the app in /usr/share/lokerbuku/ui: $(cat "$build/deb-lokerd.log")"
kill "$lokerd_pid"
wait "$lokerd_pid" || fail "lokerd did not stop cleanly"
lokerd_pid=

echo "a changed configuration survives reinstalling"
echo "; changed by the library" >>"$root/etc/lokerbuku/lokerd.conf"
DEBIAN_FRONTEND=noninteractive in_root dpkg -i --force-confold "/tmp/$(basename "$deb")" \
	>>"$build/install.log" 2>&1 || fail "reinstalling failed"
grep -q "changed by the library" "$root/etc/lokerbuku/lokerd.conf" ||
	fail "reinstalling overwrote the changed configuration"

# The root booted with systemd as its PID 1 in a container: the packaged
# unit, with all its hardening, as the kiosk runs it. A probe unit after
# it writes what it saw into $results; the container stops when it ends.
echo "lokerd under systemd (systemd-nspawn): started at boot, restarted after a crash and a hang"
command -v systemd-nspawn >/dev/null ||
	fail "systemd-nspawn is missing (tools/bootstrap installs systemd-container)"
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q --no-install-recommends \
	systemd-sysv procps >>"$build/install.log" 2>&1 || fail "systemd-sysv did not install"
in_root cp /etc/lokerbuku/sim.conf /etc/lokerbuku/lokerd.conf
in_root systemctl enable lokerd.service >>"$build/install.log" 2>&1
# The watchdog as packaged is 30 s; a hang is found sooner here.
mkdir -p "$root/etc/systemd/system/lokerd.service.d"
printf '[Service]\nWatchdogSec=3s\n' >"$root/etc/systemd/system/lokerd.service.d/test.conf"
cp "$(dirname "$0")/systemd-probe" "$root/usr/local/sbin/lokerbuku-probe"
cat >"$root/etc/systemd/system/lokerbuku-probe.service" <<UNIT
[Unit]
After=lokerd.service
SuccessAction=poweroff
FailureAction=poweroff
[Service]
Type=oneshot
TimeoutStartSec=150
ExecStart=/usr/local/sbin/lokerbuku-probe /results
[Install]
WantedBy=multi-user.target
UNIT
in_root systemctl enable lokerbuku-probe.service >>"$build/install.log" 2>&1
results=$build/systemd-probe
rm -rf "$results"
mkdir -p "$results"
for m in "$root/proc" "$root/dev"; do
	umount -l "$m"
done
# --register=no and --keep-unit: the machine's own PID 1 need not be systemd.
timeout 300 systemd-nspawn -q --register=no --keep-unit -D "$root" \
	--bind="$results:/results" -b >"$build/nspawn.log" 2>&1 || true
if [ ! -e "$results/booted" ]; then
	tail -n 20 "$build/nspawn.log" >&2
	skip "systemd-nspawn could not boot the root here; its log: $build/nspawn.log"
fi
[ -e "$results/done" ] || fail "the probe did not finish; $results and $build/nspawn.log"
cat "$results/report"
grep -q '^FAIL' "$results/report" && fail "lokerd under systemd: see above; its journal: $results/journal"
echo "install: OK"
