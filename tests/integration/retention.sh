#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Retention in days through the real lokerd: a hold picked up longer ago
# than [policy] keep_finished_days loses its credential HMACs, patron name,
# items and titles (the bytes gone from the database file too), and keeps
# its id and state; a hold picked up since is kept whole.
. "$(dirname "$0")/lib.sh"

kiosk_write_config "$WORK" "
[policy]
pin_required = no
keep_finished_days = 30"
kiosk_start "$WORK"
DB=$WORK/lokerd.db

ctl holds add H-OLD --credential card:M-OLD --name Wulandari \
	--item "B-OLD=Ronggeng Dukuh Paruk" >/dev/null
ctl holds add H-NEW --credential card:M-NEW --name Kartika \
	--item "B-NEW=Cantik Itu Luka" >/dev/null
for h in H-OLD H-NEW; do
	l=$(ctl --json load "$h" | jq -r '.unlocked[0]')
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
done
for c in card:M-OLD card:M-NEW; do
	l=$(ctl --json sim tap "$c" | jq -r '.unlocked[0]')
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
done
kiosk_stop

echo "H-OLD was picked up 31 days ago: lokerd wipes it at its next pruning"
sqlite3 "$DB" "UPDATE holds SET finished_at_usec = finished_at_usec
	- 31 * 86400 * 1000000 WHERE id = 'H-OLD'"
for w in Wulandari Ronggeng; do
	grep -q "$w" "$DB" || fail "$w is not in the database before: the test proves nothing"
done
kiosk_start "$WORK"
q() { sqlite3 "$DB" "$1"; }
for _ in $(seq 100); do
	[ "$(q "SELECT wiped FROM holds WHERE id = 'H-OLD'")" = 1 ] && break
	sleep 0.1
done
[ "$(q "SELECT wiped || state || '[' || patron_name || ']' FROM holds WHERE id = 'H-OLD'")" = "1picked_up[]" ] ||
	fail "H-OLD: $(q "SELECT * FROM holds WHERE id = 'H-OLD'")"
[ "$(q "SELECT count(*) FROM hold_credentials WHERE hold_id = 'H-OLD'")" = 0 ] || fail "H-OLD keeps its credentials"
[ "$(q "SELECT count(*) FROM hold_items WHERE hold_id = 'H-OLD'")" = 0 ] || fail "H-OLD keeps its items"
echo "  H-OLD: state picked_up, no name, no credential HMAC, no item"
[ "$(q "SELECT wiped || '[' || patron_name || ']' FROM holds WHERE id = 'H-NEW'")" = "0[Kartika]" ] || fail "H-NEW was wiped"
[ "$(q "SELECT count(*) FROM hold_items WHERE hold_id = 'H-NEW'")" = 1 ] || fail "H-NEW lost its items"
echo "  H-NEW, picked up today: kept whole"
kiosk_stop
# Stopped, SQLite has folded the WAL into the file: the bytes are gone.
# (The outbox keeps its events, barcodes and the patron's HMAC as actor,
# until sent and [outbox] keep_sent_days later: docs/security.md.)
for w in Wulandari Ronggeng; do
	! grep -q "$w" "$DB"* || fail "$w is still in the database files"
done
grep -q Kartika "$DB" || fail "H-NEW's name is not in the file"
echo "  no byte of H-OLD's name or title is left in $(basename "$DB")"
echo PASS
