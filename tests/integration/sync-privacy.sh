#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 19 point 5: a member card scanned in a staff session never reaches
# the server, and no scanned text is in a URL or in lokerhub's log.
# - a card the kiosk knows (a patron's of a hold here, a staff card) is
#   recognised by its HMAC and not sent at all;
# - a v1.1 server gets the lookup in a POST body (items/lookup), and
#   neither the URL nor lokerhub's log has the text;
# - a v1 server (lokerhub --api 1.0), whose lookup is GET items/{barcode},
#   is never asked it: the kiosk pulls instead, and finds the hold routed
#   since in what the pull brought; a card it does not know stays on it.
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
hub patron-add P-1 --name Siti --card M0001 --uid 04A1B2C3D4E5F6 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --item "B0001=Laskar Pelangi" \
	--code 482913 >/dev/null
hub staff-add --card STAFF-01 --pin 2468 >/dev/null
kiosk_start "$WORK"

kiosk_has_hold() { ctl --json holds | jq -e --arg h "$1" '.holds[] | select(.id==$h)'; }
lookups() { grep -c "/items/" "$HUB_DIR/hub.log" || true; }

wait_for "hold H-1 on the kiosk" kiosk_has_hold H-1
wait_for "the kiosk knows the server speaks 1.1" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.server_minor == 1'"
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:STAFF-01)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 2468)"

echo "a patron's card, a pickup code and a staff card scanned by staff stay on the kiosk"
before=$(lookups)
for text in M0001 482913 STAFF-01; do
	ctl sim scan "$text" >/dev/null || true
done
sleep 1
[ "$(lookups)" = "$before" ] || fail "a known card was sent to the server"
[ "$(grep -c "a card this kiosk knows" "$WORK/lokerd.log")" = 3 ] ||
	fail "not 3 log lines for the 3 known cards"

echo "a v1.1 server gets the lookup in a POST body"
hub hold-add H-2 --kiosk demo-01 --patron P-1 --item "B0003=Ronggeng Dukuh Paruk" >/dev/null
kiosk_has_hold H-2 >/dev/null && fail "H-2 arrived before the lookup: the test proves nothing"
ctl sim scan B0003 >/dev/null
wait_for "H-2 loading" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '[.lockers[] | select(.purpose==\"load\")] | length == 1'"
l=$(ctl --json status | jq '[.lockers[] | select(.purpose=="load")][0].number')
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
# A member card the kiosk does not know: asked, in the body, not found.
ctl sim scan M0099 >/dev/null || true
wait_for "the lookup of M0099 answered" grep -q "not known there" "$WORK/lokerd.log"
grep -q "POST /locker-sync/v1/kiosks/demo-01/items/lookup 200" "$HUB_DIR/hub.log" ||
	fail "no POST items/lookup 200 in lokerhub's log"
grep -q "POST /locker-sync/v1/kiosks/demo-01/items/lookup 404" "$HUB_DIR/hub.log" ||
	fail "no POST items/lookup 404 in lokerhub's log"

echo "a v1 server is never asked by URL: the kiosk pulls instead"
ctl sim cancel >/dev/null
hub_stop
HUB_API=1.0 hub_start
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:STAFF-01)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 2468)"
ctl sync >/dev/null
wait_for "the kiosk knows the server speaks 1.0" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.server_minor == 0'"
hub hold-add H-4 --kiosk demo-01 --patron P-1 --item "B0007=Cantik Itu Luka" >/dev/null
kiosk_has_hold H-4 >/dev/null && fail "H-4 arrived before the lookup: the test proves nothing"
ctl sim scan B0007 >/dev/null
wait_for "H-4 loading" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '[.lockers[] | select(.purpose==\"load\")] | length == 1'"
l=$(ctl --json status | jq '[.lockers[] | select(.purpose=="load")][0].number')
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
# A member card the kiosk does not know: a pull, nothing found, not sent.
pulls=$(grep -c "GET /locker-sync/v1/kiosks/demo-01/changes" "$HUB_DIR/hub.log")
ctl sim scan M0098 >/dev/null || true
wait_for "the pull for M0098" sh -c \
	"[ \$(grep -c 'GET /locker-sync/v1/kiosks/demo-01/changes' '$HUB_DIR/hub.log') -gt $pulls ]"
wait_for "the lookup of M0098 answered" sh -c \
	"[ \$(grep -c 'not known there' '$WORK/lokerd.log') -ge 2 ]"
! grep -q "GET /locker-sync/v1/kiosks/demo-01/items/" "$HUB_DIR/hub.log" ||
	fail "the kiosk asked a v1 server with the scan in the URL: $(grep "GET .*/items/" "$HUB_DIR/hub.log")"

echo "no scanned text in lokerhub's log"
for text in M0001 482913 STAFF-01 B0003 M0099 B0007 M0098; do
	! grep -q -- "$text" "$HUB_DIR/hub.log" || fail "lokerhub's log has \"$text\""
done
echo PASS
