#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 19 point 3: a copy of a member's barcode or of a card's UID alone
# opens nothing by default. The patron has set no kiosk PIN (the usual
# case); tapped at a kiosk with the packaged [policy] section, at one with
# no [policy] at all (lokerd's own default), and at a kiosk whose file says
# no but whose lokerhub kiosk was added with kiosk-add's default (the
# server's setting wins once synced), each copy gets "no PIN set" and no
# door, while the patron's pickup code opens the locker.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

# The [policy] section of the packaged lokerd.conf, as installed.
policy=$(sed -n '/^\[policy\]/,/^\[/p' "$LOKERBUKU_TOP/firmware/dist/lokerd.conf" | sed '$d')
grep -q pin_required <<<"$policy" || fail "no pin_required in the packaged [policy]"

# copies_open_nothing WHAT HOLD: the member barcode and the UID, each
# alone, then the hold's pickup code.
copies_open_nothing() {
	local what=$1 hold=$2 c r l
	for c in card:M0001 uid:04A1B2C3D4E5F6; do
		r=$(ctl --json sim tap "$c")
		jq -e '.screen.name == "pin_not_set" and .unlocked == []' >/dev/null <<<"$r" ||
			fail "$what: a copy of $c alone got: $(jq -c '{screen: .screen.name, unlocked}' <<<"$r")"
	done
	echo "  $what: the barcode alone and the UID alone: no PIN set, no door"
	r=$(ctl --json sim tap "code:$CODE")
	expect '.screen.name == "lockers_open" and (.unlocked | length) == 1' "$r"
	l=$(jq '.unlocked[0]' <<<"$r")
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
	expect "[.events[] | select(.type == \"hold_picked_up\" and .payload.hold_id == \"$hold\")] | length == 1" \
		"$(ctl --json events)"
	echo "  $what: the pickup code opened the patron's locker and $hold was picked up"
}
load() {
	local l
	l=$(ctl --json load "$1" | jq -r '.unlocked[0]')
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
}
CODE=48151623
add_hold() {
	ctl holds add "$1" --credential card:M0001 --credential uid:04A1B2C3D4E5F6 \
		--code "$CODE" >/dev/null
	load "$1"
}

echo "the packaged [policy] section: $(grep '^pin_required' <<<"$policy")"
kiosk_write_config "$WORK" "$policy"
kiosk_start "$WORK"
add_hold H-1
copies_open_nothing "packaged lokerd.conf" H-1
kiosk_stop

echo "no [policy] section: lokerd's own default"
sed -i '/^\[policy\]/,/^\[/{/^pin_required/d}' "$WORK/lokerd.conf"
grep -q pin_required "$WORK/lokerd.conf" && fail "pin_required still in the file"
kiosk_start "$WORK"
add_hold H-2
copies_open_nothing "lokerd's default" H-2
kiosk_stop

echo "a kiosk whose file says no, synced with a lokerhub kiosk added by default"
rm -f "$WORK"/lokerd.db*
kiosk_write_config "$WORK" "
[policy]
pin_required = no"
HUB_DIR=$WORK/hub
mkdir -p "$HUB_DIR"
"$LOKERBUKU_TOP/tools/make-test-ca" "$HUB_DIR/ca"
hub init --site-key-file "$WORK/site.key" >/dev/null
hub kiosk-add demo-01 --token-file "$HUB_DIR/token" >/dev/null
hub patron-add P-1 --name Siti --card M0001 --uid 04A1B2C3D4E5F6 >/dev/null
hub hold-add H-3 --kiosk demo-01 --patron P-1 --item "B0001=Laskar Pelangi" \
	--code "$CODE" >/dev/null
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"
for _ in $(seq 100); do
	ctl --json holds | jq -e '.holds[] | select(.id == "H-3")' >/dev/null && break
	sleep 0.1
done
ctl --json holds | jq -e '.holds[] | select(.id == "H-3")' >/dev/null ||
	fail "H-3 did not reach the kiosk within 10 s"
load H-3
copies_open_nothing "lokerhub kiosk-add's default" H-3
kiosk_stop
echo "PASS"
