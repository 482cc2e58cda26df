#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Locker Sync API v1.1 between the real lokerd and the SLiMS plugin in the
# real SLiMS 9.7 that lib.sh installs (nginx with TLS, php-fpm, MariaDB),
# through a recording HTTPS proxy (tests/conformance/validate.mjs), issue
# 20: the two sides agree on 1.1; a reservation routed after the last pull
# is found by POST items/lookup and a scan of no item is not; a card
# enrolled after loading reaches the loaded hold and opens it; a pickup
# SLiMS refuses (an expired member) reaches the kiosk as `refused`; an
# expired open_locker is not carried out; a return with a book scanned is
# checked in; resend_events brings the events again, taken as duplicates;
# after lokerd's database is reset a hold in a locker stays loaded there.
# Then every request lokerd sent and every reply SLiMS gave is validated
# with ajv against docs/sync-api.openapi.yaml. Exits 77 without node/npm.
. "$LOKERBUKU_TOP/tests/integration/lib.sh"
. "$LOKERBUKU_TOP/tests/slims/lib.sh"
slims_need_tools || exit 77
# shellcheck source=tests/conformance/node-deps.sh
. "$LOKERBUKU_TOP/tests/conformance/node-deps.sh"
conformance_node_deps "${CONFORMANCE_NODE_DIR:-$BIN/../conformance-node}"

PROXY_PID=
stop_all() {
	if [ -n "$PROXY_PID" ]; then
		kill -TERM "$PROXY_PID" 2>/dev/null || true
		wait "$PROXY_PID" 2>/dev/null || true
		PROXY_PID=
	fi
	[ -z "${SLIMS_DIR:-}" ] || [ "${STORY_OK:-}" = 1 ] || slims_logs
	slims_stop
}
CLEANUP_HOOK=stop_all

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
slims_start "$WORK/slims"
slims_admin site-key-file "$WORK/site.key"
# Patrons open with their card alone here (the library chose so).
slims_admin kiosk-add demo-01 "$WORK/token" 1 0

"${VALIDATE[@]}" proxy --spec "$LOKERBUKU_TOP/docs/sync-api.openapi.yaml" \
	--listen-port-file "$WORK/proxy.port" --target "$SLIMS_BASE" \
	--cert "$SLIMS_DIR/ca/server.pem" --key "$SLIMS_DIR/ca/server.key" \
	--ca "$SLIMS_CA" --record "$WORK/wire.jsonl" 2>"$WORK/proxy.log" &
PROXY_PID=$!
for _ in $(seq 200); do
	[ -s "$WORK/proxy.port" ] && break
	kill -0 "$PROXY_PID" 2>/dev/null || { cat "$WORK/proxy.log" >&2; fail "the proxy exited"; }
	sleep 0.05
done
[ -s "$WORK/proxy.port" ] || fail "the proxy did not listen within 10 s"
cat >>"$WORK/lokerd.conf" <<CONF
[sync]
url = https://127.0.0.1:$(cat "$WORK/proxy.port")/index.php?p=api/locker/v1
token_file = $WORK/token
ca_file = $SLIMS_CA
status_interval_s = 10
pull_interval_s = 10
CONF

slims_admin member-add M0001 'Siti Aminah' 2099-12-31 siti@example.org
slims_admin member-add M0002 'Budi Santoso' 2020-01-31 budi@example.org
slims_admin member-add M0003 'Ani Lestari' 2099-12-31 ani@example.org
slims_admin member-add M0004 'Dewi Sartika' 2099-12-31 dewi@example.org
for b in B0001 B0002 B0003 B0004 B0005 B0006 B0009; do slims_admin item-add "$b" "Buku $b" >/dev/null; done
H1=$(slims_admin route demo-01 small "$(slims_admin reserve M0001 B0001)")
H2=$(slims_admin route demo-01 small "$(slims_admin reserve M0002 B0002)")
H4=$(slims_admin route demo-01 small "$(slims_admin reserve M0003 B0004)")
slims_admin enrol M0001 04A1B2C3D4E5F6 >/dev/null
slims_admin staff-add card:STAFF-01 246813 >/dev/null
kiosk_start "$WORK"

