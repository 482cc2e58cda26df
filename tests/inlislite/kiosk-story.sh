#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kiosk's story against the INLISLite bridge (lib.sh: INLISLite's real
# 3.2 schema, or the 3.3 shape with INL_VERSION=3.3; nginx with TLS,
# php-fpm, MariaDB), end to end with a real lokerd on simulated hardware:
# staff route two items to the kiosk, lokerd pulls the hold, staff load
# it, the patron is told by SMS in INLISLite's Gammu outbox, the patron
# collects it with an enrolled card, and INLISLite's tables hold the loan
# exactly as its self-loan writes one, counted by INLISLite's own
# statistics (the view v_stat_koleksi_dipinjam_eksemplar and the OPAC's
# topCollectionOpac); a book comes back through the return compartment
# and staff check it in on the staff page (Pengembalian untuk diproses),
# late days as INLISLite counts them.
. "$LOKERBUKU_TOP/tests/integration/lib.sh"
. "$LOKERBUKU_TOP/tests/inlislite/lib.sh"
inl_need_tools || exit 77
story_cleanup() {
	[ -z "${INL_DIR:-}" ] || [ "${STORY_OK:-}" = 1 ] || inl_logs
	inl_stop
}
CLEANUP_HOOK=story_cleanup

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
inl_start "$WORK/inl"

# staff_sign_in USER PASSWORD: signs in to the staff pages over HTTPS (a
# fresh session); prints the POST's status and whether the page after
# it offers signing out ("303 in" when signed in).
staff_sign_in() {
	local jar=$WORK/staff-cookies csrf code
	rm -f "$jar"
	csrf=$(inl_curl -c "$jar" "${INL_BASE}staff/" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | cut -d'"' -f4)
	[ -n "$csrf" ] || { echo "no-form"; return; }
	code=$(inl_curl -b "$jar" -c "$jar" -o "$WORK/staff-reply" -w '%{http_code}' --data-urlencode action=login \
		--data-urlencode "csrf=$csrf" --data-urlencode "username=$1" --data-urlencode "password=$2" \
		"${INL_BASE}staff/")
	if inl_curl -b "$jar" "${INL_BASE}staff/" | grep -q 'name="action" value="logout"'; then
		echo "$code in"
	else
		echo "$code out"
	fi
}
echo "staff sign in to the bridge's pages with their INLISLite $INL_VERSION account"
r=$(staff_sign_in "$INL_STAFF_USER" "$INL_STAFF_PASSWORD")
[ "$r" = "303 in" ] || fail "sign-in as $INL_STAFF_USER: '$r', not '303 in': $(grep -o 'role="alert">[^<]*' "$WORK/staff-reply")"
r=$(staff_sign_in "$INL_STAFF_USER" "not-$INL_STAFF_PASSWORD")
[ "$r" = "403 out" ] || fail "a wrong password: '$r', not '403 out'"
if [ "$INL_VERSION" = 3.3 ]; then
	# A 3.3 member's online account (group anggota) is no staff account.
	inl_root_sql <<SQL
INSERT INTO users (email, username, password_hash, active)
VALUES ('m0009@example.org', 'M0009', '$(php -r 'echo password_hash(base64_encode(hash("sha384", "rahasia-9", true)), PASSWORD_DEFAULT);')', 1);
INSERT INTO auth_groups_users (group_id, user_id) VALUES (8, LAST_INSERT_ID());
SQL
	r=$(staff_sign_in M0009 rahasia-9)
	[ "$r" = "403 out" ] || fail "a member's account: '$r', not '403 out'"
fi
echo "  $INL_STAFF_USER signed in; a wrong password refused"

# One site key on both sides: the kiosk's.
cp "$WORK/site.key" "$INL_SITE_KEY"
inl_admin kiosk-add demo-01 "$WORK/token"
# Siti opens with her card alone: the library chose so (the default asks for the PIN).
inl_admin kiosk-set demo-01 7 0 0
cat >>"$WORK/lokerd.conf" <<CONF
[sync]
url = $INL_URL
token_file = $WORK/token
ca_file = $INL_CA
status_interval_s = 10
pull_interval_s = 10
CONF

SITI=$(inl_member_add M0001 'Siti Aminah' 2099-12-31 2 3 081234567890)
I1=$(inl_item_add B0001 'Laskar Pelangi' 'Andrea Hirata')
I2=$(inl_item_add B0002 'Bumi Manusia' 'Pramoedya Ananta Toer')
H1=$(inl_admin route demo-01 small M0001 B0001 B0002)
inl_admin enrol M0001 04A1B2C3D4E5F6
inl_admin staff-add card:STAFF-01 246813
kiosk_start "$WORK"

