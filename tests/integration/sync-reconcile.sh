#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Locker Sync API v1.1 reconciliation through the real lokerd and lokerhub
# (issue 20, point 5): after the kiosk's database is reset, the full set
# no longer turns a hold waiting in a locker back into a pending one:
# - lokerhub sends a loaded hold with its locker; lokerd, which has never
#   heard of it, takes it as loaded there, and its patron collects it with
#   a tap (the pickup reaches the server);
# - a hold the server places in a locker that is no empty hold
#   compartment here (a return slot) is taken as pending, with a warning;
# - with a v1 server (serve --api 1.0) nothing is taken as loaded;
# - lokerhub compares the heartbeat's lockers with its holds once the
#   kiosk has nothing left to upload, and says once that they differ
#   (and once that they agree again), never while they agree; it
#   compares only when the heartbeat's lockers or the kiosk's holds
#   changed, and both kinds of change below must still be seen (the
#   difference after the kiosk's reset, the agreement after a change to
#   the holds alone).
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key" >/dev/null
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"

hold_on_kiosk() { # ID STATE
	ctl --json holds | jq -e --arg h "$1" --arg s "$2" '.holds[] | select(.id==$h and .state==$s)'
}
hub_hold() { # ID: "state locker"
	sqlite3 "$HUB_DIR/hub.db" "SELECT state || ' ' || coalesce(locker, '-') FROM holds WHERE id = '$1'"
}
# reset_kiosk: lokerd's database gone, as after a new SD card.
reset_kiosk() {
	kiosk_stop
	rm -f "$WORK/lokerd.db" "$WORK/lokerd.db-wal" "$WORK/lokerd.db-shm"
	kiosk_start "$WORK"
}

hub patron-add P-1 --name Siti --card M0001 >/dev/null
hub patron-add P-2 --name Budi --card M0002 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --item "B0001=Laskar Pelangi" >/dev/null
hub hold-add H-2 --kiosk demo-01 --patron P-2 --item "B0002=Bumi Manusia" >/dev/null
hub hold-add H-3 --kiosk demo-01 --patron P-2 --item "B0003=Cantik Itu Luka" >/dev/null
ctl sync >/dev/null
wait_for "the holds on the kiosk" hold_on_kiosk H-3 pending
for h in H-1 H-2; do
	r=$(ctl --json load "$h")
	l=$(jq '.unlocked[0]' <<<"$r")
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
done
l1=$(ctl --json holds | jq '.holds[] | select(.id=="H-1") | .locker')
wait_for "H-1 loaded on the server" sh -c "[ \"\$(sqlite3 '$HUB_DIR/hub.db' \"SELECT state FROM holds WHERE id = 'H-1'\")\" = loaded ]"
wait_for "H-2 loaded on the server" sh -c "[ \"\$(sqlite3 '$HUB_DIR/hub.db' \"SELECT state FROM holds WHERE id = 'H-2'\")\" = loaded ]"
[ "$(hub_hold H-1)" = "loaded $l1" ] || fail "the server has H-1 as $(hub_hold H-1), not loaded in $l1"
ctl sync >/dev/null
wait_for "a heartbeat with nothing to upload" sh -c \
	"sqlite3 '$HUB_DIR/hub.db' \"SELECT status_json FROM kiosks WHERE id = 'demo-01'\" | jq -e '.backlog == 0 and (.lockers[$((l1 - 1))].hold == \"H-1\")'"
if grep -q "its lockers differ" "$HUB_DIR/hub.log"; then
	fail "lokerhub saw a difference where there was none: $(grep "its lockers differ" "$HUB_DIR/hub.log")"
fi
# The server's record of H-2 is wrong: a return slot (11) holds no holds.
sqlite3 -cmd ".timeout 10000" "$HUB_DIR/hub.db" "UPDATE holds SET locker = 11 WHERE id = 'H-2'"