wait_for() {
	local what=$1
	shift
	for _ in $(seq 300); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "waited 30 s for: $what"
}
sql_is() { [ "$(mariadb_sql "$1")" = "$2" ]; } # SQL VALUE
cmd_done() { [ "$(mariadb_sql "SELECT done_at IS NOT NULL FROM lokerbuku_command WHERE command_id = '$1'")" = 1 ]; }
hold_on_kiosk() { ctl --json holds | jq -e --arg h "$1" --arg s "$2" '.holds[] | select(.id==$h and .state==$s)'; }
slims_hold_state() { [ "$(mariadb_sql "SELECT state FROM lokerbuku_hold WHERE hold_id = '$1'")" = "$2" ]; }
hmac() { printf %s "$1" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(tr -d ' \n' <"$WORK/site.key")" -r | cut -d' ' -f1; }
load() { # HOLD: staff load it (lokerctl), the door opened and closed; prints the locker
	local l
	l=$(ctl --json load "$1" | jq '.unlocked[0]')
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
	echo "$l"
}
collect() { # CREDENTIAL: the patron taps; every locker opened is opened and closed
	local r l
	r=$(ctl --json sim tap "$1")
	for l in $(jq '.unlocked[]' <<<"$r"); do
		ctl sim door "$l" open >/dev/null
		ctl sim door "$l" close >/dev/null
	done
	ctl sim cancel >/dev/null 2>&1 || true
	jq -c .unlocked <<<"$r"
}

echo "lokerd and SLiMS agree on sync v1.1"
wait_for "the holds on the kiosk" hold_on_kiosk "$H4" pending
expect '.sync.server_minor == 1' "$(ctl --json status)"

echo "staff load the holds; one routed after the pull is found by POST items/lookup"
L1=$(load "$H1")
L2=$(load "$H2")
L4=$(load "$H4")
H3=$(slims_admin route demo-01 small "$(slims_admin reserve M0001 B0003)")
hold_on_kiosk "$H3" pending && fail "$H3 arrived before the lookup: the test proves nothing"
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:STAFF-01)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 246813)"
ctl sim scan B0003 >/dev/null
wait_for "$H3 loading" sh -c "'$BIN/lokerctl' --json status | jq -e '[.lockers[] | select(.purpose==\"load\")] | length == 1'"
L3=$(ctl --json status | jq '[.lockers[] | select(.purpose=="load")][0].number')
ctl sim door "$L3" open >/dev/null
ctl sim door "$L3" close >/dev/null
ctl sim scan NO-SUCH-BOOK >/dev/null || true
wait_for "the lookup of no item answered" grep -q "not known there" "$WORK/lokerd.log"
ctl sim cancel >/dev/null
jq -se '[.[] | select(.method == "POST" and (.url | endswith("/items/lookup")) and .status == 200)] | length == 1' \
	"$WORK/wire.jsonl" >/dev/null || fail "no POST items/lookup found $H3"
ctl sync >/dev/null
wait_for "$H3 loaded in SLiMS" slims_hold_state "$H3" loaded

echo "a card enrolled after loading reaches the loaded holds and opens them"
took() { grep -c "sync: hold $H1, in a locker, takes the server's credentials" "$WORK/lokerd.log" || true; }
# The loads came back (each hold_loaded is a change): pulled before the card.
ctl sync >/dev/null
wait_for "$H3, loaded, pulled" grep -q "sync: hold $H3, in a locker, takes the server's credentials" "$WORK/lokerd.log"
n=$(took)
slims_admin enrol M0001 04CAFE01 >/dev/null
ctl sync >/dev/null
wait_for "$H1, loaded, sent again with the new card" sh -c "[ \$(grep -c \"sync: hold $H1, in a locker, takes the server's credentials\" '$WORK/lokerd.log') -gt $n ]"
u=$(collect uid:04CAFE01)
[ "$(jq -c 'sort' <<<"$u")" = "$(jq -cn "[$L1, $L3] | sort")" ] || fail "the new card opened $u, not $L1 and $L3"
ctl sync >/dev/null
wait_for "$H1 picked up in SLiMS" slims_hold_state "$H1" picked_up
[ "$(mariadb_sql "SELECT COUNT(*) FROM loan WHERE member_id = 'M0001' AND item_code IN ('B0001', 'B0003') AND is_return = 0")" = 2 ] ||
	fail "no loans of B0001 and B0003 in SLiMS"

