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
# systemd-probe), and the screen's hardened unit runs Chromium. Then
# (issue 19) `apt purge` leaves nothing of the secrets and the database,
# and the package installs and upgrades from a signed repository made by
# tools/make-apt-repo, which refuses another key's and tampered ones.
# Needs root and debootstrap; skipped loudly without them.
set -euo pipefail
build=${1:?the build tree}
. "$(dirname "$0")/root.sh"
arch=$(dpkg --print-architecture)
deb=$(ls "$build"/packages/lokerbuku_*_"$arch".deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "no package in $build/packages: integration-packages builds it"
ui_deb=$(ls "$build"/packages/lokerbuku-kiosk-ui_*_all.deb 2>/dev/null | head -n 1)
[ -n "$ui_deb" ] || fail "no lokerbuku-kiosk-ui package in $build/packages"
cleanup() {
	[ -z "${lokerd_pid:-}" ] || kill "$lokerd_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	root_cleanup
}
trap cleanup EXIT
root_make "$build/debootstrap.log" "$build/debootstrap-root"
root=$ROOT suite=$SUITE mirror=$MIRROR
# libgpiod v2 on Debian 12 is in bookworm-backports, as tools/bootstrap says.
if [ "$suite" = bookworm ]; then
	echo "deb $mirror bookworm-backports main" >"$root/etc/apt/sources.list.d/backports.list"
fi

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
# The screen's package too, for its hardened unit (Chromium, cage: the
# packages this machine has already are taken from its apt cache, linked
# rather than copied where the root is on the same file system).
cp "$ui_deb" "$root/tmp/"
find /var/cache/apt/archives -maxdepth 1 -name '*.deb' -exec cp -n -l -t "$root/var/cache/apt/archives/" {} + 2>/dev/null ||
	find /var/cache/apt/archives -maxdepth 1 -name '*.deb' -exec cp -n -t "$root/var/cache/apt/archives/" {} + 2>/dev/null || true
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q --no-install-recommends \
	systemd-sysv procps python3 "/tmp/$(basename "$ui_deb")" \
	$([ "$suite" = bookworm ] && echo curl/bookworm-backports) >>"$build/install.log" 2>&1 ||
	fail "systemd-sysv and lokerbuku-kiosk-ui did not install; the log: $build/install.log"
in_root rm -f /var/cache/apt/archives/*.deb
# The screen's page where the kiosk-ui unit looks for it; the container
# has a network of its own (loopback only), so the port is free.
sed 's/^listen = 127.0.0.1:0$/listen = 127.0.0.1:8080/' "$root/etc/lokerbuku/sim.conf" \
	>"$root/etc/lokerbuku/lokerd.conf"
in_root systemctl enable lokerd.service >>"$build/install.log" 2>&1
# The watchdog as packaged is 30 s; a hang is found sooner here.
mkdir -p "$root/etc/systemd/system/lokerd.service.d"
printf '[Service]\nWatchdogSec=3s\n' >"$root/etc/systemd/system/lokerd.service.d/test.conf"
cp "$(dirname "$0")/systemd-probe" "$root/usr/local/sbin/lokerbuku-probe"
cp "$(dirname "$0")/cdp-shot" "$root/usr/local/bin/lokerbuku-cdp-shot"
cat >"$root/etc/systemd/system/lokerbuku-probe.service" <<UNIT
[Unit]
After=lokerd.service
SuccessAction=poweroff
FailureAction=poweroff
[Service]
Type=oneshot
TimeoutStartSec=300
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
timeout 400 systemd-nspawn -q --register=no --keep-unit --private-network -D "$root" \
	--bind="$results:/results" -b >"$build/nspawn.log" 2>&1 || true
if [ ! -e "$results/booted" ]; then
	tail -n 20 "$build/nspawn.log" >&2
	skip "systemd-nspawn could not boot the root here; its log: $build/nspawn.log"
fi
[ -e "$results/done" ] || fail "the probe did not finish; $results and $build/nspawn.log"
cat "$results/report"
grep -q '^FAIL' "$results/report" && fail "lokerd under systemd: see above; its journal: $results/journal"
for f in shot.png cage.png; do
	[ ! -s "$results/$f" ] || echo "  the screen as rendered under the hardened unit: $results/$f"
done

# Issue 19, point 9: purge leaves nothing of the kiosk's secrets and
# database. A second name of the site key and of the database (as a
# forensic tool reads the same blocks) must hold only zeros afterwards.
echo "apt purge removes the secrets, the database and its backups, overwritten"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp "$root/var/lib/lokerbuku/lokerd.db" "$root/var/lib/lokerbuku/lokerd.db.backup-20261122T081500Z"
printf '%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >"$root/etc/lokerbuku/sync.token"
key=$(cat "$root/etc/lokerbuku/site.key")
mkdir -p "$root/root/second-names"
ln "$root/etc/lokerbuku/site.key" "$root/root/second-names/site.key"
ln "$root/var/lib/lokerbuku/lokerd.db" "$root/root/second-names/lokerd.db"
in_root ls /etc/lokerbuku /var/lib/lokerbuku | tr '\n' ' ' | sed 's/^/  before: /;s/$/\n/'
DEBIAN_FRONTEND=noninteractive in_root apt-get purge -y -q lokerbuku-kiosk-ui lokerbuku \
	>>"$build/install.log" 2>&1 || fail "apt-get purge failed; the log: $build/install.log"
for d in /etc/lokerbuku /var/lib/lokerbuku; do
	[ ! -e "$root$d" ] || fail "purge left $d: $(ls -A "$root$d" | tr '\n' ' ')"
done
for f in site.key lokerd.db; do
	[ "$(tr -d '\0' <"$root/root/second-names/$f" | wc -c)" = 0 ] ||
		fail "purge removed $f without overwriting it"
done
grep -rqsF "$key" "$root/etc" "$root/var" && fail "the site key is still in the root after purge"
echo "  gone: /etc/lokerbuku, /var/lib/lokerbuku; site key and database overwritten"

# Issue 19, point 14: a signed repository (tools/make-apt-repo) the kiosk
# trusts by its key alone (signed-by), installed from and upgraded with
# apt's signature checks on; a repository signed by another key, and a
# package changed after signing, are refused.
echo "a signed APT repository: install, upgrade; another key's and a tampered one refused"
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q --no-install-recommends \
	apt-utils gnupg >>"$build/install.log" 2>&1 || fail "apt-utils and gnupg did not install"
cp "$(dirname "$0")/../../tools/make-apt-repo" "$root/usr/local/bin/make-apt-repo"
repo_cleanup() {
	for h in /srv/archive-key /srv/attacker-key; do
		[ -d "$root$h" ] && in_root env GNUPGHOME=$h gpgconf --kill all 2>/dev/null || true
	done
}
trap 'repo_cleanup; cleanup' EXIT
mkrepo() { in_root make-apt-repo "$@" >>"$build/install.log" 2>&1 || fail "make-apt-repo $*: see $build/install.log"; }
key=$(in_root make-apt-repo --gnupghome /srv/archive-key \
	--new-key "lokerbuku test archive <archive@lokerbuku.invalid>" 2>>"$build/install.log")
attacker=$(in_root make-apt-repo --gnupghome /srv/attacker-key \
	--new-key "lokerbuku archive <archive@lokerbuku.invalid>" 2>>"$build/install.log")
[ -n "$key" ] && [ -n "$attacker" ] || fail "no archive keys made"
# Newer versions of the same package: its contents, another version.
v1=$(dpkg-deb -f "$deb" Version)
newer() { # VERSION: /tmp/lokerbuku_VERSION_ARCH.deb in the root
	local x
	x=$(mktemp -d)
	dpkg-deb -R "$deb" "$x/pkg"
	sed -i "s/^Version: .*/Version: $1/" "$x/pkg/DEBIAN/control"
	dpkg-deb --root-owner-group -b "$x/pkg" "$root/tmp/lokerbuku_$1_$arch.deb" >/dev/null
	rm -rf "$x"
}
newer "$v1+upgrade1"
newer "$v1+upgrade2"
mkrepo --gnupghome /srv/archive-key --key "$key" --out /srv/repo "/tmp/$(basename "$deb")"
chmod -R a+rX "$root/srv/repo"
in_root install -m 0644 /srv/archive-key/lokerbuku-archive-keyring.gpg \
	/usr/share/keyrings/lokerbuku-archive-keyring.gpg
