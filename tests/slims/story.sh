#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole "layanan tertutup" (closed-stack service) story in one test,
# in the real SLiMS 9.7 that lib.sh installs as a library would, with the
# pages driven in Chromium (browser/story.mjs) and the real lokerd on
# simulated hardware as the kiosk:
#
#  1. two members reserve a book each in SLiMS's OPAC member area; one
#     sets a kiosk PIN there;
#  2. staff log in to SLiMS's admin, open Circulation -> Book Lockers
#     (inside the admin shell), set the site key, add the kiosk (its token
#     shown once) with "Patrons must give their PIN", add kiosk staff, and
#     route each reservation to the kiosk;
#  3. lokerd pulls the holds; staff load both at the kiosk; both loads
#     reach SLiMS in one upload;
#  4. each patron gets exactly one mail (from SLiMS's mailer, caught by
#     the SMTP sink) with only their own address and pickup code; the
#     staff page shows both notified;
#  5. one collects by member card and PIN, the other by the mailed code;
#  6. the loans are in SLiMS's circulation pages and the members' OPAC
#     pages, made by the kiosk's SLiMS user and written to system_log;
#     the reservations are gone;
#  7. a return deposited at the kiosk waits for staff (no automatic
#     check-in) and is checked in on the staff page.
#
# Prints one line per check and "N passed, M failed" at the end. Skipped
# (77) without php-fpm, nginx, MariaDB, Chromium, node or npm.
. "$LOKERBUKU_TOP/tests/integration/lib.sh"
. "$LOKERBUKU_TOP/tests/slims/lib.sh"
slims_need_tools || exit 77
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "SKIP: no Chromium at $CHROMIUM (Debian: chromium; tools/bootstrap)" >&2; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "SKIP: node or npm is missing (Debian: nodejs npm; tools/bootstrap)" >&2; exit 77; }

