#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Partial pickup (Locker Sync API v1.1, issue 20 point 4a) through the real
# lokerd and lokerhub:
# - a patron whose hold has several books chooses on the screen (POST
#   /api/action, as the touchscreen does) which to take; the door opens;
#   lokerd records one hold_picked_up naming the books taken (items) and
#   the books left (left); the hold stays loaded with the books left;
# - lokerhub lends the books taken (they leave its hold) and keeps the
#   hold loaded in that locker with the books left; the patron comes back
#   for them and the hold is finished;
# - the screens list only the books of the lockers that opened: not those
#   of a locker disabled while the patron chose, nor the books left;
# - with a v1 server (serve --api 1.0) there is no choice: the door opens
#   for every book at the tap, as before.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK" "
[webui]
listen = 127.0.0.1:0
ui_dir = $WORK/ui"
mkdir -p "$WORK/ui"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key" >/dev/null
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"

url=$(ctl --json status | jq -r .webui.url)
state() { curl -s -m 20 "${url}api/state"; }
action() { # JSON: as the screen sends it; prints the reply
	curl -s -m 20 -H 'Content-Type: application/json' --data-binary "$1" "${url}api/action"
}
hub_hold() { # ID: state|locker|barcodes on the server
	sqlite3 "$HUB_DIR/hub.db" "SELECT h.state || '|' || h.locker || '|' ||
		coalesce((SELECT group_concat(barcode, ',') FROM
			(SELECT barcode FROM hold_items WHERE hold_id = h.id ORDER BY pos)), '')
		FROM holds h WHERE h.id = '$1'"
}
wait_for "the kiosk knows the server speaks 1.1" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.server_minor == 1'"

echo "a hold of three books waits in a locker"
hub patron-add P-1 --name Siti --card M0001 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --item "B0001=Laskar Pelangi" \
	--item "B0002=Bumi Manusia" --item "B0003=Cantik Itu Luka" >/dev/null
ctl sync >/dev/null
wait_for "hold H-1 on the kiosk" sh -c "'$BIN/lokerctl' --json holds | jq -e '.holds[] | select(.id==\"H-1\")'"
l=$(ctl --json load H-1 | jq '.unlocked[0]')
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null

echo "the patron taps: the screen asks which books, nothing opens yet"
r=$(ctl --json sim tap card:M0001)
expect '.screen.name == "choose_books" and (.unlocked // [] | length == 0)' "$r"
expect '.lockers['"$((l - 1))"'].lock_pulses == 1' "$(ctl --json status)"
expect '.screen.name == "choose_books" and .screen.lockers == ['"$l"']
	and .screen.holds == [{"id":"H-1","locker":'"$l"',"items":[
		{"barcode":"B0001","title":"Laskar Pelangi"},
		{"barcode":"B0002","title":"Bumi Manusia"},
		{"barcode":"B0003","title":"Cantik Itu Luka"}]}]' "$(state)"

echo "a book that is not the hold's is refused, nothing opens"
r=$(action '{"action":"pickup","leave":[{"hold":"H-1","items":["B0009"]}]}')
expect '.ok == false and .errno == "EINVAL"' "$r"
r=$(action '{"action":"pickup","leave":[{"hold":"H-1","items":["B0001","B0002","B0003"]}]}')
expect '.ok == false' "$r"
expect '.screen.name == "choose_books"' "$(state)"
expect '.lockers['"$((l - 1))"'].lock_pulses == 1' "$(ctl --json status)"

echo "she takes B0001, leaves B0002 and B0003: the locker opens"
r=$(action '{"action":"pickup","leave":[{"hold":"H-1","items":["B0002","B0003"]}]}')
expect '.ok == true and .unlocked == ['"$l"']' "$r"
expect '.screen.name == "lockers_open" and .screen.items == [{"title":"Laskar Pelangi"}]' "$(state)"
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
ev=$(ctl --json events --limit 1000 | jq -c '[.events[] | select(.type == "hold_picked_up")]')
expect 'length == 1 and .[0].payload.hold_id == "H-1" and .[0].payload.locker == '"$l"'
	and .[0].payload.items == [{"barcode":"B0001"}]
	and .[0].payload.left == [{"barcode":"B0002"},{"barcode":"B0003"}]' "$ev"
h=$(ctl --json holds | jq -c '.holds[] | select(.id == "H-1")')
expect '.state == "loaded" and .locker == '"$l"' and [.items[].barcode] == ["B0002","B0003"]' "$h"

echo "lokerhub lends B0001 and keeps the hold loaded with the books left"
ctl sync >/dev/null
drained
[ "$(hub_hold H-1)" = "loaded|$l|B0002,B0003" ] ||
	fail "the server's hold H-1 is $(hub_hold H-1), not loaded|$l|B0002,B0003"
grep -q "hold H-1 taken in part: 1 book(s) lent, 2 still in the locker" "$HUB_DIR/hub.log" ||
	fail "lokerhub did not log the partial pickup"
expect '.[] | select(.type == "hold_picked_up") | .status == "accepted"' \
	"$(hub events --kiosk demo-01 --json)"

echo "a restart keeps the hold with the books left"
kiosk_stop
kiosk_start "$WORK"
url=$(ctl --json status | jq -r .webui.url)
wait_for "the kiosk knows the server speaks 1.1" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.server_minor == 1'"