source_line="[signed-by=/usr/share/keyrings/lokerbuku-archive-keyring.gpg] file:/srv/repo stable main"
echo "deb $source_line" >"$root/etc/apt/sources.list.d/lokerbuku.list"
in_root apt-get update -q >"$build/apt-update.log" 2>&1 || fail "apt-get update: $(tail -n 5 "$build/apt-update.log")"
grep -q '^[WE]:' "$build/apt-update.log" && fail "apt-get update warned: $(grep '^[WE]:' "$build/apt-update.log")"
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q --no-install-recommends \
	$([ "$suite" = bookworm ] && echo -t bookworm-backports) lokerbuku >>"$build/install.log" 2>&1 ||
	fail "lokerbuku did not install from the signed repository"
[ "$(in_root dpkg-query -W -f '${Version}' lokerbuku)" = "$v1" ] || fail "not $v1 from the repository"
echo "  installed $v1 from file:/srv/repo, signed by $key"

mkrepo --gnupghome /srv/archive-key --key "$key" --out /srv/repo "/tmp/lokerbuku_$v1+upgrade1_$arch.deb"
chmod -R a+rX "$root/srv/repo"
in_root apt-get update -q >"$build/apt-update.log" 2>&1 || fail "apt-get update after the new version"
DEBIAN_FRONTEND=noninteractive in_root apt-get upgrade -y -q >>"$build/install.log" 2>&1 ||
	fail "apt-get upgrade failed"
