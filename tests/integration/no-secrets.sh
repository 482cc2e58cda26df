#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Only HMACs of credentials at rest: after a story with a tapped card, a
# scanned member barcode, a pickup code typed on the screen and staff and
# patron PINs, none of those values is in the database files (read as
# bytes, WAL included), the log, or the outbox events.
. "$(dirname "$0")/lib.sh"

UID_HEX=04A1B2C3D4E5F6
MEMBER=M7731904
CODE=58203917
STAFF=S9071
# PINs of 8 digits, the most there are: a shorter one turns up by chance
# in the hex of UUIDs and HMACs (5319 did, in one run of 2026-12-07).
STAFF_PIN=86420975
PATRON_PIN=53190842

kiosk_write_config "$WORK" "
[policy]
pin_required = yes
[webui]
listen = 127.0.0.1:0
ui_dir = $WORK"
kiosk_start "$WORK"
url=$(ctl --json status | jq -r .webui.url)
screen() {
	curl -s -H 'Content-Type: application/json' --data-binary "$1" "${url}api/action"
}

ctl staff add "card:$STAFF" --pin "$STAFF_PIN" >/dev/null
ctl holds add H-1 --credential "uid:$UID_HEX" --pin "$PATRON_PIN" \
	--name Siti --item "B1=Laskar Pelangi" >/dev/null
ctl holds add H-2 --credential "card:$MEMBER" --pin "$PATRON_PIN" \
	--item "B2=Bumi Manusia" >/dev/null
ctl holds add H-3 --credential card:M-0 --code "$CODE" >/dev/null

echo "staff logs in and loads the three holds"
ctl sim tap "card:$STAFF" >/dev/null
# pin PIN SCREEN: typed on the screen's keypad; the PIN is checked off
# the loop, and the state shows SCREEN once it is done.
pin() {
	local i
	screen "{\"action\":\"pin\",\"pin\":\"$1\"}" >/dev/null
	for i in $(seq 100); do
		[ "$(curl -s "${url}api/state" | jq -r .screen.name)" = "$2" ] && return 0
		sleep 0.1
	done
	fail "no $2 screen after the PIN: $(curl -s "${url}api/state" | jq -c .screen)"
}
pin "$STAFF_PIN" staff_menu
for h in H-1 H-2 H-3; do
	l=$(ctl --json load --session "$h" | jq -r '.unlocked[0]')
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
done
screen '{"action":"cancel"}' >/dev/null

echo "the three patrons: a card and PIN, a scanned barcode and PIN, a typed code"
ctl sim tap "uid:$UID_HEX" >/dev/null
pin "$PATRON_PIN" lockers_open
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
ctl sim scan "$MEMBER" >/dev/null
pin "$PATRON_PIN" lockers_open
ctl sim door 2 open >/dev/null
ctl sim door 2 close >/dev/null
expect '.unlocked|length==1' "$(screen "{\"action\":\"code\",\"code\":\"$CODE\"}")"
ctl sim door 3 open >/dev/null
ctl sim door 3 close >/dev/null
expect '[.events[] | select(.type=="hold_picked_up")] | length == 3' \
	"$(ctl --json events --limit 100)"

echo "a wrong PIN and an unknown code, typed too"
ctl sim tap "card:$STAFF" >/dev/null
screen '{"action":"pin","pin":"0000"}' >/dev/null
screen '{"action":"cancel"}' >/dev/null
screen '{"action":"code","code":"99887766"}' >/dev/null

ctl --json events --limit 1000 >"$WORK/outbox.json"
ctl --json holds --limit 1000 >"$WORK/holds.json"
kiosk_stop
found=0
for secret in "$UID_HEX" "$MEMBER" "$CODE" "$STAFF" "$STAFF_PIN" \
	"$PATRON_PIN" 99887766; do
	for f in "$WORK"/lokerd.db* "$WORK/lokerd.log" "$WORK/outbox.json" \
		"$WORK/holds.json"; do
		if grep -aqF "$secret" "$f"; then
			echo "FAIL: $secret is in $(basename "$f")" >&2
			found=1
		fi
	done
done
[ $found -eq 0 ] || exit 1
# The check can fail: the HMACs are there, the values are not.
grep -aq 'patron:[0-9a-f]\{64\}' "$WORK/outbox.json" || fail "no actor HMAC in the outbox"
echo "no-secrets: no credential, code or PIN at rest"