# playwright-core as tests/ui pins it, installed as tests/ui/run.sh does
# (into the build tree, reused while the lock file is unchanged).
build=$(cd "$BIN/.." && pwd)
node_dir=$build/slims-node
lock=$LOKERBUKU_TOP/tests/ui/package-lock.json
lock_sum=$(sha256sum "$lock" | cut -d' ' -f1)
if [ "$(cat "$node_dir/.lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
	mkdir -p "$node_dir"
	cp "$LOKERBUKU_TOP/tests/ui/package.json" "$lock" "$node_dir/"
	if ! (cd "$node_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
		tail -n 15 "$node_dir/npm.log" >&2
		echo "SKIP: npm ci of playwright-core failed (is the npm registry reachable?)" >&2
		exit 77
	fi
	echo "$lock_sum" >"$node_dir/.lock-sum"
fi
export PLAYWRIGHT_CORE=$node_dir/node_modules/playwright-core/index.mjs CHROMIUM
export STORY_OUT=${STORY_OUT:-$build/slims-story}
rm -rf "$STORY_OUT"
mkdir -p "$STORY_OUT"

PASSED=0 FAILED=0
story_cleanup() {
	[ "${STORY_OK:-}" = 1 ] || FAILED=$((FAILED + 1))
	[ -z "${SLIMS_DIR:-}" ] || [ "${STORY_OK:-}" = 1 ] || slims_logs
	slims_stop
	echo "slims-story: $PASSED passed, $FAILED failed"
}
CLEANUP_HOOK=story_cleanup
ok() {
	PASSED=$((PASSED + 1))
	echo "ok - $*"
}
# check WHAT COMMAND...: one check of ours.
check() {
	local what=$1
	shift
	"$@" || fail "$what"
	ok "$what"
}
# browser STEP ARGS...: one step in Chromium; its checks count as ours.
# Its NAME=VALUE lines are left in $WORK/browser.out.
browser() {
	local rc=0 n
	node "$LOKERBUKU_TOP/tests/slims/browser/story.mjs" "$@" >"$WORK/browser.out" 2>&1 || rc=$?
	grep -v '^[A-Z_]*=' "$WORK/browser.out" || true
	n=$(grep -c '^ok - ' "$WORK/browser.out" || true)
	PASSED=$((PASSED + n))
	[ $rc -eq 0 ] || fail "browser step '$1' (exit $rc; screenshots in $STORY_OUT)"
}
value() { sed -n "s/^$1=//p" "$WORK/browser.out" | tail -n 1; }
sql() { mariadb_sql "$1"; }
json_has() { jq -e "$1" >/dev/null <<<"$2" || { echo "  not $1 in: $2" >&2; return 1; }; }
is() { [ "$(sql "$1")" = "$2" ] || { echo "  $1: '$(sql "$1")', not '$2'" >&2; return 1; }; }
kiosk_has_hold() { ctl --json holds | jq -e --arg h "$1" '.holds[] | select(.id==$h)'; }
event_posts() { grep -cF "POST /index.php?p=api/locker/v1/kiosks/demo-01/events HTTP/1.1\" $1 " "$SLIMS_DIR/nginx/access.log" || true; }

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
slims_start "$WORK/slims"
ok "SLiMS 9.7 installed by its installer, the plugin activated in System -> Plugins, mail set to the sink"

# Members and books, as the library has them (fixtures: SQL rows).
slims_admin member-add M0001 'Siti Aminah' 2099-12-31 siti@example.org siti-rahasia
slims_admin member-add M0002 'Budi Santoso' 2099-12-31 budi@example.org budi-rahasia
b1=$(slims_admin item-add B0001 'Laskar Pelangi')
slims_admin item-add B0002 'Bumi Manusia' >/dev/null
b3=$(slims_admin item-add B0003 'Ronggeng Dukuh Paruk')

echo "# 1. the patrons, in SLiMS's OPAC"
browser pin M0001 siti-rahasia 246810
browser reserve M0001 siti-rahasia "$b1" 'Laskar Pelangi'
browser reserve M0002 budi-rahasia "$b3" 'Ronggeng Dukuh Paruk'
check "SLiMS has both reservations" is \
	"SELECT GROUP_CONCAT(CONCAT(member_id, ':', item_code) ORDER BY member_id) FROM reserve" \
	"M0001:B0001,M0002:B0003"
r1=$(sql "SELECT reserve_id FROM reserve WHERE member_id = 'M0001'")
r3=$(sql "SELECT reserve_id FROM reserve WHERE member_id = 'M0002'")

echo "# 2. staff, in SLiMS's admin"
browser setup demo-01 "$WORK/site.key" card:STAFF-01 246813
(umask 077 && value TOKEN >"$WORK/token")
check "the kiosk asks patrons for their PIN" is \
	"SELECT pin_required FROM lokerbuku_kiosk WHERE kiosk_id = 'demo-01'" 1
browser route demo-01 small "$r1"
browser route demo-01 medium "$r3"
H1=$(sql "SELECT hold_id FROM lokerbuku_hold WHERE member_id = 'M0001'")
H2=$(sql "SELECT hold_id FROM lokerbuku_hold WHERE member_id = 'M0002'")
check "two holds routed, one per member" test -n "$H1" -a -n "$H2" -a "$H1" != "$H2"
# What a kiosk gets for Siti's hold: her PIN as a salted PBKDF2 hash of
# at least 100000 rounds, never anything of her OPAC password.
pin=$(curl -sS --cacert "$SLIMS_CA" -H "Authorization: Bearer $(cat "$WORK/token")" \
	"$SLIMS_URL/kiosks/demo-01/changes" | jq -r --arg h "$H1" '.. | objects | select(.id? == $h) | .pin // empty' | head -n 1)
echo "  Siti's hold carries pin $(cut -d'$' -f1-2 <<<"$pin")\$..."
check "the PIN Siti set in the OPAC reaches kiosks as a slow salted hash" \
	awk -F'$' -v p="$pin" 'BEGIN { split(p, f, "$"); exit !(f[1] == "pbkdf2-sha256" && f[2] >= 100000 && length(f[3]) >= 32 && length(f[4]) == 64) }'

cat >>"$WORK/lokerd.conf" <<CONF
[sync]
url = $SLIMS_URL
token_file = $WORK/token
ca_file = $SLIMS_CA
status_interval_s = 10
pull_interval_s = 10
CONF

echo "# 3. the kiosk loads both holds; one upload carries both"
kiosk_start "$WORK"
wait_for "both holds on the kiosk" sh -c "'$BIN/lokerctl' --json holds | jq -e '[.holds[].id] | index(\"$H1\") and index(\"$H2\")'"
ok "lokerd pulled both holds from SLiMS"
wait_for "an empty backlog" sh -c "'$BIN/lokerctl' --json status | jq -e '.backlog==0'"
# The next upload is refused once (503, Retry-After 7 s): what the staff
# do meanwhile reaches SLiMS in the one upload after it.
posts_ok=$(event_posts 200)
echo 503 >"$SLIMS_FAULT_DIR/fault-events"
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:STAFF-01)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 246813)"
ok "the kiosk staff card and PIN added on the staff page work at the kiosk"
expect '.unlocked==[1]' "$(ctl --json sim scan B0001)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
expect '.unlocked==[7]' "$(ctl --json sim scan B0003)"
ctl sim door 7 open >/dev/null
ctl sim door 7 close >/dev/null
ctl sim cancel >/dev/null
ok "staff loaded $H1 into locker 1 and $H2 into locker 7"
wait_for "$H1 loaded in SLiMS" is "SELECT state FROM lokerbuku_hold WHERE hold_id = '$H1'" loaded
wait_for "$H2 loaded in SLiMS" is "SELECT state FROM lokerbuku_hold WHERE hold_id = '$H2'" loaded
ok "SLiMS has both holds loaded"
# SLiMS commits before it answers; nginx logs the request once answered.
upload_logged() { [ "$(event_posts 200)" -gt "$posts_ok" ]; }
wait_for "the accepted upload in nginx's log" upload_logged
sleep 1
check "both loads came in one upload (one 503, then one accepted POST)" \
	test "$(event_posts 503)" = 1 -a "$(($(event_posts 200) - posts_ok))" = 1

