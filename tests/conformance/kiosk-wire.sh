#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerd and lokerhub on the wire, against the OpenAPI file: a recording
# HTTPS proxy (validate.mjs, node) sits between the real lokerd and the
# real lokerhub while a kiosk's day runs (holds pulled, loads, an item
# lookup found and one not found, a pickup the library system refuses, a
# partial pickup (v1.1: a hold_picked_up with the books left), a
# return with a book scanned, a remote command, a 503 with Retry-After,
# the events sent again at the server's resend_events); then every request
# lokerd sent and every reply lokerhub gave is validated with ajv against
# docs/sync-api.openapi.yaml, and each of the four operations must have
# been seen.
#
# ctest runs it as conformance-kiosk-wire. Exits 77 without node/npm.
. "$LOKERBUKU_TOP/tests/integration/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
# shellcheck source=tests/conformance/node-deps.sh
. "$LOKERBUKU_TOP/tests/conformance/node-deps.sh"
conformance_node_deps "$BIN/../conformance-node"

PROXY_PID=
stop_all() {
	if [ -n "$PROXY_PID" ]; then
		kill -TERM "$PROXY_PID" 2>/dev/null || true
		wait "$PROXY_PID" 2>/dev/null || true
		PROXY_PID=
	fi
	hub_stop
}
CLEANUP_HOOK=stop_all

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key" >/dev/null
hub_start

"${VALIDATE[@]}" proxy --spec "$LOKERBUKU_TOP/docs/sync-api.openapi.yaml" \
	--listen-port-file "$WORK/proxy.port" --target "$HUB_URL" \
	--cert "$HUB_DIR/ca/server.pem" --key "$HUB_DIR/ca/server.key" \
	--ca "$HUB_DIR/ca/ca.pem" --record "$WORK/wire.jsonl" 2>"$WORK/proxy.log" &
PROXY_PID=$!
for _ in $(seq 200); do
	[ -s "$WORK/proxy.port" ] && break
	kill -0 "$PROXY_PID" 2>/dev/null || { cat "$WORK/proxy.log" >&2; fail "the proxy exited"; }
	sleep 0.05
done
[ -s "$WORK/proxy.port" ] || fail "the proxy did not listen within 10 s"
HUB_URL=https://127.0.0.1:$(cat "$WORK/proxy.port")/locker-sync/v1 hub_sync_config >>"$WORK/lokerd.conf"

# The library system refuses P-1's checkouts: the v1.1 `refused` goes
# over the wire too.
hub patron-add P-1 --name Siti --card M0001 --uid 04A1B2C3D4E5F6 \
	--refuse "member_expired=Keanggotaan habis" >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --item "B0001=Laskar Pelangi" \
	--item "B0002=Bumi Manusia" --code 482913 --expires-days 3 >/dev/null
hub staff-add --card STAFF-01 --pin 2468 >/dev/null
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
kiosk_has_hold() { ctl --json holds | jq -e --arg h "$1" '.holds[] | select(.id==$h)'; }

echo "holds and staff pulled"
wait_for "hold H-1 on the kiosk" kiosk_has_hold H-1

echo "staff load one hold, look one up on the server, and scan an unknown book"
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:STAFF-01)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 2468)"
expect '.unlocked==[1]' "$(ctl --json sim scan B0002)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
hub hold-add H-2 --kiosk demo-01 --patron P-1 --size medium \
	--item "B/0003=Ronggeng Dukuh Paruk" >/dev/null
ctl sim scan B/0003 >/dev/null
wait_for "H-2 loading" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '[.lockers[] | select(.purpose==\"load\")] | length == 1'"
l=$(ctl --json status | jq '[.lockers[] | select(.purpose=="load")][0].number')
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
ctl sim scan NO-SUCH-BOOK >/dev/null || true
wait_for "the lookup of an unknown book answered" grep -q "not known there" "$WORK/lokerd.log"
ctl sim cancel >/dev/null

