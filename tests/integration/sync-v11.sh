#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Locker Sync API v1.1 through the real lokerd and lokerhub (issue 20):
# - command expiry (point 6): an open_locker that reaches the kiosk after
#   its expires_at (by the server's clock) is not carried out, and comes
#   back as command_done "expired"; one within its time runs; a v1 kiosk
#   is never sent an expired command.
# - credentials (point 3): a patron whose card was lost and replaced gets
#   into the locker with the new card, no longer with the old one, while
#   the hold waits in a locker.
# - time (point 7): the kiosk's time zone from [kiosk] timezone, its UTC
#   offset and its clock's skew against the server reach the server in
#   the heartbeat, and lokerctl status shows the skew.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 1000
[kiosk]
timezone = Asia/Makassar"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key" >/dev/null
hub kiosk-add demo-02 --token-file "$WORK/token-2" >/dev/null
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"

wait_for() {
	local what=$1
	shift
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "waited 10 s for: $what"
}
command_done() { # ID
	hub commands --json | jq -e --arg c "$1" '.[] | select(.id==$c and .done_at != null)'
}
wait_for "the kiosk knows the server speaks 1.1" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.server_minor == 1'"

echo "an open_locker that arrives after its expiry is not carried out"
hub fault add status 500 --count 0 >/dev/null
late=$(hub command demo-01 open_locker --locker 5 --expires-in 1 --reason "stuck door")
sleep 1.5
hub fault clear >/dev/null
ctl sync >/dev/null
wait_for "command $late acknowledged" command_done "$late"
r=$(ctl --json status)
expect '.lockers[4].lock_pulses == 0' "$r"
r=$(ctl --json events --limit 1000)
expect "[.events[] | select(.type==\"command_done\" and .payload.command==\"$late\")][0].payload.result == \"expired\"" "$r"
expect "[.events[] | select(.type==\"locker_unlocked\" and .payload.command==\"$late\")] | length == 0" "$r"
grep -q "server command $late expired before it reached the kiosk" "$WORK/lokerd.log" ||
	fail "no log line for the expired command"

echo "one within its time runs"
ok=$(hub command demo-01 open_locker --locker 6)
expect '.[] | select(.id=="'"$ok"'") | .expires_at != null' "$(hub commands --json)"
ctl sync >/dev/null
wait_for "locker 6 pulsed" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.lockers[5].lock_pulses==1'"

echo "a v1 kiosk is never sent an expired command; a v1.1 one is, to acknowledge it"
old=$(hub command demo-02 open_locker --locker 2 --expires-in 1)
sleep 1.5
heartbeat() { # [HEADER]
	curl -sS --cacert "$HUB_DIR/ca/ca.pem" -H "Authorization: Bearer $(cat "$WORK/token-2")" \
		-H 'Content-Type: application/json' ${1:+-H "$1"} --data '{}' \
		"$HUB_URL/kiosks/demo-02/status"
}
expect '.commands == []' "$(heartbeat)"
expect '.commands | map(.id) == ["'"$old"'"] and (.[0].expires_at | type == "string")' \
	"$(heartbeat 'Lokerbuku-Sync: 1.1')"
echo "a replaced card reaches a hold that is already in a locker"
hub patron-add P-1 --name Siti --card M0001 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --item "B0001=Laskar Pelangi" >/dev/null
ctl sync >/dev/null
wait_for "hold H-1 on the kiosk" sh -c "'$BIN/lokerctl' --json holds | jq -e '.holds[] | select(.id==\"H-1\")'"
r=$(ctl --json load H-1)
expect '.unlocked | length == 1' "$r"
l=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
hub patron-add P-1 --card M0002 >/dev/null # the lost M0001 replaced
ctl sync >/dev/null
wait_for "H-1 takes the new card" grep -q "hold H-1, in a locker, takes the server's credentials" "$WORK/lokerd.log"
expect '.screen.name == "unknown_card"' "$(ctl --json sim tap card:M0001)"
ctl sim cancel >/dev/null
expect '.unlocked == ['"$l"']' "$(ctl --json sim tap card:M0002)"
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null

echo "the heartbeat names the kiosk's zone, offset and clock skew"
ctl sync >/dev/null
wait_for "a heartbeat with the zone" sh -c \
	"sqlite3 '$HUB_DIR/hub.db' \"SELECT status_json FROM kiosks WHERE id = 'demo-01'\" | jq -e '.timezone == \"Asia/Makassar\" and (.clock_skew_ms | type == \"number\")'"
r=$(sqlite3 "$HUB_DIR/hub.db" "SELECT status_json FROM kiosks WHERE id = 'demo-01'")
# WITA has no summer time: always UTC+8. Both clocks are this machine's.
expect '.utc_offset_s == 28800 and (.clock_skew_ms | fabs) < 5000' "$r"
expect '(.sync.clock_skew_ms | type == "number") and (.sync.clock_skew_ms | fabs) < 5000' "$(ctl --json status)"
echo PASS