[ "$(in_root dpkg-query -W -f '${Version}' lokerbuku)" = "$v1+upgrade1" ] ||
	fail "apt-get upgrade did not bring $v1+upgrade1"
echo "  apt-get upgrade: $v1 -> $v1+upgrade1"

# The attacker's repository: a newer version, signed by a key the kiosk
# does not trust for it.
mkrepo --gnupghome /srv/attacker-key --key "$attacker" --out /srv/evil "/tmp/lokerbuku_$v1+upgrade2_$arch.deb"
chmod -R a+rX "$root/srv/evil"
echo "deb ${source_line/\/srv\/repo//srv/evil}" >"$root/etc/apt/sources.list.d/lokerbuku.list"
rc=0
in_root apt-get update -q >"$build/apt-update.log" 2>&1 || rc=$?
grep -q "NO_PUBKEY\|not signed" "$build/apt-update.log" ||
	fail "apt took a repository signed by another key (rc $rc): $(tail -n 5 "$build/apt-update.log")"
DEBIAN_FRONTEND=noninteractive in_root apt-get upgrade -y -q >>"$build/install.log" 2>&1 || true
[ "$(in_root dpkg-query -W -f '${Version}' lokerbuku)" = "$v1+upgrade1" ] ||
	fail "the attacker's package was installed"
echo "  another key's repository: refused ($(grep -o 'NO_PUBKEY [0-9A-F]*\|is not signed' "$build/apt-update.log" | head -n 1))"

# The right key, but a package changed after signing.
echo "deb $source_line" >"$root/etc/apt/sources.list.d/lokerbuku.list"
mkrepo --gnupghome /srv/archive-key --key "$key" --out /srv/repo "/tmp/lokerbuku_$v1+upgrade2_$arch.deb"
in_root apt-get update -q >"$build/apt-update.log" 2>&1 || fail "apt-get update of the signed repository"
# Same size, other bytes: a changed file in the package.
printf 'X' | dd of="$root/srv/repo/pool/main/lokerbuku_$v1+upgrade2_$arch.deb" bs=1 \
	seek=$(($(stat -c %s "$root/srv/repo/pool/main/lokerbuku_$v1+upgrade2_$arch.deb") - 100)) conv=notrunc status=none
chmod -R a+rX "$root/srv/repo"
rc=0
DEBIAN_FRONTEND=noninteractive in_root apt-get upgrade -y -q >"$build/apt-upgrade.log" 2>&1 || rc=$?
[ $rc != 0 ] && grep -qi "hash sum mismatch\|hashes\|size mismatch" "$build/apt-upgrade.log" ||
	fail "a package changed after signing was not refused (rc $rc): $(tail -n 5 "$build/apt-upgrade.log")"
[ "$(in_root dpkg-query -W -f '${Version}' lokerbuku)" = "$v1+upgrade1" ] ||
	fail "the tampered package was installed"
echo "  a package changed after signing: refused (hash sum mismatch)"
echo "install: OK"