echo "SLiMS refuses an expired member's checkout: the kiosk learns it (refused)"
u=$(collect card:M0002)
[ "$u" = "[$L2]" ] || fail "Budi's card opened $u, not [$L2]"
ctl sync >/dev/null
wait_for "the refusal on the kiosk" sh -c "'$BIN/lokerctl' --json status | jq -e '.sync.refused_events == 1'"
wait_for "$H2 picked up in SLiMS" slims_hold_state "$H2" picked_up
[ "$(mariadb_sql "SELECT COUNT(*) FROM loan WHERE member_id = 'M0002'")" = 0 ] || fail "an expired member got a loan"

echo "an expired open_locker is not carried out; SLiMS learns it expired"
cmd=$(slims_admin command demo-01 open_locker 5)
mariadb_sql "UPDATE lokerbuku_command SET expires_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE command_id = '$cmd'"
ctl sync >/dev/null
wait_for "$cmd acknowledged" cmd_done "$cmd"
ctl sync >/dev/null
wait_for "command_done expired in SLiMS" sql_is "SELECT COUNT(*) FROM lokerbuku_event WHERE type = 'command_done'
	AND JSON_VALUE(payload, '\$.command') = '$cmd' AND JSON_VALUE(payload, '\$.result') = 'expired'" 1
expect '.lockers[4].lock_pulses == 0' "$(ctl --json status)"

echo "a return with a book scanned is checked in (the library trusts this kiosk to)"
mariadb_sql "UPDATE lokerbuku_kiosk SET auto_checkin = 1;
	INSERT INTO loan (item_code, member_id, loan_date, due_date, loan_rules_id, is_lent, is_return)
	VALUES ('B0009', 'M0001', CURDATE() - INTERVAL 3 DAY, CURDATE() + INTERVAL 4 DAY, 0, 1, 0)"
ctl sim return >/dev/null
l=$(ctl --json sim tap card:M0001 | jq '.unlocked[0]')
ctl sim door "$l" open >/dev/null
ctl sim scan B0009 >/dev/null
ctl sim door "$l" close >/dev/null
ctl sync >/dev/null
wait_for "B0009 checked in" sql_is "SELECT is_return FROM loan WHERE item_code = 'B0009'" 1

echo "resend_events: the events again, from seq 1, taken as duplicates"
wait_for "nothing left to upload" sh -c "[ \"\$('$BIN/lokerctl' --json status | jq .backlog)\" = 0 ]"
before=$(mariadb_sql "SELECT COUNT(*) FROM lokerbuku_event")
cmd=$(slims_admin command demo-01 resend_events 1)
ctl sync >/dev/null
wait_for "the events sent again" grep -q "sync: events 1 to [0-9]* sent again" "$WORK/lokerd.log"
jq -se '[.[] | select(.url | endswith("/events")) | .resBody | fromjson? | .results[]? | select(.status == "duplicate")]
	| length >= 5' "$WORK/wire.jsonl" >/dev/null || fail "the events sent again were not duplicates"
ctl sync >/dev/null
wait_for "$cmd done" cmd_done "$cmd"
after=$(mariadb_sql "SELECT COUNT(*) FROM lokerbuku_event WHERE type <> 'command_done'")
[ "$after" -le "$before" ] || fail "events applied twice: $before before, $after after"

echo "lokerd's database is reset: the hold in locker $L4 stays loaded there (its locker sent)"
kiosk_stop
rm -f "$WORK/lokerd.db" "$WORK/lokerd.db-wal" "$WORK/lokerd.db-shm"
kiosk_start "$WORK"
ctl sync >/dev/null
wait_for "$H4 loaded again" hold_on_kiosk "$H4" loaded
grep -q "sync: hold $H4 taken as loaded in locker $L4, as the server has it" "$WORK/lokerd.log" ||
	fail "no log line for $H4 taken as loaded"
