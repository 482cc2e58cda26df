#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Staff PINs a stolen kiosk gives away (issue 19, point 12), against the
# real lokerhub over HTTPS: a kiosk gets only the staff cards scoped to it
# (or to every kiosk, with a warning), loses one scoped away, and gets the
# old, cheap PIN hashes of a hub made costlier without their PINs
# (lokerhub staff-upgrade-pins), which still log in with the same PIN.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub kiosk-add demo-02 --token-file "$WORK/hub/token-02" >/dev/null
hub_start
hub_sync_config >>"$WORK/lokerd.conf"

hub staff-add --card S-1 --pin 135791 --kiosk demo-01 >/dev/null 2>"$WORK/add1.err"
hub staff-add --card S-2 --pin 246802 --kiosk demo-02 >/dev/null
hub staff-add --card S-3 --pin 111111 >/dev/null 2>"$WORK/add3.err"
grep -q "warning: card:S-3 is sent to every kiosk" "$WORK/add3.err" ||
	fail "no warning for a card sent to every kiosk: $(cat "$WORK/add3.err")"
[ ! -s "$WORK/add1.err" ] || fail "a warning for a scoped card: $(cat "$WORK/add1.err")"
if hub staff-add --card S-9 --pin 123456 --kiosk nowhere >/dev/null 2>&1; then
	fail "a card was scoped to a kiosk that does not exist"
fi
# S-3's hash as a hub of before this change made it: 10,000 iterations.
old=$(python3 - <<'PY'
import hashlib, os
salt = os.urandom(16)
key = hashlib.pbkdf2_hmac("sha256", b"111111", salt, 10000, 32)
print(f"pbkdf2-sha256$10000${salt.hex()}${key.hex()}")
PY
)
sqlite3 "$WORK/hub/hub.db" "UPDATE staff SET pin_hash = '$old'
	WHERE pin_hash NOT IN (SELECT pin_hash FROM staff s JOIN staff_kiosks k USING (credential))"
[ "$(sqlite3 "$WORK/hub/hub.db" "SELECT count(*) FROM staff WHERE pin_hash LIKE 'pbkdf2-sha256\$10000\$%'")" = 1 ] ||
	fail "the old hash was not put in place"
kiosk_start "$WORK"

kiosk_staff() { sqlite3 "$WORK/lokerd.db" "SELECT count(*) FROM staff"; }
# wait_staff N: until the kiosk holds N staff cards.
wait_staff() {
	local i
	for i in $(seq 100); do
		[ "$(kiosk_staff)" = "$1" ] && return 0
		sleep 0.1
	done
	fail "the kiosk holds $(kiosk_staff) staff cards, not $1"
}
login() { # CARD PIN SCREEN
	expect '.screen.name=="staff_pin"' "$(ctl --json sim tap "card:$1")"
	expect ".screen.name==\"$3\"" "$(ctl --json sim pin "$2")"
	ctl sim cancel >/dev/null
}

echo "demo-01 gets its own staff card and the one for every kiosk, not demo-02's"
wait_staff 2
login S-1 135791 staff_menu
expect '.screen.name=="unknown_card"' "$(ctl --json sim tap card:S-2)"
login S-3 111111 staff_menu
[ "$(sqlite3 "$WORK/lokerd.db" "SELECT count(*) FROM staff WHERE pin_hash LIKE 'pbkdf2-sha256\$600000\$%'")" = 1 ] ||
	fail "S-1's hash is not at the default cost"

echo "S-1 moved to demo-02: demo-01 drops it"
hub staff-add --card S-1 --pin 135791 --kiosk demo-02 >/dev/null
ctl sync >/dev/null
wait_staff 1
expect '.screen.name=="unknown_card"' "$(ctl --json sim tap card:S-1)"

# pull KIOSK VERSION [CURSOR]: demo-02's changes as a kiosk of sync VERSION
# asks (1.0: no Lokerbuku-Sync header, as the v1.0 firmware).
pull() {
	local hdr=()
	[ "$2" = 1.0 ] || hdr=(-H "Lokerbuku-Sync: $2")
	curl -sS --fail --cacert "$WORK/hub/ca/ca.pem" -m 20 "${hdr[@]}" \
		-H "Authorization: Bearer $(cat "$WORK/hub/token-02")" \
		"$HUB_URL/kiosks/demo-02/changes${3:+?cursor=$3}"
}
c02=$(pull demo-02 1.0 | jq -r .cursor)

echo "the hub's cheap hash made costlier without the PIN, and sent again"
out=$(hub staff-upgrade-pins)
[ "$out" = "1 staff PIN hashes upgraded, 2 kept" ] || fail "upgrade: $out"
[ "$(hub staff-upgrade-pins)" = "0 staff PIN hashes upgraded, 3 kept" ] ||
	fail "a second upgrade changed something"
ctl sync >/dev/null
for _ in $(seq 100); do
	[ "$(sqlite3 "$WORK/lokerd.db" "SELECT count(*) FROM staff WHERE pin_hash LIKE 'pbkdf2-sha256-2\$10000\$590000\$%'")" = 1 ] && break
	sleep 0.1
done
[ "$(sqlite3 "$WORK/lokerd.db" "SELECT count(*) FROM staff WHERE pin_hash LIKE 'pbkdf2-sha256-2\$10000\$590000\$%'")" = 1 ] ||
	fail "the kiosk did not get the upgraded hash: $(sqlite3 "$WORK/lokerd.db" "SELECT pin_hash FROM staff")"
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:S-3)"
expect '.screen.name=="wrong_pin"' "$(ctl --json sim pin 111112)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 111111)"

echo "a kiosk of sync v1.0 never gets a hash it cannot check: those cards are left out there"
# S-4 with a hash as the SLiMS plugin made it (200 000 iterations): the
# most a v1.0 kiosk checks, so the one card that reaches it.
hub staff-add --card S-4 --pin 222222 --kiosk demo-02 >/dev/null
h200=$(python3 -c '
import hashlib, os
salt = os.urandom(16)
key = hashlib.pbkdf2_hmac("sha256", b"222222", salt, 200000, 32)
print(f"pbkdf2-sha256$200000${salt.hex()}${key.hex()}")')
sqlite3 "$WORK/hub/hub.db" "UPDATE staff SET pin_hash = '$h200' WHERE seq = (SELECT max(seq) FROM staff)"
v11=$(pull demo-02 1.1)
expect '(.staff | length) == 4 and ([.staff[] | select(.pin | startswith("pbkdf2-sha256-2$"))] | length) == 1' "$v11"
s3=$(jq -r '.staff[] | select(.pin | startswith("pbkdf2-sha256-2$")) | .credential' <<<"$v11")
s4=$(jq -r '.staff[] | select(.pin | startswith("pbkdf2-sha256$200000$")) | .credential' <<<"$v11")
[ -n "$s4" ] || fail "no 200000-iteration hash in: $v11"
v10=$(pull demo-02 1.0)
expect "[.staff[].credential] == [\"$s4\"] and .removed_staff == []" "$v10"
grep -q "kiosk demo-02 speaks sync v1.0: 3 staff card(s) left out there" "$WORK/hub/hub.log" ||
	fail "no word in the hub's log of the cards left out: $(tail -n 5 "$WORK/hub/hub.log")"
# One that had S-3's old hash drops it rather than keep a stale one.
v10=$(pull demo-02 1.0 "$c02")
expect "[.staff[].credential] == [\"$s4\"] and .removed_staff == [\"$s3\"]" "$v10"
kiosk_stop
echo "ok"