WAIT_FOR_S=30
sql() { mariadb_sql "$1"; }
kiosk_has_hold() { ctl --json holds | jq -e --arg h "$1" '.holds[] | select(.id==$h)'; }
hold_state() { [ "$(sql "SELECT state FROM lokerbuku_hold WHERE hold_id = '$1'")" = "$2" ]; }
has_sms() { [ "$(sql 'SELECT COUNT(*) FROM outbox')" -ge 1 ]; }
return_waits() {
	[ "$(sql "SELECT COUNT(*) FROM lokerbuku_event WHERE type = 'return_deposited' AND attention = 1")" = 1 ]
}

echo "items routed in the bridge reach the kiosk as a hold"
wait_for "hold $H1 on the kiosk" kiosk_has_hold "$H1"
expect ".holds[] | select(.id==\"$H1\") | .state==\"pending\" and (.items | length)==2" "$(ctl --json holds)"

echo "staff load it with their card and PIN"
expect '.screen.name=="staff_pin"' "$(ctl --json sim tap card:STAFF-01)"
expect '.screen.name=="staff_menu"' "$(ctl --json sim pin 246813)"
expect '.unlocked==[1]' "$(ctl --json sim scan B0002)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
ctl sim cancel >/dev/null
ctl sync >/dev/null
wait_for "$H1 loaded in the bridge" hold_state "$H1" loaded

echo "Siti is told by SMS through INLISLite's Gammu outbox"
wait_for "an SMS in outbox" has_sms
sms=$(sql "SELECT CONCAT(DestinationNumber, ' ', TextDecoded) FROM outbox")
[[ ${sms,,} == *"loker 1"* || ${sms,,} == *"locker 1"* ]] || fail "no SMS naming locker 1 in outbox: '$sms'"
echo "  outbox: $sms"

echo "Siti taps her enrolled card: she takes both books (the bridge speaks v1.1: the screen asks which), locker 1 opens"
expect '.screen.name=="choose_books"' "$(ctl --json sim tap uid:04A1B2C3D4E5F6)"
expect '.unlocked==[1]' "$(ctl --json sim pickup)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
ctl sim cancel >/dev/null
ctl sync >/dev/null
wait_for "$H1 picked up in the bridge" hold_state "$H1" picked_up

echo "INLISLite has the loan as its self-loan writes one"
today=$(TZ=Asia/Jakarta date +%F)
echo "  collectionloans:"
sql "SELECT ID, CollectionCount, LoanCount, ReturnCount, Member_id, LocationLibrary_id, CreateBy, CreateTerminal
	FROM collectionloans" | sed 's/^/    /'
echo "  collectionloanitems:"
sql "SELECT CollectionLoan_id, Collection_id, member_id, LoanStatus, LoanDate, DueDate, ActualReturn, LateDays
	FROM collectionloanitems ORDER BY Collection_id" | sed 's/^/    /'
loan=$(sql "SELECT CONCAT_WS(',', ID, CollectionCount, LoanCount, ReturnCount, Member_id, LocationLibrary_id, CreateBy)
	FROM collectionloans")
[ "$loan" = "$(TZ=Asia/Jakarta date +%y%m%d)00001,2,2,0,$SITI,1,$INL_STAFF_ID" ] || fail "collectionloans: '$loan'"
items=$(sql "SELECT GROUP_CONCAT(CONCAT_WS(':', Collection_id, member_id, LoanStatus, DATE(LoanDate),
	IFNULL(ActualReturn, '-'), IFNULL(LateDays, '-'), CreateBy) ORDER BY Collection_id) FROM collectionloanitems")
[ "$items" = "$I1:$SITI:Loan:$today:-:-:$INL_STAFF_ID,$I2:$SITI:Loan:$today:-:-:$INL_STAFF_ID" ] ||
	fail "collectionloanitems: '$items'"
if [ "$INL_VERSION" = 3.3 ]; then
	# 3.3: the loan's time plus the member type's 7 days.
	due=$(sql "SELECT DISTINCT TIMESTAMPDIFF(SECOND, LoanDate, DueDate) FROM collectionloanitems")
	[ "$due" = $((7 * 86400)) ] || fail "3.3 due date: $due s after the loan, not 7 days"
else
	# 3.x: 7 working days on (Saturday and Sunday are holidays in its settings).
	want=$today n=0
	while [ $n -lt 7 ]; do
		want=$(date -d "$want + 1 day" +%F)
		case $(date -d "$want" +%u) in 6 | 7) ;; *) n=$((n + 1)) ;; esac
	done
	due=$(sql "SELECT DISTINCT DueDate FROM collectionloanitems")
	[ "$due" = "$want 00:00:00" ] || fail "3.x due date: '$due', not $want"
fi
[ "$(sql "SELECT GROUP_CONCAT(Status_id) FROM collections")" = "5,5" ] || fail "items not Dipinjam (5)"

