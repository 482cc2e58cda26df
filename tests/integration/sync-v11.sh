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
# - refusals (point 1): a checkout the library system refuses (lokerhub's
#   patron-add --refuse) is accepted with `refused`, only for a kiosk that
#   said 1.1; lokerd keeps it for staff (/api/state), counts it (status,
#   metrics), keeps it across a restart, and does not send it again.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 1000
[kiosk]
timezone = Asia/Makassar
[webui]
listen = 127.0.0.1:0
ui_dir = $WORK/ui
[metrics]
listen = 127.0.0.1:0"
mkdir -p "$WORK/ui"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key" >/dev/null
hub kiosk-add demo-02 --token-file "$WORK/token-2" >/dev/null
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"

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

echo "the library system refuses a checkout: the kiosk's staff and metrics learn of it"
hub patron-add P-2 --name Budi --card M0003 \
	--refuse "loan_limit=Batas pinjam 3 buku tercapai" >/dev/null
hub hold-add H-2 --kiosk demo-01 --patron P-2 --item "B0004=Ronggeng Dukuh Paruk" >/dev/null
hub staff-add --card STAFF-01 --pin 2468 >/dev/null
ctl sync >/dev/null
wait_for "hold H-2 on the kiosk" sh -c "'$BIN/lokerctl' --json holds | jq -e '.holds[] | select(.id==\"H-2\")'"
r=$(ctl --json load H-2)
l=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
expect '.unlocked == ['"$l"']' "$(ctl --json sim tap card:M0003)"
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
ctl sync >/dev/null
wait_for "the refusal on the kiosk" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.refused_events == 1 and .backlog == 0'"
grep -q "the library system refused event .*: loan_limit: Batas pinjam 3 buku tercapai; shown to staff" \
	"$WORK/lokerd.log" || fail "no log line for the refusal"
expect '.sync.rejected_events == 0' "$(ctl --json status)"
# On the server: taken (the books are gone), the refusal kept with it.
expect '.[0] == "accepted|refused: loan_limit: Batas pinjam 3 buku tercapai" and .[1] == "picked_up"' \
	"$(sqlite3 "$HUB_DIR/hub.db" "SELECT status || '|' || reason FROM events WHERE type = 'hold_picked_up'
		AND json_extract(payload, '\$.hold_id') = 'H-2'; SELECT state FROM holds WHERE id = 'H-2'" | jq -Rn '[inputs]')"
metrics_url=$(ctl --json status | jq -r .metrics.url)
scrape=$(curl -sS -m 20 "$metrics_url")
grep -qx 'lokerbuku_sync_refused_events_total 1' <<<"$scrape" ||
	fail "the metric lokerbuku_sync_refused_events_total is not 1: $(grep -i refused <<<"$scrape" || echo "${scrape:0:300}")"
echo "  staff see it on the screen's state"
ctl sim tap card:STAFF-01 >/dev/null
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 2468)"
url=$(ctl --json status | jq -r .webui.url)
expect '.staff.refused | length == 1 and .[0].hold_id == "H-2" and .[0].type == "hold_picked_up"
	and .[0].code == "loan_limit" and .[0].text == "Batas pinjam 3 buku tercapai"
	and (.[0].event | test("^[0-9a-f-]{36}$")) and (.[0].at | type == "string")' \
	"$(curl -s -m 20 "${url}api/state")"
ctl sim cancel >/dev/null

echo "  a v1 kiosk is never told of a refusal; a v1.1 kiosk is"
hub hold-add H-3 --kiosk demo-02 --patron P-2 --item "B0005=Cantik Itu Luka" >/dev/null
upload() { # UUID [HEADER]
	curl -sS --cacert "$HUB_DIR/ca/ca.pem" -H "Authorization: Bearer $(cat "$WORK/token-2")" \
		-H 'Content-Type: application/json' ${2:+-H "$2"} --data "{\"events\": [{\"id\": \"$1\",
		\"seq\": 1, \"type\": \"hold_picked_up\", \"at\": \"2026-11-22T08:15:02.123Z\",
		\"payload\": {\"hold_id\": \"H-3\", \"locker\": 1}}]}" \
		"$HUB_URL/kiosks/demo-02/events"
}
expect '.results == [{"id": "5b0c1a52-7d0e-4c3e-9a51-0d1f6f0e2a01", "status": "accepted"}]' \
	"$(upload 5b0c1a52-7d0e-4c3e-9a51-0d1f6f0e2a01)"
expect '.results[0].status == "accepted" and .results[0].refused.code == "loan_limit"' \
	"$(upload 5b0c1a52-7d0e-4c3e-9a51-0d1f6f0e2a02 'Lokerbuku-Sync: 1.1')"

echo "  kept across a restart of lokerd"
kiosk_stop
kiosk_start "$WORK"
expect '.sync.refused_events == 1' "$(ctl --json status)"

echo "the heartbeat names the kiosk's zone, offset and clock skew"
ctl sync >/dev/null
wait_for "a heartbeat with the zone" sh -c \
	"sqlite3 '$HUB_DIR/hub.db' \"SELECT status_json FROM kiosks WHERE id = 'demo-01'\" | jq -e '.timezone == \"Asia/Makassar\" and (.clock_skew_ms | type == \"number\")'"
r=$(sqlite3 "$HUB_DIR/hub.db" "SELECT status_json FROM kiosks WHERE id = 'demo-01'")
# WITA has no summer time: always UTC+8. Both clocks are this machine's.
expect '.utc_offset_s == 28800 and (.clock_skew_ms | fabs) < 5000' "$r"
expect '(.sync.clock_skew_ms | type == "number") and (.sync.clock_skew_ms | fabs) < 5000' "$(ctl --json status)"
echo PASS