echo "she comes back, takes both: the hold is finished on both sides"
expect '.screen.name == "choose_books"' "$(ctl --json sim tap card:M0001)"
expect '.screen.holds[0].items | map(.barcode) == ["B0002","B0003"]' "$(state)"
expect '.ok == true and .unlocked == ['"$l"']' "$(action '{"action":"pickup"}')"
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
ev=$(ctl --json events --limit 1000 | jq -c '[.events[] | select(.type == "hold_picked_up")]')
expect 'length == 2 and .[1].payload.items == [{"barcode":"B0002"},{"barcode":"B0003"}]
	and (.[1].payload | has("left") | not)' "$ev"
expect '.holds[] | select(.id == "H-1") | .state == "picked_up"' "$(ctl --json holds)"
ctl sync >/dev/null
drained
[ "$(hub_hold H-1)" = "picked_up|$l|B0002,B0003" ] ||
	fail "the server's hold H-1 is $(hub_hold H-1), not picked_up"

echo "a locker disabled while he chooses stays shut, and its book is not listed"
hub patron-add P-2 --name Budi --card M0002 >/dev/null
hub hold-add H-5 --kiosk demo-01 --patron P-2 --item "B0011=Saman" --item "B0012=Ronggeng Dukuh Paruk" >/dev/null
hub hold-add H-6 --kiosk demo-01 --patron P-2 --item "B0013=Gadis Kretek" >/dev/null
ctl sync >/dev/null
wait_for "holds H-5 and H-6 on the kiosk" sh -c \
	"'$BIN/lokerctl' --json holds | jq -e '[.holds[] | select(.id==\"H-5\" or .id==\"H-6\")] | length == 2'"
for id in H-5 H-6; do
	n=$(ctl --json load "$id" | jq '.unlocked[0]')
	ctl sim door "$n" open >/dev/null
	ctl sim door "$n" close >/dev/null
done
l5=$(ctl --json holds | jq '.holds[] | select(.id == "H-5") | .locker')
l6=$(ctl --json holds | jq '.holds[] | select(.id == "H-6") | .locker')
expect '.screen.name == "choose_books"' "$(ctl --json sim tap card:M0002)"
ctl disable "$l6" >/dev/null
r=$(action '{"action":"pickup","leave":[{"hold":"H-5","items":["B0012"]}]}')
expect '.ok == true and .unlocked == ['"$l5"']' "$r"
expect '.screen.name == "lockers_open" and .screen.items == [{"title":"Saman"}]' "$(state)"
ctl sim door "$l5" open >/dev/null
ctl sim door "$l5" close >/dev/null
expect '.screen.items == [{"title":"Saman"}]' "$(state)"
ctl enable "$l6" >/dev/null

echo "with a v1 server there is no choice: all or nothing"
hub_stop
HUB_API=1.0 hub_start
kiosk_stop
sed -i "s|^url = .*|url = $HUB_URL|" "$WORK/lokerd.conf"
kiosk_start "$WORK"
hub hold-add H-2 --kiosk demo-01 --patron P-1 --item "B0004=Amba" --item "B0005=Pulang" >/dev/null
ctl sync >/dev/null
wait_for "hold H-2 on the kiosk" sh -c "'$BIN/lokerctl' --json holds | jq -e '.holds[] | select(.id==\"H-2\")'"
expect '.sync.server_minor == 0' "$(ctl --json status)"
l=$(ctl --json load H-2 | jq '.unlocked[0]')
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
expect '.screen.name == "lockers_open" and .unlocked == ['"$l"']' "$(ctl --json sim tap card:M0001)"
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
ev=$(ctl --json events --limit 1000 | jq -c '[.events[] | select(.type == "hold_picked_up")][-1]')
expect '.payload.items == [{"barcode":"B0004"},{"barcode":"B0005"}] and (.payload | has("left") | not)' "$ev"

echo "a v1 server knows no books left: a left sent anyway finishes the hold"
hub hold-add H-3 --kiosk demo-01 --patron P-1 --item "B0006=Ronggeng" --item "B0007=Saman" >/dev/null
ctl sync >/dev/null
wait_for "hold H-3 on the kiosk" sh -c "'$BIN/lokerctl' --json holds | jq -e '.holds[] | select(.id==\"H-3\")'"
l=$(ctl --json load H-3 | jq '.unlocked[0]')
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
ctl sync >/dev/null
drained
ev=$(jq -nc --argjson l "$l" --arg at "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" '{events: [{
	id: "7d4f2c1e-0b6a-4c3e-9a51-3f2e8d7c6b5a", seq: 900000, type: "hold_picked_up",
	at: $at, payload: {actor: "patron:00", hold_id: "H-3", locker: $l,
	items: [{barcode: "B0006"}], left: [{barcode: "B0007"}]}}]}')
r=$(curl -s -m 20 --cacert "$HUB_DIR/ca/ca.pem" -H "Authorization: Bearer $(cat "$HUB_DIR/token")" \
	-H 'Content-Type: application/json' -H 'Lokerbuku-Sync: 1.1' \
	--data-binary "$ev" "$HUB_URL/kiosks/demo-01/events")
expect '.results == [{"id":"7d4f2c1e-0b6a-4c3e-9a51-3f2e8d7c6b5a","status":"accepted"}]' "$r"
[ "$(hub_hold H-3)" = "picked_up|$l|B0006,B0007" ] ||
	fail "the v1 server's hold H-3 is $(hub_hold H-3), not picked_up with both books"
echo "PASS"
