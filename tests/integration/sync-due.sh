#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Due dates from the library system to the patron's screen (issue 22):
# lokerhub's hold-add --due sends each item's `due` in changes, lokerd
# keeps it (lokerctl holds) across a restart, and the screen's state lists
# it with the titles while the doors are open. An item without one has
# none. (A reply whose due is not a date: tests/unit/test-protocol.c.)
# And a patron lokerhub marks as needing a low locker (patron-add --reach
# low): the hold comes with reach "low" and loads into the low locker.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 1000
[webui]
listen = 127.0.0.1:0
ui_dir = $WORK/ui
[locker.4]
low = yes"
mkdir -p "$WORK/ui"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key" >/dev/null
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"

# exits CODE COMMAND...: COMMAND fails with exactly that status.
exits() {
	local want=$1 rc=0
	shift
	"$@" >/dev/null 2>&1 || rc=$?
	[ "$rc" = "$want" ] || fail "exit status $rc, not $want: $*"
}

echo "hold-add refuses a due that is not a date"
exits 2 hub hold-add H-0 --kiosk demo-01 --patron P-1 --item B0000 --due 2026-02-30
exits 2 hub hold-add H-0 --kiosk demo-01 --patron P-1 --item B0000 --due 20/12/2026

echo "the due date reaches the kiosk with each item"
hub patron-add P-1 --name Siti --card M0001 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --due 2026-12-20 \
	--item "B0001=Laskar Pelangi" --item "B0002=Bumi Manusia" >/dev/null
hub hold-add H-2 --kiosk demo-01 --patron P-1 --item "B0003=Cantik Itu Luka" >/dev/null
ctl sync >/dev/null
wait_for "holds H-1 and H-2 on the kiosk" sh -c \
	"'$BIN/lokerctl' --json holds | jq -e '[.holds[].id] | index(\"H-1\") and index(\"H-2\")'"
holds=$(ctl --json holds)
expect '[.holds[] | select(.id=="H-1") | .items[] | [.barcode, .title, .due]]
	== [["B0001","Laskar Pelangi","2026-12-20"],["B0002","Bumi Manusia","2026-12-20"]]' "$holds"
expect '[.holds[] | select(.id=="H-2") | .items[0] | has("due")] == [false]' "$holds"

echo "kept across a restart"
kiosk_stop
kiosk_start "$WORK"
expect '[.holds[] | select(.id=="H-1") | .items[0].due] == ["2026-12-20"]' "$(ctl --json holds)"

echo "the patron's screen lists titles and due dates while the doors are open"
for h in H-1 H-2; do
	l=$(ctl --json load "$h" | jq '.unlocked[0]')
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
done
# H-1 has two books: the patron is asked which to take (v1.1), all by
# default, once the kiosk has heard since its restart that the server
# speaks 1.1.
wait_for "the kiosk knows the server speaks 1.1" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.server_minor == 1'"
expect '.screen.name == "choose_books"' "$(ctl --json sim tap card:M0001)"
url=$(ctl --json status | jq -r .webui.url)
expect '.screen.holds | map(.items | map(.due)) | sort
	== [[null],["2026-12-20","2026-12-20"]]' "$(curl -s -m 20 "${url}api/state")"
expect '.ok and .screen.name == "lockers_open"' "$(curl -s -m 20 \
	-H 'Content-Type: application/json' --data-binary '{"action":"pickup"}' "${url}api/action")"
expect '.screen.items == [{"title":"Laskar Pelangi","due":"2026-12-20"},
	{"title":"Bumi Manusia","due":"2026-12-20"},{"title":"Cantik Itu Luka"}]' \
	"$(curl -s -m 20 "${url}api/state")"
ctl sim cancel >/dev/null

echo "a patron who needs a low locker gets the low one"
exits 2 hub patron-add P-2 --name Wati --card M0002 --reach high
hub patron-add P-2 --name Wati --card M0002 --reach low >/dev/null
hub hold-add H-3 --kiosk demo-01 --patron P-2 --item "B0004=Amba" >/dev/null
hub hold-add H-4 --kiosk demo-01 --patron P-1 --item "B0005=Pulang" >/dev/null
ctl sync >/dev/null
wait_for "hold H-3 and H-4 on the kiosk" sh -c \
	"'$BIN/lokerctl' --json holds | jq -e '[.holds[].id] | index(\"H-3\") and index(\"H-4\")'"
expect '[.holds[] | select(.id=="H-3" or .id=="H-4") | [.id, .reach]] | sort
	== [["H-3","low"],["H-4",null]]' "$(ctl --json holds)"
# Lockers 1 and 2 hold H-1 and H-2; without reach H-4 takes 3, not 4.
expect '.unlocked == [4]' "$(ctl --json load H-3)"
ctl sim door 4 open >/dev/null
ctl sim door 4 close >/dev/null
expect '.unlocked == [3]' "$(ctl --json load H-4)"