echo "the patron picks up, leaving one book for later (v1.1); a remote command; a 503 with Retry-After"
expect '.screen.name=="choose_books"' "$(ctl --json sim tap uid:04A1B2C3D4E5F6)"
expect '.unlocked | length == 2' "$(ctl --json sim pickup H-1=B0002)"
for l in $(ctl --json status | jq '.lockers[] | select(.purpose=="pickup") | .number'); do
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
done
echo "a return with a book scanned"
ctl sim return >/dev/null
l=$(ctl --json sim tap card:M0009 | jq '.unlocked[0]')
ctl sim door "$l" open >/dev/null
ctl sim scan B0009 >/dev/null
ctl sim door "$l" close >/dev/null
cmd=$(hub command demo-01 open_locker --locker 5 --reason "stuck door")
hub fault add status 503 --count 1 --retry-after 1 >/dev/null
ctl sync >/dev/null
wait_for "command $cmd done on the server" sh -c \
	"'$BIN/lokerhub' -d '$HUB_DIR/hub.db' commands --json | jq -e '.[] | select(.id==\"$cmd\" and .done_at != null)'"
ctl sync >/dev/null
wait_for "every event on the server" sh -c \
	"[ \"\$('$BIN/lokerctl' --json status | jq .backlog)\" = 0 ]"

[ "$(sqlite3 "$HUB_DIR/hub.db" "SELECT json_extract(payload, '\$.items[0].barcode')
	FROM events WHERE type = 'return_deposited'")" = B0009 ] ||
	fail "the return reached the server without its scanned book"

echo "the server asks for its events again (v1.1 resend_events)"
cmd=$(hub command demo-01 resend_events --from-seq 1)
ctl sync >/dev/null
wait_for "the events sent again" grep -q "sync: events 1 to [0-9]* sent again" "$WORK/lokerd.log"

# The partial pickup went through the proxy, to be validated below.
jq -e -s '[.[] | select(.url | test("/events$")) | .reqBody | fromjson | .events[]
	| select(.type == "hold_picked_up" and .payload.left == [{"barcode":"B0002"}])]
	| length >= 1' "$WORK/wire.jsonl" >/dev/null ||
	fail "the partial pickup's hold_picked_up with left never went through the proxy"

stop_all
echo "validating $(wc -l <"$WORK/wire.jsonl") exchanges"
"${VALIDATE[@]}" check --spec "$LOKERBUKU_TOP/docs/sync-api.openapi.yaml" \
	--requests --need changes,events,status,lookup "$WORK/wire.jsonl" ||
	fail "lokerd's requests or lokerhub's replies do not match the OpenAPI file"
grep -q '"status":503' "$WORK/wire.jsonl" || fail "the 503 never went through the proxy"
grep -q '"status":404' "$WORK/wire.jsonl" || fail "the item lookup's 404 never went through the proxy"
jq -se '[.[] | select(.url | endswith("/events")) | .resBody | fromjson? |
	.results[]? | select(.status == "accepted" and .refused.code == "member_expired")] |
	length >= 1' "$WORK/wire.jsonl" >/dev/null ||
	fail "no v1.1 refusal of the library system's went through the proxy"
# The schema holds the partial pickup to its rules: the same traffic with
# a hold_picked_up that leaves no book is refused.
jq -c 'if (.url | endswith("/events")) then .reqBody |= (fromjson
	| .events |= map(if .payload.left then .payload.left = [] else . end) | tojson)
	else . end' "$WORK/wire.jsonl" >"$WORK/bad-left.jsonl"
if "${VALIDATE[@]}" check --spec "$LOKERBUKU_TOP/docs/sync-api.openapi.yaml" \
	--requests "$WORK/bad-left.jsonl" >"$WORK/bad-left.out" 2>&1; then
	fail "a hold_picked_up with an empty left passed the OpenAPI file"
fi
grep -q 'payload/left must NOT have fewer than 1 items' "$WORK/bad-left.out" ||
	fail "the empty left was not what failed: $(head -c 400 "$WORK/bad-left.out")"
echo "PASS"
