#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerctl doctor: a healthy kiosk syncing with the real lokerhub passes
# with nothing to fix; then each thing a kiosk can get wrong is set up for
# real, and the doctor names it, with its exit status 1: lokerd stopped,
# a server of another CA, a wrong token, no server, a user that cannot
# reach the files, a missing device, a corrupt database, a full disk.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop
me=$(id -un)

kiosk_write_config "$WORK"
base=$(cat "$WORK/lokerd.conf")
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start
configure() {
	printf '%s\n%s\n%s\n' "$base" "$(hub_sync_config "${CA:-}")" "${1:-}" >"$WORK/lokerd.conf"
}
# doctor WANT-STATUS: runs it as lokerd's user $me; its output in $out.
doctor() {
	local rc=0
	out=$(ctl doctor --config "$WORK/lokerd.conf" --user "${USER_AS:-$me}") || rc=$?
	[ "$rc" = "$1" ] || fail "doctor exited $rc, not $1: $out"
}
# names AREA TEXT: a FAIL line of AREA says TEXT.
names() {
	grep -E "^FAIL +$1 .*$2" <<<"$out" >/dev/null || fail "no FAIL $1 saying '$2' in:
$out"
	grep -E "^FAIL +$1 .*$2" <<<"$out" | head -n 1 | sed 's/^/  /'
}
ok_count() { grep -c '^ok' <<<"$out" || true; }

echo "a healthy kiosk: nothing to fix"
configure
kiosk_start "$WORK"
ctl sync >/dev/null
doctor 0
sed 's/^/  | /' <<<"$out"
for area in config secrets database disk lokerd server; do
	grep -Eq "^ok +$area " <<<"$out" || fail "no ok for $area"
done
grep -q "integrity check by lokerd: ok" <<<"$out" || fail "lokerd's integrity check not asked"
grep -Eq "^ok +server .*answers this kiosk" <<<"$out" || fail "server not reached"
healthy=$(ok_count)

echo "lokerd stopped"
kiosk_stop
doctor 1
names lokerd "not answering"
grep -Eq "^ok +database .*quick_check ok" <<<"$out" || fail "no offline check of the database"

echo "a server certificate of another CA"
CA=$HUB_DIR/ca/other-ca.pem configure
doctor 1
names server "SSL certificate problem"

echo "a token the server does not know"
configure
printf '%s\n' 0000000000000000000000000000000000000000 >"$WORK/wrong.token"
chmod 0600 "$WORK/wrong.token"
sed -i "s|^token_file = .*|token_file = $WORK/wrong.token|" "$WORK/lokerd.conf"
doctor 1
names server "refuses this kiosk's token \(HTTP 401\)"

echo "no server"
configure
hub_stop
doctor 1
names server "Connection refused|Couldn't connect"
hub_start

echo "lokerd's user cannot reach its files"
configure
chmod 0700 "$WORK"
USER_AS=nobody doctor 1
names secrets "nobody cannot reach $WORK"
names database "$WORK: nobody cannot read and write it"
chmod 0755 "$WORK"

echo "a scanner that is not plugged in"
configure "[scanner]
device = $WORK/no-such-scanner"
doctor 1
names devices "scanner $WORK/no-such-scanner: No such file or directory"

echo "a corrupt database"
configure
cp "$WORK/lokerd.db" "$WORK/good.db"
size=$(stat -c %s "$WORK/lokerd.db")
# Garbage over every page but the first: the header still says SQLite.
head -c $((size - 4096)) /dev/urandom |
	dd of="$WORK/lokerd.db" bs=4096 seek=1 conv=notrunc status=none
doctor 1
names database "damaged|malformed"
mv "$WORK/good.db" "$WORK/lokerd.db"

echo "a full disk"
if mkdir -p "$WORK/small" && mount -t tmpfs -o size=8m tmpfs "$WORK/small" 2>/dev/null; then
	cp "$WORK/lokerd.db" "$WORK/small/"
	configure
	sed -i "s|^database = .*|database = $WORK/small/lokerd.db|" "$WORK/lokerd.conf"
	doctor 1
	umount "$WORK/small"
	names disk "$WORK/small: [0-9]+ MiB free"
else
	echo "SKIPPED: the full disk (mounting a small tmpfs is not permitted here)"
fi

echo "doctor: OK ($healthy checks passed on the healthy kiosk; 8 faults named)"
