#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole story across the network, against the real lokerhub over HTTPS:
# a hold created on the server reaches the kiosk, staff load it by scanning
# a book (and one the kiosk has never heard of, through the item lookup),
# the patron picks it up, and the server has every event exactly once; a
# remote "open locker" is carried out once and reported.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start
hub_sync_config >>"$WORK/lokerd.conf"

hub patron-add P-1 --name Siti --card M0001 --uid 04A1B2C3D4E5F6 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --item "B0001=Laskar Pelangi" \
	--item "B0002=Bumi Manusia" >/dev/null
hub staff-add --card STAFF-01 --pin 2468 >/dev/null
kiosk_start "$WORK"

kiosk_has_hold() { ctl --json holds | jq -e --arg h "$1" '.holds[] | select(.id==$h)'; }
hub_has_event() { # HOLD TYPE
	hub events --kiosk demo-01 --json |
		jq -e --arg h "$1" --arg t "$2" '.[] | select(.type==$t and .payload.hold_id==$h)'
}

echo "a hold and a staff card created on the server reach the kiosk"
wait_for "hold H-1 on the kiosk" kiosk_has_hold H-1
r=$(ctl --json holds)
expect '.holds[] | select(.id=="H-1") | .state=="pending" and (.items | length)==2' "$r"

echo "staff log in with the server's card and PIN, and load by scanning a book"
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:STAFF-01)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 2468)"
r=$(ctl --json sim scan B0002)
expect '.unlocked==[1]' "$r"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null

echo "a book of a hold placed after the last pull is looked up on the server"
hub hold-add H-2 --kiosk demo-01 --patron P-1 --size medium \
	--item "B0003=Ronggeng Dukuh Paruk" >/dev/null
kiosk_has_hold H-2 >/dev/null && fail "H-2 arrived before the lookup: the test proves nothing"
ctl sim scan B0003 >/dev/null
wait_for "H-2 loading into locker 7" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.lockers[6].purpose==\"load\"'"
ctl sim door 7 open >/dev/null
ctl sim door 7 close >/dev/null
ctl sim cancel >/dev/null
r=$(ctl --json holds)
expect '[.holds[] | select(.state=="loaded")] | map(.id) | sort == ["H-1","H-2"]' "$r"

echo "the patron taps the card the server knows, takes every book: both doors open"
r=$(ctl --json sim tap uid:04A1B2C3D4E5F6)
expect '.screen.name=="choose_books"' "$r"
r=$(ctl --json sim pickup)
expect '.unlocked==[1,7]' "$r"
for l in 1 7; do
	ctl sim door $l open >/dev/null
	ctl sim door $l close >/dev/null
done

echo "the server sees the loads and the pickups"
ctl sync >/dev/null
wait_for "hold_picked_up of H-1 on the server" hub_has_event H-1 hold_picked_up
wait_for "hold_picked_up of H-2 on the server" hub_has_event H-2 hold_picked_up
r=$(hub holds --json)
expect '[.[] | select(.id=="H-1" or .id=="H-2") | .state] == ["picked_up","picked_up"]' "$r"

echo "a remote open_locker is carried out once, recorded and reported"
cmd=$(hub command demo-01 open_locker --locker 5 --reason "stuck door")
ctl sync >/dev/null
wait_for "locker 5 pulsed" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.lockers[4].lock_pulses==1'"
# Staff on site open the door: no second pulse for a door that opened.
ctl sim door 5 open >/dev/null
ctl sim door 5 close >/dev/null
wait_for "command $cmd done on the server" sh -c \
	"'$BIN/lokerhub' -d '$HUB_DIR/hub.db' commands --json | jq -e '.[] | select(.id==\"$cmd\" and .done_at != null)'"
# More heartbeats: the command must not run again.
ctl sync >/dev/null
sleep 1
ctl sync >/dev/null
sleep 1
r=$(ctl --json status)
expect '.lockers[4].lock_pulses==1' "$r"
r=$(ctl --json events --limit 1000)
expect "[.events[] | select(.type==\"locker_unlocked\" and .payload.command==\"$cmd\")] | length == 1" "$r"
expect "[.events[] | select(.payload.command==\"$cmd\")][0].payload.purpose == \"maintenance\"" "$r"

echo "a hold the server takes away leaves the kiosk"
hub patron-add P-2 --card M0002 >/dev/null
hub hold-add H-3 --kiosk demo-01 --patron P-2 --item B0009 >/dev/null
ctl sync >/dev/null
wait_for "hold H-3 on the kiosk" kiosk_has_hold H-3
hub hold-remove H-3 >/dev/null
ctl sync >/dev/null
wait_for "hold H-3 gone from the kiosk" sh -c \
	"! '$BIN/lokerctl' --json holds | jq -e '.holds[] | select(.id==\"H-3\")'"
expect '.screen.name == "unknown_card"' "$(ctl --json sim tap card:M0002)"
ctl sim cancel >/dev/null

echo "staff see the kiosk's heartbeat on the server"
ctl sync >/dev/null
wait_for "a heartbeat with an empty backlog" sh -c \
	"'$BIN/lokerhub' -d '$HUB_DIR/hub.db' kiosks --json | jq -e '.[] | select(.id==\"demo-01\" and .online and .backlog==0)'"
r=$(hub kiosks --json)
expect '.[] | select(.id=="demo-01") | .in_service and .reader_ok and (.lockers | length) == 12' "$r"

echo "a hold picked up here, sent again before the server heard, stays picked up"
hub hold-add H-4 --kiosk demo-01 --patron P-1 --item B0010 >/dev/null
ctl sync >/dev/null
wait_for "hold H-4 on the kiosk" kiosk_has_hold H-4
expect '.unlocked==[1]' "$(ctl --json load H-4)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
hub fault add events 500 --count 0 >/dev/null
expect '.unlocked==[1]' "$(ctl --json sim tap uid:04A1B2C3D4E5F6)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
pulls=$(grep -c "sync: changes: 1 holds" "$WORK/lokerd.log" || true)
# Giving the patron's credentials again makes the server send H-4 again.
hub patron-add P-1 --name Siti --card M0001 --uid 04A1B2C3D4E5F6 >/dev/null
ctl sync >/dev/null
wait_for "H-4 sent again" sh -c \
	"[ \$(grep -c 'sync: changes: 1 holds' '$WORK/lokerd.log') -gt $pulls ]"
expect '.holds[] | select(.id=="H-4") | .state=="picked_up"' "$(ctl --json holds)"
# Nothing waits for this card any more: not even a pending copy.
expect '.screen.name == "unknown_card"' "$(ctl --json sim tap uid:04A1B2C3D4E5F6)"
ctl sim cancel >/dev/null
hub fault clear >/dev/null
ctl sync >/dev/null
wait_for "hold_picked_up of H-4 on the server" hub_has_event H-4 hold_picked_up

echo "every kiosk event is on the server exactly once"
wait_for "an empty backlog" sh -c "'$BIN/lokerctl' --json status | jq -e '.backlog==0'"
kiosk_ids=$(ctl --json events --limit 1000 | jq -c '[.events[].uuid] | sort')
hub_ids=$(hub events --kiosk demo-01 --json | jq -c '[.[].id] | sort')
[ "$kiosk_ids" = "$hub_ids" ] || fail "kiosk and server disagree: $kiosk_ids vs $hub_ids"
n=$(jq length <<<"$kiosk_ids")
[ "$n" -eq 13 ] || fail "$n events, not the 13 of the story (3 loads, 3 pickups: 12, and the remote opening)"
echo "  $n events, the same on both sides"

echo "lokerd stops cleanly"
kiosk_stop
echo "PASS"
