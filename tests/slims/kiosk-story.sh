#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kiosk's story against the SLiMS plugin in the real SLiMS 9.7 that
# lib.sh installs (nginx with TLS, php-fpm, MariaDB), end to end: staff
# route reservations to the kiosk, lokerd pulls the hold, staff load it,
# the patron is mailed the pickup code, the patron collects it by card
# (and a second hold by the code from the mail), SLiMS's loan table has
# the loans and the reservations are gone; a remote open_locker is carried
# out once; the heartbeat is kept; every event reached SLiMS once. The
# mails are those SLiMS's mailer sent to the test's SMTP sink.
. "$LOKERBUKU_TOP/tests/integration/lib.sh"
. "$LOKERBUKU_TOP/tests/slims/lib.sh"
slims_need_tools || exit 77
story_cleanup() {
	[ -z "${SLIMS_DIR:-}" ] || [ "${STORY_OK:-}" = 1 ] || slims_logs
	slims_stop
}
CLEANUP_HOOK=story_cleanup

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
slims_start "$WORK/slims"
# One site key on both sides: the kiosk's.
slims_admin site-key-file "$WORK/site.key"
# Siti opens with her card alone: the library chose so (the default asks for the PIN).
slims_admin kiosk-add demo-01 "$WORK/token" 1 0
cat >>"$WORK/lokerd.conf" <<CONF
[sync]
url = $SLIMS_URL
token_file = $WORK/token
ca_file = $SLIMS_CA
status_interval_s = 10
pull_interval_s = 10
CONF

slims_admin member-add M0001 'Siti Aminah' 2099-12-31 siti@example.org
slims_admin member-add M0002 'Budi Santoso' 2099-12-31 budi@example.org
slims_admin item-add B0001 'Laskar Pelangi' >/dev/null
slims_admin item-add B0002 'Bumi Manusia' >/dev/null
slims_admin item-add B0003 'Ronggeng Dukuh Paruk' >/dev/null
r1=$(slims_admin reserve M0001 B0001)
r2=$(slims_admin reserve M0001 B0002)
r3=$(slims_admin reserve M0002 B0003)
H1=$(slims_admin route demo-01 small "$r1" "$r2")
slims_admin enrol M0001 04A1B2C3D4E5F6 >/dev/null
slims_admin staff-add card:STAFF-01 246813 >/dev/null
kiosk_start "$WORK"

WAIT_FOR_S=15
kiosk_has_hold() { ctl --json holds | jq -e --arg h "$1" '.holds[] | select(.id==$h)'; }
slims_hold_state() { [ "$(mariadb_sql "SELECT state FROM lokerbuku_hold WHERE hold_id = '$1'")" = "$2" ]; }
command_done() { [ -n "$(mariadb_sql "SELECT done_at FROM lokerbuku_command WHERE command_id = '$1' AND done_at IS NOT NULL")" ]; }
heartbeat_is() { mariadb_sql "SELECT last_status FROM lokerbuku_kiosk WHERE kiosk_id = 'demo-01'" | jq -e "$1"; }
mail_count() { find "$SLIMS_MAIL_DIR" -name '*.json' | wc -l; }

echo "a reservation routed in SLiMS reaches the kiosk as a hold"
wait_for "hold $H1 on the kiosk" kiosk_has_hold "$H1"
expect ".holds[] | select(.id==\"$H1\") | .state==\"pending\" and (.items | length)==2" "$(ctl --json holds)"

echo "staff log in with the card and PIN from SLiMS and load it"
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:STAFF-01)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 246813)"
expect '.unlocked==[1]' "$(ctl --json sim scan B0002)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null

echo "a reservation routed after the last pull is found by the item lookup"
H2=$(slims_admin route demo-01 medium "$r3")
kiosk_has_hold "$H2" >/dev/null && fail "$H2 arrived before the lookup: the test proves nothing"
ctl sim scan B0003 >/dev/null
wait_for "$H2 loading into locker 7" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.lockers[6].purpose==\"load\"'"
ctl sim door 7 open >/dev/null
ctl sim door 7 close >/dev/null
ctl sim cancel >/dev/null