echo "# 4. the patrons' mail"
wait_for "two mails" sh -c "[ \$(find '$SLIMS_MAIL_DIR' -name '*.json' | wc -l) -ge 2 ]"
sleep 2
m=$(slims_mails)
echo "$m" | jq . >"$STORY_OUT/mails.json"
check "exactly one message per patron (2 in the sink)" test "$(jq length <<<"$m")" = 2
siti=$(jq -c '.[] | select(.envelope_to == ["siti@example.org"])' <<<"$m")
budi=$(jq -c '.[] | select(.envelope_to == ["budi@example.org"])' <<<"$m")
check "Siti's message goes to her address alone" \
	json_has '.to | test("siti@example.org") and (test("budi") | not)' "$siti"
check "Budi's message goes to his address alone" \
	json_has '.to | test("budi@example.org") and (test("siti") | not)' "$budi"
body_of() { jq -r '.body' <<<"$1"; }
code_of() { body_of "$1" | grep -oE '\b[0-9]{6,8}\b' | head -n 1; }
c1=$(code_of "$siti")
c2=$(code_of "$budi")
names() { body_of "$1" | grep -qE "locker $2\b" && [ -n "$3" ]; }
check "Siti's message names locker 1 and a pickup code" names "$siti" 1 "$c1"
check "Budi's message names locker 7 and a pickup code" names "$budi" 7 "$c2"
own_code_only() {
	[ "$c1" != "$c2" ] && ! body_of "$siti" | grep -q "$c2" && ! body_of "$budi" | grep -q "$c1"
}
check "the codes differ, and neither message holds the other's code" own_code_only
browser notified "$H1" "$H2"