echo "INLISLite's own statistics count the loan"
# The view counts loans of the last 12 months up to one month ago: asked
# as next month will ask it (the session's clock 40 days on).
stat=$(sql "SET timestamp = UNIX_TIMESTAMP(NOW() + INTERVAL 40 DAY);
	SELECT jumlah_eksemplar FROM v_stat_koleksi_dipinjam_eksemplar
	WHERE tahun = YEAR('$today') AND bulan = MONTH('$today')")
[ "$stat" = 2 ] || fail "v_stat_koleksi_dipinjam_eksemplar: '$stat', not 2"
echo "  v_stat_koleksi_dipinjam_eksemplar: $stat for $(date -d "$today" +%Y-%m)"
top=$(sql "CALL topCollectionOpac()" | cut -f1,2 | sort | tr '\t\n' ':,')
[ "$top" = "1:Bumi Manusia,1:Laskar Pelangi," ] || fail "topCollectionOpac: '$top'"
echo "  topCollectionOpac: $top"

echo "a book in the return compartment, checked in by staff on their page: late days as INLISLite counts them"
# The loan made two weeks ago: due 14 days before today.
sql "UPDATE collectionloanitems SET DueDate = DATE('$today') - INTERVAL 14 DAY WHERE Collection_id = $I1"
ctl sim return >/dev/null
r=$(ctl --json sim tap uid:04A1B2C3D4E5F6)
expect '(.unlocked | length) == 1 and .unlocked[0] >= 11' "$r"
ret=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$ret" open >/dev/null
ctl sim door "$ret" close >/dev/null
ctl sim cancel >/dev/null
ctl sync >/dev/null
wait_for "the return in the bridge, for staff" return_waits
ev=$(sql "SELECT event_id FROM lokerbuku_event WHERE type = 'return_deposited' AND attention = 1")
r=$(staff_sign_in "$INL_STAFF_USER" "$INL_STAFF_PASSWORD")
[ "$r" = "303 in" ] || fail "sign-in for the check-in: '$r'"
page=$(inl_curl -b "$WORK/staff-cookies" "${INL_BASE}staff/")
# The patron scanned no barcode at the kiosk: staff type what they found.
grep -q "<tr data-key=\"$ev\"><td>[^<]*</td><td>demo-01</td><td>$ret</td><td>-</td>" <<<"$page" ||
	fail "return $ev (locker $ret) not under Pengembalian untuk diproses"
csrf=$(grep -o 'name="csrf" value="[0-9a-f]*"' <<<"$page" | head -1 | cut -d'"' -f4)
reply=$(inl_curl -b "$WORK/staff-cookies" --data-urlencode action=checkin --data-urlencode "csrf=$csrf" \
	--data-urlencode "event=$ev" --data-urlencode items=B0001 "${INL_BASE}staff/")
note=$(grep -o '<p class="note note-info" role="status">[^<]*' <<<"$reply" | cut -d'>' -f2)
echo "  staff page: $note"
# 3.x: 14 days less the 4 weekend days in them; 3.3: calendar days.
late=$([ "$INL_VERSION" = 3.3 ] && echo 14 || echo 10)
[ "$note" = "B0001: dikembalikan oleh M0001, terlambat $late hari: denda atau skorsing diputuskan petugas" ] ||
	fail "the staff page's check-in said '$note'"
ret=$(sql "SELECT CONCAT_WS(':', LoanStatus, DATE(ActualReturn), LateDays, UpdateBy) FROM collectionloanitems
	WHERE Collection_id = $I1")
[ "$ret" = "Return:$today:$late:$INL_STAFF_ID" ] || fail "the return: '$ret', not Return:$today:$late:$INL_STAFF_ID"
[ "$(sql "SELECT attention FROM lokerbuku_event WHERE event_id = '$ev'")" = 2 ] || fail "the return still waits"
[ "$(sql "SELECT ReturnCount FROM collectionloans")" = 1 ] || fail "ReturnCount not 1"
[ "$(sql "SELECT Status_id FROM collections WHERE ID = $I1")" = 1 ] || fail "B0001 not Tersedia (1) again"
sql "SELECT CollectionLoan_id, Collection_id, LoanStatus, DueDate, ActualReturn, LateDays
	FROM collectionloanitems WHERE Collection_id = $I1" | sed 's/^/    /'

echo "every kiosk event is in the bridge exactly once"
ctl sync >/dev/null
sleep 1
kiosk_ids=$(ctl --json events --limit 1000 | jq -c '[.events[].uuid] | sort')
bridge_ids=$(sql "SELECT event_id FROM lokerbuku_event WHERE kiosk_id = 'demo-01' ORDER BY event_id" | jq -Rcs 'split("\n") | map(select(length > 0)) | sort')
[ "$kiosk_ids" = "$bridge_ids" ] || fail "kiosk and bridge disagree: $kiosk_ids vs $bridge_ids"
echo "  $(jq length <<<"$kiosk_ids") events, the same on both sides"

kiosk_stop
STORY_OK=1
echo "PASS (INLISLite $INL_VERSION)"
