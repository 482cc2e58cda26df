#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The bridge's staff pages in real Chromium (browser/staff.mjs), against
# the bridge installed beside INLISLite's real 3.2 schema and served over
# HTTPS (lib.sh): sign-in with an INLISLite account (a wrong password
# refused), a kiosk added, holds made from barcodes, loaded by the kiosk,
# the patrons told by SMS in INLISLite's Gammu outbox, a pickup that
# INLISLite's rules refuse shown, a pickup lent, a return deposited at the
# kiosk checked in by staff (late days), a remote command, an NFC
# card and a kiosk PIN, an OPAC booking sent to a locker, a form with a
# wrong CSRF token refused. Then
# INLISLite's and the bridge's tables are checked here. Screenshots in
# STORY_OUT (default: the build tree's inlislite-staff/).
# Skips (77) without php-fpm, nginx, MariaDB, Chromium, node or npm.
set -euo pipefail
LOKERBUKU_TOP=${LOKERBUKU_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$LOKERBUKU_TOP/tests/inlislite/lib.sh"
inl_need_tools || exit 77
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "SKIP: no Chromium at $CHROMIUM (Debian: chromium; tools/bootstrap)" >&2; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "SKIP: node or npm is missing (Debian: nodejs npm; tools/bootstrap)" >&2; exit 77; }

# playwright-core as tests/ui pins it, installed as tests/ui/run.sh does
# (into the build tree, reused while the lock file is unchanged).
build=$PWD
node_dir=$build/inlislite-node
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
export STORY_OUT=${STORY_OUT:-$build/inlislite-staff}
rm -rf "$STORY_OUT"
mkdir -p "$STORY_OUT"

WORK=$(mktemp -d /tmp/lokerbuku-inl-staff.XXXXXX)
OK=0
cleanup() {
	[ "$OK" = 1 ] || inl_logs
	inl_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

inl_start "$WORK/inl"
# config.php's notify section (README): SMS through the Gammu outbox, each
# message sent at once (no gathering time, so the page shows it sent).
php -r '$c = require $argv[1]; $c["notify"] = ["sms" => true, "gather_s" => 0];
	file_put_contents($argv[1], "<?php\nreturn " . var_export($c, true) . ";\n");' "$INL_CONFIG"

inl_member_add M-1001 'Siti Aminah' 2099-12-31 2 3 '0812-3456-7001' >/dev/null
inl_member_add M-1002 'Budi Santoso' 2099-12-31 2 3 '081234567002' >/dev/null
for b in 1 2 3 4 5; do
	inl_item_add "B-$b" "Buku uji $b" >/dev/null
done

export NODE_EXTRA_CA_CERTS=$INL_CA
export SQL="$(mariadb_bin mariadb) --no-defaults --socket=$MARIADB_SOCKET -uroot -N -B $INL_DB"
node "$LOKERBUKU_TOP/tests/inlislite/browser/staff.mjs" | tee "$WORK/story.out"
get() { sed -n "s/^$1=//p" "$WORK/story.out"; }
HOLD1=$(get HOLD_M_1001)

fail() {
	echo "not ok - $*"
	exit 1
}
check() {
	local what=$1 want=$2 got=$3
	[ "$got" = "$want" ] || fail "$what: want '$want', got '$got'"
	echo "ok - $what"
}
sql() { inl_root_sql -e "$1"; }

check "one SMS per patron in INLISLite's outbox, to their NoHp" \
	"$(printf '081234567002\n081234567001')" \
	"$(sql "SELECT DestinationNumber FROM outbox ORDER BY DestinationNumber DESC")"
check "the SMS names the locker, with the pickup code in clear" 1 \
	"$(sql "SELECT COUNT(*) FROM outbox WHERE DestinationNumber = '081234567001'
		AND TextDecoded REGEXP '^Buku Anda siap di loker Lobi Utama: Loker 3 kode ambil [0-9]{6}, s/d '")"
check "the sealed codes are forgotten once sent" 0 \
	"$(sql "SELECT COUNT(*) FROM lokerbuku_notify_hold WHERE code_sealed IS NOT NULL")"
check "the pickup that INLISLite refused lent nothing (B-3 still Tersedia)" 1 \
	"$(sql "SELECT Status_id FROM collections WHERE NomorBarcode = 'B-3'")"
check "the pickup by M-1001 is INLISLite loans of B-1 and B-2, B-1 since returned" "$(printf 'B-1\tReturn\nB-2\tLoan')" \
	"$(sql "SELECT c.NomorBarcode, i.LoanStatus FROM collectionloanitems i JOIN collections c
		ON c.ID = i.Collection_id JOIN members m ON m.ID = i.member_id WHERE m.MemberNo = 'M-1001'
		ORDER BY c.NomorBarcode")"
check "staff's check-in of B-1 is written as INLISLite's return, by them, 10 working days late" \
	"$(printf 'Return\t%s\t10\t%s\t1\t1' "$(TZ=Asia/Jakarta date +%F)" "$INL_STAFF_ID")" \
	"$(sql "SELECT i.LoanStatus, DATE(i.ActualReturn), i.LateDays, i.UpdateBy, c.Status_id, l.ReturnCount
		FROM collectionloanitems i JOIN collections c ON c.ID = i.Collection_id
		JOIN collectionloans l ON l.ID = i.CollectionLoan_id WHERE c.NomorBarcode = 'B-1'")"
check "the deposited return is closed, with what staff did" 1 \
	"$(sql "SELECT COUNT(*) FROM lokerbuku_event WHERE type = 'return_deposited' AND attention = 2
		AND outcome LIKE 'checked in by staff: B-1: returned, 10 days late%B-3: not on loan'")"
check "the hold of M-1001 is finished" picked_up \
	"$(sql "SELECT state FROM lokerbuku_hold WHERE hold_id = '$HOLD1'")"
check "the OPAC booking of B-5 became a hold for M-1002" "M-1002" \
	"$(sql "SELECT h.member_id FROM lokerbuku_hold h JOIN lokerbuku_hold_item i ON i.hold_id = h.hold_id
		WHERE i.item_code = 'B-5' AND h.hold_id = '$(get HOLD_BOOKING)' AND h.state = 'pending'")"
check "no hold for B-4 (the form with a wrong CSRF token)" 0 \
	"$(sql "SELECT COUNT(*) FROM lokerbuku_hold_item WHERE item_code = 'B-4'")"
check "kiosk k1: hold window 3 days, PIN required" "$(printf '3\t1')" \
	"$(sql "SELECT hold_window_days, pin_required FROM lokerbuku_kiosk WHERE kiosk_id = 'k1'")"
check "the NFC card is enrolled for M-1001, as an HMAC only" "1 0" \
	"$(sql "SELECT COUNT(*), SUM(uid_hmac LIKE '%04A1B2C3D4E5F6%') FROM lokerbuku_card WHERE member_id = 'M-1001'" | tr '\t' ' ')"
check "the kiosk PIN of M-1001 is a PBKDF2 hash" 1 \
	"$(sql "SELECT COUNT(*) FROM lokerbuku_member_pin WHERE member_id = 'M-1001' AND pin_hash LIKE 'pbkdf2-sha256\$%'")"
check "the staff sign-in failure was counted, then cleared by the good sign-in" \
	"$(printf 'ip:127.0.0.1\t1')" "$(sql "SELECT k, fails FROM lokerbuku_staff_login")"
ls "$STORY_OUT"/*.png >/dev/null || fail "no screenshots in $STORY_OUT"
echo "ok - screenshots in $STORY_OUT"
OK=1