echo "SLiMS marks both holds loaded and mails each pickup code"
ctl sync >/dev/null
wait_for "$H1 loaded in SLiMS" slims_hold_state "$H1" loaded
wait_for "$H2 loaded in SLiMS" slims_hold_state "$H2" loaded
wait_for "two mails" sh -c "[ \$(find '$SLIMS_MAIL_DIR' -name '*.json' | wc -l) -ge 2 ]"
sleep 1
m=$(slims_mails)
[ "$(mail_count)" = 2 ] || fail "$(mail_count) mails, not one per patron: $m"
expect '[.[] | select(.envelope_to == ["siti@example.org"] and (.body | test("locker 1\\b")))] | length == 1' "$m"
code=$(jq -r '.[] | select(.envelope_to == ["budi@example.org"] and (.body | test("locker 7\\b"))) | .body | capture("code (?<c>[0-9]{6,8})\\b").c' <<<"$m")
[[ $code =~ ^[0-9]{6,8}$ ]] || fail "no pickup code in Budi's mail for locker 7: $m"

echo "Siti taps her enrolled card: she takes both books (SLiMS speaks v1.1: the screen asks which), locker 1 opens"
expect '.screen.name=="choose_books"' "$(ctl --json sim tap uid:04A1B2C3D4E5F6)"
expect '.unlocked==[1]' "$(ctl --json sim pickup)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
ctl sim cancel >/dev/null

echo "Budi types the pickup code from his mail: locker 7 opens"
expect '.unlocked==[7]' "$(ctl --json sim tap "code:$code")"
ctl sim door 7 open >/dev/null
ctl sim door 7 close >/dev/null
ctl sim cancel >/dev/null

echo "SLiMS has the loans, and the reservations are gone"
ctl sync >/dev/null
wait_for "$H1 picked up in SLiMS" slims_hold_state "$H1" picked_up
wait_for "$H2 picked up in SLiMS" slims_hold_state "$H2" picked_up
loans=$(mariadb_sql "SELECT CONCAT(member_id, ':', item_code) FROM loan WHERE is_lent = 1 AND is_return = 0 ORDER BY item_code" | tr '\n' ' ')
[ "$loans" = "M0001:B0001 M0001:B0002 M0002:B0003 " ] || fail "loans in SLiMS: '$loans'"
due=$(mariadb_sql "SELECT DISTINCT DATEDIFF(due_date, loan_date) FROM loan")
[ "$due" = 7 ] || fail "loan period: '$due' days, not the member type's 7"
[ "$(mariadb_sql 'SELECT COUNT(*) FROM reserve')" = 0 ] || fail "reservations left: $(mariadb_sql 'SELECT * FROM reserve')"

echo "a remote open_locker from SLiMS is carried out once and reported"
cmd=$(slims_admin command demo-01 open_locker 5)
ctl sync >/dev/null
wait_for "locker 5 pulsed" sh -c "'$BIN/lokerctl' --json status | jq -e '.lockers[4].lock_pulses==1'"
ctl sim door 5 open >/dev/null
ctl sim door 5 close >/dev/null
wait_for "command $cmd done in SLiMS" command_done "$cmd"
ctl sync >/dev/null
sleep 1
expect '.lockers[4].lock_pulses==1' "$(ctl --json status)"

echo "SLiMS keeps the heartbeat: 12 lockers, an empty backlog"
ctl sync >/dev/null
wait_for "an empty backlog in the heartbeat" sh -c "'$BIN/lokerctl' --json status | jq -e '.backlog==0'"
ctl sync >/dev/null
wait_for "a heartbeat with backlog 0" heartbeat_is '.backlog == 0 and (.lockers | length) == 12'

echo "every kiosk event is in SLiMS exactly once"
kiosk_ids=$(ctl --json events --limit 1000 | jq -c '[.events[].uuid] | sort')
slims_ids=$(mariadb_sql "SELECT event_id FROM lokerbuku_event WHERE kiosk_id = 'demo-01' ORDER BY event_id" | jq -Rcs 'split("\n") | map(select(length > 0)) | sort')
[ "$kiosk_ids" = "$slims_ids" ] || fail "kiosk and SLiMS disagree: $kiosk_ids vs $slims_ids"
echo "  $(jq length <<<"$kiosk_ids") events, the same on both sides"

echo "lokerd stops cleanly"
kiosk_stop
STORY_OK=1
echo "PASS"
