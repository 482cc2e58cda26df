#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The SLiMS plugin's defects of issue 17, each checked inside a real SLiMS
# 9.7 installed fresh by tests/slims/lib.sh (its installer, php-fpm behind
# nginx with TLS, MariaDB, an SMTP sink): as a kiosk (curl with its token
# over HTTPS), as staff and members (SLiMS's own logins, the plugin's pages)
# and by reading SLiMS's tables. Every check runs; the last line says
# "N passed, M failed".
#
#   1  the staff page reaches the superuser and a circulation user
#   2  one message per patron: two holds loaded in one upload
#   3  mail not configured: the hold lands, JSON answers, staff see it and
#      resend; unsent messages are retried; codes stay sealed until sent
#   4/9 a kiosk PIN of its own, set in the OPAC, sent as a slow salted hash
#   5  a bad site key path is refused on the page; API failures are JSON
#   6  every staff form is submitted within SLiMS's admin shell
#   7  kiosk loans and returns carry the kiosk's SLiMS user and system_log
#   8  the server decides: hold items only, returns a staff task, opt-in
#      automatic check-in of loans only, one kiosk's token for its holds
#  19.12 (issue 19, point 12) staff cards scoped per kiosk on the staff
#      page, hashed at 600 000 iterations, sent only to v1.1 kiosks; old
#      hashes made costlier there without their PINs
set -uo pipefail
LOKERBUKU_TOP=${LOKERBUKU_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export LOKERBUKU_TOP
. "$LOKERBUKU_TOP/tests/slims/lib.sh"
slims_need_tools || exit 77

WORK=$(mktemp -d /tmp/lokerbuku-slims-defects.XXXXXX)
PASS=0 FAIL=0
cleanup() {
	local rc=$?
	[ "$FAIL" = 0 ] && [ $rc = 0 ] || slims_logs
	slims_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

ok() {
	PASS=$((PASS + 1))
	echo "ok - $*"
}
bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL - $*"
}
not() { ! "$@"; }
# check WHAT COMMAND...: ok when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

slims_start "$WORK/slims" || exit 1
KEYHEX=$(tr -d ' \n' <"$SLIMS_SITE_KEY")
PLUGIN_ID=$(php -r 'echo md5(realpath($argv[1]));' "$SLIMS_ROOT/plugins/lokerbuku/admin/index.php")
STAFF_URL="${SLIMS_BASE}admin/plugin_container.php?mod=circulation&id=$PLUGIN_ID"
TODAY=$(date +%F)

# ---- helpers ----

uuid() { cat /proc/sys/kernel/random/uuid; }
now() { date -u +%Y-%m-%dT%H:%M:%S.000Z; }

# kapi TOKEN METHOD PATH [BODY]: the kiosk's request; prints the status,
# the body in $WORK/body, the Content-Type in $WORK/ctype.
kapi() {
	local token=$1 method=$2 path=$3 body=${4:-}
	local args=(-sS --max-time 60 --cacert "$SLIMS_CA" -X "$method" -H "Authorization: Bearer $token"
		-o "$WORK/body" -w '%{http_code} %{content_type}' "$SLIMS_URL$path")
	# KAPI_SYNC=1.1: as a kiosk of sync v1.1 asks.
	[ -z "${KAPI_SYNC:-}" ] || args+=(-H "Lokerbuku-Sync: $KAPI_SYNC")
	[ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
	local out
	out=$(curl "${args[@]}") || out="000 none"
	echo "${out#* }" >"$WORK/ctype"
	echo "${out%% *}"
}
# event TYPE PAYLOAD-JSON: one event object.
SEQ=0
event() {
	SEQ=$((SEQ + 1))
	jq -nc --arg id "$(uuid)" --argjson seq "$SEQ" --arg type "$1" --arg at "$(now)" \
		--argjson p "$2" '{id: $id, seq: $seq, type: $type, at: $at, payload: $p}'
}
# upload TOKEN KIOSK EVENT...: POST .../events; prints the status.
upload() {
	local token=$1 kiosk=$2
	shift 2
	kapi "$token" POST "/kiosks/$kiosk/events" "$(jq -sc '{events: .}' <<<"$(printf '%s\n' "$@")")"
}

# login JAR USER PASSWORD: SLiMS's staff login, its session in JAR.
login() {
	local jar=$1 page name value
	rm -f "$jar"
	page=$(curl -sS --cacert "$SLIMS_CA" -b "$jar" -c "$jar" "${SLIMS_BASE}index.php?p=login") || return 1
	name=$(grep -o 'name="_csrf_token_[0-9a-f]*"' <<<"$page" | head -n1 | cut -d'"' -f2)
	value=$(grep -o "name=\"$name\"[^>]*value=\"[^\"]*\"" <<<"$page" | head -n1 | sed 's/.*value="//; s/"$//')
	curl -sS -o /dev/null --cacert "$SLIMS_CA" -b "$jar" -c "$jar" --data-urlencode "userName=$2" \
		--data-urlencode "passWord=$3" --data-urlencode "$name=$value" --data-urlencode logMeIn=Login \
		"${SLIMS_BASE}index.php?p=login"
}
# staff JAR [CURL-ARGS...]: the Book Lockers page (GET, or POST with
# --data...); the HTML in $WORK/page.
staff() {
	local jar=$1
	shift
	curl -sS --max-time 60 --cacert "$SLIMS_CA" -b "$jar" -c "$jar" -H 'X-Requested-With: XMLHttpRequest' \
		-o "$WORK/page" "$@" "$STAFF_URL"
}
# act JAR ACTION [FIELD=VALUE...]: submits one of the page's forms as
# SLiMS's admin JavaScript does (the fields serialized, by AJAX).
act() {
	local jar=$1 action=$2 csrf
	shift 2
	staff "$jar" || return 1
	csrf=$(grep -o 'name="lokerbuku_csrf" value="[0-9a-f]*"' "$WORK/page" | head -n1 | sed 's/.*value="//; s/"$//')
	local args=(--data-urlencode "lokerbuku_csrf=$csrf" --data-urlencode "action=$action")
	local f
	for f in "$@"; do args+=(--data-urlencode "$f"); done
	staff "$jar" "${args[@]}"
}
page_has() { grep -qF -- "$1" "$WORK/page"; }
sql1() { mariadb_sql "$1" | head -n1; }

# member ID NAME EMAIL [OPAC-PASSWORD]; item CODE TITLE; reserve MEMBER ITEM
member() {
	local pw=NULL
	[ -z "${4:-}" ] || pw="'$(php -r 'echo password_hash($argv[1], PASSWORD_BCRYPT);' "$4")'"
	mariadb_sql "INSERT INTO member (member_id, member_name, gender, member_type_id, member_email, expire_date,
		member_since_date, register_date, is_pending, mpasswd, input_date, last_update)
		VALUES ('$1', '$2', 1, 1, '$3', '2099-12-31', CURDATE(), CURDATE(), 0, $pw, CURDATE(), CURDATE())"
}
item() {
	mariadb_sql "INSERT INTO biblio (title, gmd_id, input_date, last_update) VALUES ('$2', 1, NOW(), NOW());
		INSERT INTO item (biblio_id, item_code, coll_type_id, location_id, item_status_id, input_date, last_update)
		VALUES (LAST_INSERT_ID(), '$1', 3, 'SL', '0', NOW(), NOW())"
}
reserve() {
	mariadb_sql "INSERT INTO reserve (member_id, biblio_id, item_code, reserve_date)
		SELECT '$1', biblio_id, item_code, NOW() FROM item WHERE item_code = '$2'; SELECT LAST_INSERT_ID()"
}
# route JAR MEMBER ITEM...: the member's reservations of ITEMs sent to k-01
# on the staff page; prints the hold id.
route() {
	local jar=$1 m=$2 r args=()
	shift 2
	for r in "$@"; do args+=("reserve[]=$(reserve "$m" "$r")"); done
	act "$jar" route "${args[@]}" kiosk=k-01 size=small >/dev/null
	sql1 "SELECT hold_id FROM lokerbuku_hold WHERE member_id = '$m' ORDER BY created_at DESC, hold_id DESC LIMIT 1"
}
# hmac TEXT: HMAC-SHA256 with the site key, as the plugin computes it.
hmac() { printf %s "$1" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEYHEX" -r | cut -d' ' -f1; }
# pin_ok HASH PIN: whether a pbkdf2-sha256 hash is of PIN (as lokerd checks).
pin_ok() {
	python3 -c 'import hashlib,hmac,sys
a, it, salt, h = sys.argv[1].split("$")
sys.exit(0 if a == "pbkdf2-sha256" and hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", sys.argv[2].encode(), bytes.fromhex(salt), int(it), 32).hex(), h) else 1)' "$1" "$2"
}
# mails: the captured messages; mail_to FILE: its recipients, one a line.
mails() { find "$SLIMS_MAIL_DIR" -type f -name "*.json" | sort -V; }
mail_to() { jq -r '.to[]' "$1"; }
# mail_codes FILE: the 6-digit numbers in a message's body.
mail_codes() { jq -r .data "$1" | grep -oE '\b[0-9]{6}\b' | sort -u; }

ADMIN_JAR=$WORK/admin.jar
login "$ADMIN_JAR" "$SLIMS_ADMIN_USER" "$SLIMS_ADMIN_PASSWORD"

# Staff: a circulation user (not a superuser) and a cataloguer without
# circulation rights, in groups as System -> User Group makes them.
mariadb_sql "INSERT INTO user_group (group_id, group_name, input_date, last_update)
	VALUES (2, 'Sirkulasi', CURDATE(), CURDATE()), (3, 'Katalog', CURDATE(), CURDATE());
	INSERT INTO group_access (group_id, module_id, menus, r, w) VALUES (2, 2, NULL, 1, 1), (3, 1, NULL, 1, 1);
	INSERT INTO user (user_id, username, realname, passwd, groups, input_date, last_update) VALUES
	(2, 'petugas', 'Petugas Sirkulasi', '$(php -r 'echo password_hash("sirkulasi-1", PASSWORD_BCRYPT);')',
	 'a:1:{i:0;s:1:\"2\";}', CURDATE(), CURDATE()),
	(3, 'katalog', 'Petugas Katalog', '$(php -r 'echo password_hash("katalog-1", PASSWORD_BCRYPT);')',
	 'a:1:{i:0;s:1:\"3\";}', CURDATE(), CURDATE()),
	(4, 'kios', 'Loker Buku Kota', '$(php -r 'echo password_hash(bin2hex(random_bytes(8)), PASSWORD_BCRYPT);')',
	 'a:1:{i:0;s:1:\"2\";}', CURDATE(), CURDATE())"
CIRC_JAR=$WORK/circ.jar
CAT_JAR=$WORK/cat.jar
login "$CIRC_JAR" petugas sirkulasi-1
login "$CAT_JAR" katalog katalog-1

# ---- 1: the staff page reaches who it should ----
staff "$ADMIN_JAR"
check "1: the superuser reaches Circulation -> Book Lockers" page_has '<div class="lokerbuku">'
staff "$CIRC_JAR"
check "1: a circulation user (no superuser) reaches Book Lockers" page_has '<div class="lokerbuku">'
staff "$CAT_JAR"
check "1: a user without circulation rights does not" \
	bash -c "! grep -q 'class=\"lokerbuku\"' '$WORK/page' && grep -q 'not authorized' '$WORK/page'"

# Kiosks made on the staff page: k-01 acts as SLiMS user 4 ("Loker Buku Kota").
act "$CIRC_JAR" add_kiosk kiosk=k-01 "name=Perpustakaan Kota" user_id=4
T1=$(grep -o '<code class="lokerbuku-token">[0-9a-f]*' "$WORK/page" | sed 's/.*>//')
act "$ADMIN_JAR" add_kiosk kiosk=k-02 name=Cabang user_id=1
T2=$(grep -o '<code class="lokerbuku-token">[0-9a-f]*' "$WORK/page" | sed 's/.*>//')
check "kiosks added on the staff page, a token shown for each" test ${#T1} = 64 -a ${#T2} = 64

# ---- 6: forms stay inside SLiMS's admin shell ----
staff "$ADMIN_JAR"
forms=$(grep -o '<form ' "$WORK/page" | wc -l)
ajax=$(grep -o '<form [^>]*class="[^"]*submitViaAJAX[^"]*"' "$WORK/page" | wc -l)
check "6: all $forms staff forms are submitted by SLiMS's admin AJAX ($ajax)" test "$forms" -gt 5 -a "$forms" = "$ajax"
check "6: a submitted form answers a fragment for SLiMS's content area, not a page" \
	bash -c "! grep -qi '<html' '$WORK/page'"

# ---- 2: one message per patron ----
member M001 'Siti Aminah' siti@example.org
member M002 'Budi Santoso' budi@example.org
item B001 'Bumi Manusia'
item B002 'Laskar Pelangi'
H1=$(route "$CIRC_JAR" M001 B001)
H2=$(route "$CIRC_JAR" M002 B002)
st=$(upload "$T1" k-01 "$(event hold_loaded "{\"hold_id\":\"$H1\",\"locker\":1}")" \
	"$(event hold_loaded "{\"hold_id\":\"$H2\",\"locker\":2}")")
check "2: an upload with two hold_loaded is answered 200 JSON" test "$st" = 200
mapfile -t M < <(mails)
check "2: two messages for two patrons (got ${#M[@]})" test "${#M[@]}" = 2
for f in "${M[@]}"; do
	to=$(mail_to "$f" | tr '\n' ' ')
	case $to in
	'siti@example.org ') own=$H1 other=$H2 ;;
	'budi@example.org ') own=$H2 other=$H1 ;;
	*) own='' other='' ;;
	esac
	check "2: a message goes to one patron alone (to: $to)" test -n "$own"
	[ -n "$own" ] || continue
	mine=no theirs=no
	for c in $(mail_codes "$f"); do
		h=$(hmac "code:$c")
		[ "$h" != "$(sql1 "SELECT code_hmac FROM lokerbuku_hold WHERE hold_id = '$own'")" ] || mine=yes
		[ "$h" != "$(sql1 "SELECT code_hmac FROM lokerbuku_hold WHERE hold_id = '$other'")" ] || theirs=yes
	done
	check "2: $to gets their own pickup code and not the other's" test $mine = yes -a $theirs = no
done
check "2: both holds marked notified, their clear codes forgotten" \
	test "$(sql1 "SELECT COUNT(*) FROM lokerbuku_hold WHERE notify_state = 'sent' AND code_sealed IS NULL")" = 2

# ---- 3: mail not configured ----
mv "$SLIMS_ROOT/config/mail.php" "$WORK/mail.php"
member M003 'Dewi Lestari' dewi@example.org
item B003 'Supernova'
H3=$(route "$CIRC_JAR" M003 B003)
n0=$(mails | wc -l)
st=$(upload "$T1" k-01 "$(event hold_loaded "{\"hold_id\":\"$H3\",\"locker\":3}")")
check "3: mail not configured: hold_loaded still answered 200 (got $st $(cat "$WORK/ctype"))" test "$st" = 200
check "3: ... as JSON, the event accepted" jq -e '.results[0].status == "accepted"' "$WORK/body"
check "3: the hold is loaded" test "$(sql1 "SELECT state FROM lokerbuku_hold WHERE hold_id = '$H3'")" = loaded
check "3: its pickup code stays sealed, not in clear" \
	test "$(sql1 "SELECT notify_state, code_sealed IS NOT NULL FROM lokerbuku_hold WHERE hold_id = '$H3'")" = "failed	1"
staff "$CIRC_JAR"
row=$(tr '\n' ' ' <"$WORK/page" | grep -o "<tr data-hold=\"$H3\">.*" | sed 's|</tr>.*||')
check "3: the staff page says the patron was not notified" grep -q 'lokerbuku-not-notified' <<<"$row"
check "3: ... with a resend action" grep -q 'name="action" value="resend"' <<<"$row"
st=$(upload "$T1" k-01 "$(event hold_loaded "{\"hold_id\":\"$H3\",\"locker\":3}")")
mv "$WORK/mail.php" "$SLIMS_ROOT/config/mail.php"
act "$CIRC_JAR" resend "hold=$H3"
check "3: Resend, mail configured again: the message goes" test "$(mails | wc -l)" = $((n0 + 1))
check "3: ... and the hold shows it sent, the clear code gone" \
	test "$(sql1 "SELECT notify_state, code_sealed IS NULL FROM lokerbuku_hold WHERE hold_id = '$H3'")" = "sent	1"
# Retried without staff: a message that failed is sent at a later API request.
mv "$SLIMS_ROOT/config/mail.php" "$WORK/mail.php"
member M004 'Eka Kurniawan' eka@example.org
item B004 'Cantik Itu Luka'
H4=$(route "$CIRC_JAR" M004 B004)
upload "$T1" k-01 "$(event hold_loaded "{\"hold_id\":\"$H4\",\"locker\":4}")" >/dev/null
tries=$(sql1 "SELECT notify_tries FROM lokerbuku_hold WHERE hold_id = '$H4'")
mv "$WORK/mail.php" "$SLIMS_ROOT/config/mail.php"
n1=$(mails | wc -l)
# Its next try is due (the back-off over): the next request of a kiosk.
mariadb_sql "UPDATE lokerbuku_hold SET notify_next_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE hold_id = '$H4'"
st=$(kapi "$T1" POST /kiosks/k-01/status '{"backlog":0}')
for i in $(seq 50); do [ "$(mails | wc -l)" -gt "$n1" ] && break; sleep 0.1; done
check "3: a failed message ($tries try) is sent again at a later kiosk request, unasked" \
	test "$(mails | wc -l)" = $((n1 + 1)) -a "$(sql1 "SELECT notify_state FROM lokerbuku_hold WHERE hold_id = '$H4'")" = sent
check "3: ... to that patron alone" test "$(mail_to "$(mails | tail -n1)")" = eka@example.org
# ... or at a staff page view.
mv "$SLIMS_ROOT/config/mail.php" "$WORK/mail.php"
member M007 'Hana Pertiwi' hana@example.org
item B008 'Aroma Karsa'
H7=$(route "$CIRC_JAR" M007 B008)
upload "$T1" k-01 "$(event hold_loaded "{\"hold_id\":\"$H7\",\"locker\":6}")" >/dev/null
mv "$WORK/mail.php" "$SLIMS_ROOT/config/mail.php"
mariadb_sql "UPDATE lokerbuku_hold SET notify_next_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE hold_id = '$H7'"
n2=$(mails | wc -l)
staff "$CIRC_JAR"
check "3: ... or when staff next open Book Lockers, to that patron alone" \
	test "$(mails | wc -l)" = $((n2 + 1)) -a "$(mail_to "$(mails | tail -n1)")" = hana@example.org

# ---- 4/9: the kiosk PIN is its own secret ----
member M005 'Fajar Nugroho' fajar@example.org 24681357
item B005 'Ronggeng Dukuh Paruk'
H5=$(route "$CIRC_JAR" M005 B005)
MJAR=$WORK/member.jar
# SLiMS's member login (index.php?p=member), its CSRF field as the form has it.
page=$(curl -sS --cacert "$SLIMS_CA" -b "$MJAR" -c "$MJAR" "${SLIMS_BASE}index.php?p=member")
name=$(grep -o 'name="_csrf_token_[0-9a-f]*"' <<<"$page" | head -n1 | cut -d'"' -f2)
value=$(grep -o "name=\"$name\"[^>]*value=\"[^\"]*\"" <<<"$page" | head -n1 | sed 's/.*value="//; s/"$//')
curl -sS -o /dev/null --cacert "$SLIMS_CA" -b "$MJAR" -c "$MJAR" --data-urlencode memberID=M005 \
	--data-urlencode memberPassWord=24681357 --data-urlencode "$name=$value" --data-urlencode logMeIn=1 \
	"${SLIMS_BASE}index.php?p=member"
kapi "$T1" GET /kiosks/k-01/changes >/dev/null
check "4: the OPAC password gives no kiosk PIN" \
	test "$(jq -r --arg h "$H5" '.holds[] | select(.id == $h) | .pin' "$WORK/body")" = null
page=$(curl -sS --cacert "$SLIMS_CA" -b "$MJAR" -c "$MJAR" "${SLIMS_BASE}index.php?p=kiosk_pin")
csrf=$(grep -o 'name="lokerbuku_csrf" value="[0-9a-f]*"' <<<"$page" | head -n1 | sed 's/.*value="//; s/"$//')
check "4: the member area has a kiosk PIN page for a logged-in member" test -n "$csrf"
page=$(curl -sS --cacert "$SLIMS_CA" -b "$MJAR" -c "$MJAR" --data-urlencode pin=975310 --data-urlencode pin2=975310 \
	--data-urlencode "lokerbuku_csrf=$csrf" "${SLIMS_BASE}index.php?p=kiosk_pin")
check "4: the member sets a PIN there" grep -q 'alert-success' <<<"$page"
page=$(curl -sS --cacert "$SLIMS_CA" "${SLIMS_BASE}index.php?p=kiosk_pin")
check "4: the page asks who is not logged in to log in" \
	bash -c "grep -q 'p=member' <<<\"\$1\" && ! grep -q 'name=\"pin\"' <<<\"\$1\"" _ "$page"
kapi "$T1" GET /kiosks/k-01/changes >/dev/null
PIN=$(jq -r --arg h "$H5" '.holds[] | select(.id == $h) | .pin' "$WORK/body")
check "9: the kiosk gets a slow salted hash: pbkdf2-sha256, 200000 iterations, 16-byte salt" \
	grep -qE '^pbkdf2-sha256\$200000\$[0-9a-f]{32}\$[0-9a-f]{64}$' <<<"$PIN"
check "4: the hash is of the PIN the member set" pin_ok "$PIN" 975310
check "9: ... and not of the OPAC password" not pin_ok "$PIN" 24681357
act "$CIRC_JAR" member_pin member=M005 pin=1234 >/dev/null
check "4: staff cannot set a 4-digit PIN (6 to 8)" page_has 'alert-warning'
act "$CIRC_JAR" member_pin member=M005 pin=86420975 >/dev/null
kapi "$T1" GET /kiosks/k-01/changes >/dev/null
PIN=$(jq -r --arg h "$H5" '.holds[] | select(.id == $h) | .pin' "$WORK/body")
check "4: staff set a member's PIN on the staff page; kiosks get its hash" pin_ok "$PIN" 86420975

# ---- 5: the site key path is checked before it is saved ----
before=$(sql1 "SELECT value FROM lokerbuku_setting WHERE name = 'site_key_file'")
act "$ADMIN_JAR" site_key_file path=/nonexistent/site.key
check "5: a missing site key file is refused on the page" page_has 'alert-warning'
printf 'not a key\n' >"$WORK/bad.key"
act "$ADMIN_JAR" site_key_file "path=$WORK/bad.key"
check "5: a file that holds no key is refused on the page" page_has 'alert-warning'
check "5: ... and neither was saved" \
	test "$(sql1 "SELECT value FROM lokerbuku_setting WHERE name = 'site_key_file'")" = "$before"
st=$(kapi "$T1" GET /kiosks/k-01/changes)
check "5: the API still answers (got $st)" test "$st" = 200
# A key file gone after it was set (disk, permissions): the API's JSON error.
mv "$SLIMS_SITE_KEY" "$SLIMS_SITE_KEY.away"
st=$(kapi "$T1" GET /kiosks/k-01/changes)
check "5: the key file gone: a JSON error (got $st $(cat "$WORK/ctype"))" \
	bash -c "[ $st -ge 500 ] && grep -q application/json '$WORK/ctype' && jq -e .error.code '$WORK/body' >/dev/null"
check "5: ... that shows no server path" bash -c "! grep -q '/' '$WORK/body'"
check "5: ... and one line in SLiMS's system log for staff" \
	test "$(sql1 "SELECT COUNT(*) FROM system_log WHERE log_location = 'lokerbuku' AND log_msg LIKE '%site key%'")" -ge 1
mv "$SLIMS_SITE_KEY.away" "$SLIMS_SITE_KEY"
st=$(kapi "$T1" POST /kiosks/k-01/events '{"events": [')
check "the API's errors are JSON: a broken body gets 400 JSON (got $st)" \
	bash -c "[ $st = 400 ] && jq -e .error.code '$WORK/body' >/dev/null"

# ---- 7 and 8: pickups ----
# Another member's desk loan, by the admin at the circulation desk.
member M006 'Gita Savitri' gita@example.org
item B006 'Negeri 5 Menara'
item B007 'Pulang'
mariadb_sql "INSERT INTO loan (item_code, member_id, loan_date, due_date, renewed, loan_rules_id, is_lent,
	is_return, input_date, last_update, uid) VALUES ('B006', 'M006', CURDATE(), CURDATE() + INTERVAL 7 DAY,
	0, 0, 1, 0, NOW(), NOW(), 1)"
log0=$(sql1 "SELECT COUNT(*) FROM system_log WHERE log_location = 'circulation'")
st=$(upload "$T1" k-01 "$(event hold_picked_up "{\"hold_id\":\"$H1\",\"locker\":1,
	\"items\":[{\"barcode\":\"B001\"},{\"barcode\":\"B007\"},{\"barcode\":\"B006\"}]}")")
check "8: a pickup naming items beyond its hold is answered (got $st)" test "$st" = 200
check "8: the hold's own item is lent" \
	test "$(sql1 "SELECT COUNT(*) FROM loan WHERE item_code = 'B001' AND member_id = 'M001' AND is_return = 0")" = 1
check "8: an item in no hold is not lent" test "$(sql1 "SELECT COUNT(*) FROM loan WHERE item_code = 'B007'")" = 0
check "8: another member's loan is untouched" \
	test "$(sql1 "SELECT member_id, is_return FROM loan WHERE item_code = 'B006'")" = "M006	0"
check "7: the kiosk's loan is made by the kiosk's SLiMS user (loan.uid = 4)" \
	test "$(sql1 "SELECT uid FROM loan WHERE item_code = 'B001' AND member_id = 'M001'")" = 4
check "7: ... and written to system_log as a desk loan is" \
	test "$(sql1 "SELECT COUNT(*) FROM system_log WHERE log_type = 'member' AND id = 'M001'
		AND log_location = 'circulation' AND sub_module = 'Loan' AND action = 'Add'
		AND log_msg LIKE 'Loker Buku Kota insert new loan (B001) for member (M001)%'")" = 1
check "7: one system_log line per loan made" \
	test "$(sql1 "SELECT COUNT(*) FROM system_log WHERE log_location = 'circulation'")" = $((log0 + 1))
# The other kiosk's token reaches no further than its own holds.
st=$(upload "$T2" k-01 "$(event hold_picked_up "{\"hold_id\":\"$H2\"}")")
check "8: kiosk k-02's token cannot post for k-01 (got $st)" test "$st" = 403
st=$(upload "$T2" k-02 "$(event hold_picked_up "{\"hold_id\":\"$H2\"}")")
check "8: nor name k-01's hold as its own" jq -e '.results[0].reason == "unknown_hold"' "$WORK/body"
check "8: ... which stays unlent" test "$(sql1 "SELECT COUNT(*) FROM loan WHERE item_code = 'B002'")" = 0

# ---- 8 and 7: returns ----
st=$(upload "$T1" k-01 "$(event return_deposited '{"locker":5,"items":[{"barcode":"B006"}]}')")
RET=$(jq -r '.results[0].id' "$WORK/body")
check "8: a return naming another member's desk loan is accepted (got $st)" test "$st" = 200
check "8: ... but not checked in: a task for staff by default" \
	test "$(sql1 "SELECT is_return FROM loan WHERE item_code = 'B006'")" = 0
staff "$CIRC_JAR"
row=$(tr '\n' ' ' <"$WORK/page" | grep -o "<tr data-event=\"$RET\">.*" | sed 's|</tr>.*||')
check "8: the staff page lists it under returns to check in, with a check-in action" \
	grep -q 'name="action" value="checkin"' <<<"$row"
act "$CIRC_JAR" checkin "event=$RET" items=B006 >/dev/null
check "8: staff check it in there" test "$(sql1 "SELECT is_return FROM loan WHERE item_code = 'B006'")" = 1
check "7: ... a return in system_log, by the staff member who did it" \
	test "$(sql1 "SELECT COUNT(*) FROM system_log WHERE id = 'M006' AND sub_module = 'Loan' AND action = 'Return'
		AND log_msg LIKE 'Petugas Sirkulasi return item B006 for member (M006)%'")" = 1
# Automatic check-in: opted in per kiosk, loans only, audited.
act "$CIRC_JAR" kiosk_settings kiosk=k-01 hold_window_days=7 user_id=4 auto_checkin=1 >/dev/null
check "8: automatic check-in is off by default and set per kiosk" \
	test "$(mariadb_sql "SELECT kiosk_id, auto_checkin FROM lokerbuku_kiosk ORDER BY kiosk_id" | tr '\t\n' ':,')" = "k-01:1,k-02:0,"
st=$(upload "$T1" k-01 "$(event return_deposited '{"locker":5,"items":[{"barcode":"B001"},{"barcode":"B007"}]}')")
check "8: opted in: the scanned loan is checked in" \
	test "$(sql1 "SELECT is_return FROM loan WHERE item_code = 'B001'")" = 1
check "8: ... an item not on loan is not (no loan made or changed)" \
	test "$(sql1 "SELECT COUNT(*) FROM loan WHERE item_code = 'B007'")" = 0
check "7/8: ... audited: system_log names the kiosk's user and the kiosk" \
	test "$(sql1 "SELECT COUNT(*) FROM system_log WHERE id = 'M001' AND sub_module = 'Loan' AND action = 'Return'
		AND log_msg LIKE 'Loker Buku Kota return item B001 for member (M001) at book locker k-01%'")" = 1

# ---- 19.12: staff PINs ----
act "$CIRC_JAR" staff credential=STAFF-19 pin=246813 name=Budi 'kiosks[]=k-01' >/dev/null
S19=$(hmac card:STAFF-19)
check "19.12: a staff card added on the staff page for kiosk k-01 only" \
	test "$(mariadb_sql "SELECT kiosk_id FROM lokerbuku_staff_kiosk WHERE credential = '$S19'" | tr '\n' ,)" = k-01,
KAPI_SYNC=1.1 kapi "$T1" GET '/kiosks/k-01/changes' >/dev/null
PIN19=$(jq -r --arg c "$S19" '.staff[] | select(.credential == $c) | .pin' "$WORK/body")
check "19.12: k-01 (sync v1.1) gets it with a PIN hash of 600000 iterations of its PIN" \
	bash -c '[[ $1 == pbkdf2-sha256\$600000\$* ]]' _ "$PIN19"
check "19.12: ... that checks against the PIN" pin_ok "$PIN19" 246813
KAPI_SYNC=1.1 kapi "$T2" GET '/kiosks/k-02/changes' >/dev/null
check "19.12: k-02 (sync v1.1), another scope, never gets the card nor its PIN hash" \
	not grep -qF -e "$S19" -e "${PIN19##*\$}" "$WORK/body"
kapi "$T1" GET '/kiosks/k-01/changes' >/dev/null
check "19.12: k-01 speaking v1.0 (no Lokerbuku-Sync) is not sent a hash of 600000 iterations" \
	not grep -qF -e "$S19" -e "${PIN19##*\$}" "$WORK/body"
# A card hashed as before (10 000 iterations, the plugin's old form) made costlier on the page.
S20=$(hmac card:STAFF-20)
OLD20=$(python3 -c 'import hashlib; s = bytes(range(16)); print("pbkdf2-sha256$10000$" + s.hex() + "$" + hashlib.pbkdf2_hmac("sha256", b"135792", s, 10000, 32).hex())')
mariadb_sql "INSERT INTO lokerbuku_staff (credential, name, pin_hash, role, removed, seq) VALUES ('$S20', 'Sari', '$OLD20', 'staff', 0, 1)"
act "$ADMIN_JAR" upgrade_staff_pins >/dev/null
NEW20=$(sql1 "SELECT pin_hash FROM lokerbuku_staff WHERE credential = '$S20'")
check "19.12: 'make older staff PIN hashes costlier' turns 10000 into 10000 + 590000 iterations" \
	bash -c '[[ $1 == pbkdf2-sha256-2\$10000\$590000\$000102030405060708090a0b0c0d0e0f\$* ]]' _ "$NEW20"
check "19.12: ... which still checks against the same PIN, without the plugin knowing it" \
	python3 -c 'import hashlib,hmac,sys
a, n, more, salt, h = sys.argv[1].split("$"); s = bytes.fromhex(salt)
k = hashlib.pbkdf2_hmac("sha256", b"135792", s, int(n), 32)
sys.exit(0 if hmac.compare_digest(hashlib.pbkdf2_hmac("sha256", k, s, int(more), 32).hex(), h) else 1)' "$NEW20"
KAPI_SYNC=1.1 kapi "$T2" GET '/kiosks/k-02/changes' >/dev/null
check "19.12: a v1.1 kiosk gets the upgraded hash" \
	test "$(jq -r --arg c "$S20" '.staff[] | select(.credential == $c) | .pin' "$WORK/body")" = "$NEW20"
kapi "$T2" GET '/kiosks/k-02/changes' >/dev/null
check "19.12: a v1.0 kiosk is not sent the second form" not grep -qF -e "$S20" "$WORK/body"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