echo "# 5. pickup: Siti by member card and her PIN, Budi by the mailed code"
r=$(ctl --json sim tap card:M0001)
check "Siti's card alone opens nothing: the kiosk asks for her PIN" \
	json_has '(.unlocked // []) == [] and (.screen.name | test("pin"))' "$r"
r=$(ctl --json sim pin 246810)
check "her OPAC-set PIN opens locker 1" json_has '.unlocked == [1]' "$r"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
ctl sim cancel >/dev/null
r=$(ctl --json sim tap "code:$c2")
check "Budi's mailed code opens locker 7" json_has '.unlocked == [7]' "$r"
ctl sim door 7 open >/dev/null
ctl sim door 7 close >/dev/null
ctl sim cancel >/dev/null
ctl sync >/dev/null
wait_for "$H1 picked up in SLiMS" is "SELECT state FROM lokerbuku_hold WHERE hold_id = '$H1'" picked_up
wait_for "$H2 picked up in SLiMS" is "SELECT state FROM lokerbuku_hold WHERE hold_id = '$H2'" picked_up
ok "SLiMS has both holds picked up"

echo "# 6. the loans in SLiMS"
check "SLiMS's loan table: B0001 to M0001, B0003 to M0002" is \
	"SELECT GROUP_CONCAT(CONCAT(member_id, ':', item_code) ORDER BY item_code) FROM loan WHERE is_lent = 1 AND is_return = 0" \
	"M0001:B0001,M0002:B0003"
check "the loans are made by the kiosk's SLiMS user (uid 1)" is \
	"SELECT GROUP_CONCAT(DISTINCT IFNULL(uid, 'NULL')) FROM loan" 1
check "each loan written to system_log as a desk loan is" is \
	"SELECT COUNT(*) FROM system_log WHERE log_location = 'circulation' AND sub_module = 'Loan' AND action = 'Add' AND id IN ('M0001', 'M0002')" 2
check "the reservations are gone" is "SELECT COUNT(*) FROM reserve" 0
browser loans M0001 siti-rahasia B0001
browser loans M0002 budi-rahasia B0003

echo "# 7. a return at the kiosk, checked in by staff"
ctl sim return >/dev/null
r=$(ctl --json sim tap card:M0001)
check "Siti's card opens a return compartment" \
	json_has '(.unlocked | length) == 1 and .unlocked[0] >= 11' "$r"
ret=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$ret" open >/dev/null
ctl sim door "$ret" close >/dev/null
ctl sim cancel >/dev/null
ctl sync >/dev/null
wait_for "the return in SLiMS" is "SELECT COUNT(*) FROM lokerbuku_event WHERE type = 'return_deposited'" 1
check "a deposited return is not checked in by itself" is \
	"SELECT is_return FROM loan WHERE item_code = 'B0001'" 0
browser checkin demo-01 B0001
check "staff's check-in returned B0001 in SLiMS" is "SELECT is_return FROM loan WHERE item_code = 'B0001'" 1
check "the check-in written to system_log" is \
	"SELECT COUNT(*) FROM system_log WHERE log_location = 'circulation' AND action = 'Return' AND id = 'M0001'" 1

echo "# the kiosk and SLiMS agree"
ctl sync >/dev/null
wait_for "an empty backlog" sh -c "'$BIN/lokerctl' --json status | jq -e '.backlog==0'"
kiosk_ids=$(ctl --json events --limit 1000 | jq -c '[.events[].uuid] | sort')
slims_ids=$(sql "SELECT event_id FROM lokerbuku_event WHERE kiosk_id = 'demo-01' ORDER BY event_id" | jq -Rcs 'split("\n") | map(select(length > 0)) | sort')
check "every kiosk event is in SLiMS exactly once ($(jq length <<<"$kiosk_ids"))" test "$kiosk_ids" = "$slims_ids"
check "lokerd stops cleanly" kiosk_stop
STORY_OK=1
