#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Returns with item barcodes (issue 20, point 4) through the real lokerd
# and lokerhub: books scanned while a patron's return door is open go
# with its return_deposited as "items" (a book scanned twice once), reach
# the server, and a return without scans has none; a scan with
# no return door open is still a member card.
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
kiosk_start "$WORK"

returns() { # the items of every return_deposited, as the server has them
	sqlite3 "$HUB_DIR/hub.db" "SELECT payload FROM events WHERE type = 'return_deposited' ORDER BY n" |
		jq -sc 'map(.items // [] | map(.barcode))'
}
deposit() { # BARCODES...: a return with these books scanned
	local l
	ctl sim return >/dev/null
	r=$(ctl --json sim tap card:M0009)
	expect '.screen.name == "return_open" and (.unlocked | length == 1)' "$r"
	l=$(jq '.unlocked[0]' <<<"$r")
	ctl sim door "$l" open >/dev/null
	for b in "$@"; do
		ctl sim scan "$b" >/dev/null
	done
	ctl sim door "$l" close >/dev/null
}

echo "books scanned into an open return door go with its deposit"
deposit B0001 B0002 B0001
echo "  a return without scans has none"
ctl --json sim cancel >/dev/null || true
deposit
ctl sync >/dev/null
drained
expect '. == [["B0001", "B0002"], []]' "$(returns)"
r=$(ctl --json events --limit 1000)
expect '[.events[] | select(.type=="return_deposited")][0].payload.items == [{"barcode": "B0001"}, {"barcode": "B0002"}]' "$r"

echo "with no return door open a scan is a member card"
expect '.screen.name == "unknown_card"' "$(ctl --json sim scan M0009)"
echo PASS