echo "the kiosk's database is reset: the hold in a locker stays loaded there"
reset_kiosk
ctl sync >/dev/null
wait_for "H-1 back on the kiosk" hold_on_kiosk H-1 loaded
expect '.holds[] | select(.id=="H-1") | .locker == '"$l1" "$(ctl --json holds)"
expect '.lockers['"$((l1 - 1))"'].hold == "H-1"' "$(ctl --json status)"
grep -q "sync: hold H-1 taken as loaded in locker $l1, as the server has it" "$WORK/lokerd.log" ||
	fail "no log line for the hold taken as loaded"
echo "  one placed where no hold can be is pending, with a warning"
wait_for "H-2 pending" hold_on_kiosk H-2 pending
grep -q "sync: the server has hold H-2 loaded in locker 11, which here is no empty hold compartment" "$WORK/lokerd.log" ||
	fail "no warning for H-2"
hold_on_kiosk H-3 pending >/dev/null || fail "H-3 is not pending"
echo "  lokerhub sees the kiosk's lockers differ from its own record"
ctl sync >/dev/null
wait_for "the difference in lokerhub's log" grep -q \
	"kiosk demo-01: its lockers differ from this database: hold H-2 is in locker 11 here, the kiosk has nothing there\$" "$HUB_DIR/hub.log"
sqlite3 -cmd ".timeout 10000" "$HUB_DIR/hub.db" "UPDATE holds SET state = 'pending', locker = NULL WHERE id = 'H-2'"
ctl sync >/dev/null
wait_for "lokerhub says they agree again" grep -q \
	"kiosk demo-01: its lockers agree with this database again" "$HUB_DIR/hub.log"
[ "$(grep -c "kiosk demo-01: its lockers agree" "$HUB_DIR/hub.log")" = 1 ] || fail "said twice"
echo "  its patron collects it with a tap, and the server learns of it"
expect '.unlocked == ['"$l1"']' "$(ctl --json sim tap card:M0001)"
ctl sim door "$l1" open >/dev/null
ctl sim door "$l1" close >/dev/null
ctl sync >/dev/null
wait_for "H-1 picked up on the server" sh -c "[ \"\$(sqlite3 '$HUB_DIR/hub.db' \"SELECT state FROM holds WHERE id = 'H-1'\")\" = picked_up ]"

echo "with a v1 server nothing is taken as loaded"
hub hold-add H-4 --kiosk demo-01 --patron P-1 --item "B0004=Ronggeng Dukuh Paruk" >/dev/null
ctl sync >/dev/null
wait_for "H-4 on the kiosk" hold_on_kiosk H-4 pending
r=$(ctl --json load H-4)
l4=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$l4" open >/dev/null
ctl sim door "$l4" close >/dev/null
ctl sync >/dev/null
wait_for "H-4 loaded on the server" sh -c "[ \"\$(sqlite3 '$HUB_DIR/hub.db' \"SELECT state FROM holds WHERE id = 'H-4'\")\" = loaded ]"
hub_stop
HUB_API=1.0 hub_start
reset_kiosk
ctl sync >/dev/null
wait_for "H-4 on the kiosk" hold_on_kiosk H-4 pending
expect '.sync.server_minor == 0' "$(ctl --json status)"

echo "two holds the server has in one locker: one taken as loaded, the pull goes through"
# A stale server record (a pickup it never heard of, then another load).
hub_stop
hub_start
sqlite3 -cmd ".timeout 10000" "$HUB_DIR/hub.db" "UPDATE holds SET state = 'loaded', locker = $l4 WHERE id = 'H-2'"
reset_kiosk
ctl sync >/dev/null
wait_for "H-3 on the kiosk" hold_on_kiosk H-3 pending
r=$(ctl --json holds)
expect "[.holds[] | select(.id == \"H-2\" or .id == \"H-4\") | .state] | sort == [\"loaded\", \"pending\"]" "$r"
expect "[.holds[] | select(.state == \"loaded\") | .locker] == [$l4]" "$r"
grep -q "which here is no empty hold compartment (another hold of this reply is there)" "$WORK/lokerd.log" ||
	fail "no warning for the second hold in locker $l4"
echo PASS