u=$(collect card:M0003)
[ "$u" = "[$L4]" ] || fail "Ani's card opened $u, not [$L4]"
ctl sync >/dev/null
wait_for "$H4 picked up in SLiMS" slims_hold_state "$H4" picked_up

echo "partial pickup: Dewi takes one of her two books, the other waits in the locker"
H5=$(slims_admin route demo-01 small "$(slims_admin reserve M0004 B0005)" "$(slims_admin reserve M0004 B0006)")
ctl sync >/dev/null
wait_for "$H5 on the kiosk" hold_on_kiosk "$H5" pending
L5=$(load "$H5")
ctl sync >/dev/null
wait_for "$H5 loaded in SLiMS" slims_hold_state "$H5" loaded
expect '.screen.name == "choose_books"' "$(ctl --json sim tap card:M0004)"
expect ".unlocked == [$L5]" "$(ctl --json sim pickup "$H5=B0006")"
ctl sim door "$L5" open >/dev/null
ctl sim door "$L5" close >/dev/null
ctl sim cancel >/dev/null 2>&1 || true
loans_of_dewi() { [ "$(mariadb_sql "SELECT GROUP_CONCAT(item_code ORDER BY item_code) FROM loan WHERE member_id = 'M0004'")" = "$1" ]; }
ctl sync >/dev/null
wait_for "B0005 lent to Dewi" loans_of_dewi B0005
slims_hold_state "$H5" loaded || fail "$H5 is not loaded any more in SLiMS after a partial pickup"
[ "$(mariadb_sql "SELECT GROUP_CONCAT(item_code) FROM reserve WHERE member_id = 'M0004'")" = B0006 ] ||
	fail "B0006 is not reserved for Dewi any more"
echo "  she comes back for the other"
u=$(collect card:M0004)
[ "$u" = "[$L5]" ] || fail "Dewi's card opened $u, not [$L5]"
ctl sync >/dev/null
wait_for "$H5 picked up in SLiMS" slims_hold_state "$H5" picked_up
loans_of_dewi B0005,B0006 || fail "Dewi's loans: not B0005 and B0006"
jq -se '[.[] | select(.method == "POST" and (.url | endswith("/events"))) | .reqBody | fromjson? | .events[]?
	| select(.type == "hold_picked_up" and (.payload.left | length) == 1)] | length == 1' "$WORK/wire.jsonl" >/dev/null ||
	fail "no partial pickup went over the wire"

kill -TERM "$PROXY_PID" 2>/dev/null || true
wait "$PROXY_PID" 2>/dev/null || true
PROXY_PID=
echo "validating $(wc -l <"$WORK/wire.jsonl") exchanges"
"${VALIDATE[@]}" check --spec "$LOKERBUKU_TOP/docs/sync-api.openapi.yaml" \
	--requests --need changes,events,status,lookup "$WORK/wire.jsonl" ||
	fail "lokerd's requests or SLiMS's replies do not match the OpenAPI file"
jq -se 'all(.[]; .resHeaders["lokerbuku-sync"] == "1.1")' "$WORK/wire.jsonl" >/dev/null ||
	fail "a reply did not say Lokerbuku-Sync: 1.1"
jq -se '[.[] | select(.url | endswith("/events")) | .resBody | fromjson? |
	.results[]? | select(.status == "accepted" and .refused.code == "member_expired")] | length == 1' \
	"$WORK/wire.jsonl" >/dev/null || fail "the refusal did not go over the wire once"
jq -se '[.[] | select(.url | contains("/changes")) | .resBody | fromjson? | .holds[]? | select(.locker != null)]
	| length >= 1' "$WORK/wire.jsonl" >/dev/null || fail "no loaded hold came with its locker"
jq -se '[.[] | select(.url | endswith("/status")) | .resBody | fromjson? | .commands[]? | select(.expires_at != null)]
	| length >= 1' "$WORK/wire.jsonl" >/dev/null || fail "no command came with expires_at"
STORY_OK=1
echo "PASS"
