#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Locker Sync API v1.1 resend_events through the real lokerd and lokerhub
# (issue 20, point 1):
# - an event the kiosk gave up after a 400 is queued again by the server
#   (resend_events from its seq) and taken;
# - a lokerhub restored from a backup asks the kiosk for everything after
#   the newest event the backup has (resend_events without --from-seq):
#   afterwards it has every event the kiosk has, the hold loaded since the
#   backup is loaded again, and nothing is stored twice.
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

command_result() { # ID: the result of the kiosk's command_done for it
	ctl --json events --limit 1000 |
		jq -er --arg c "$1" '[.events[] | select(.type=="command_done" and .payload.command==$c)][0].payload.result'
}
hub_has() { # UUID STATUS
	[ "$(sqlite3 "$HUB_DIR/hub.db" "SELECT status FROM events WHERE id = '$1'")" = "$2" ]
}
wait_for "the kiosk knows the server speaks 1.1" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.server_minor == 1'"
drained

echo "an event given up after a 400 is queued again and taken"
hub fault add events 400 --count 1 >/dev/null
ctl sim door 7 open >/dev/null # door_forced_open: one event, one upload
wait_for "the event given up" sh -c \
	"'$BIN/lokerctl' --json status | jq -e '.sync.rejected_events == 1 and .backlog == 0'"
ev=$(ctl --json events --limit 1000 | jq -c '[.events[] | select(.type=="door_forced_open")][0]')
uuid=$(jq -r .uuid <<<"$ev")
seq=$(jq -r .seq <<<"$ev")
[ "$(sqlite3 "$HUB_DIR/hub.db" "SELECT count(*) FROM events WHERE id = '$uuid'")" = 0 ] ||
	fail "the server has the event it refused"
ctl sim door 7 close >/dev/null
drained_but_one() {
	[ "$(ctl --json status | jq .backlog)" = 0 ] &&
		[ "$(hub_count)" = "$(($(kiosk_count) - 1))" ]
}
wait_for "all but the given-up event on the server" drained_but_one
c=$(hub command demo-01 resend_events --from-seq "$seq" --reason "refused by mistake")
expect '.[] | select(.id=="'"$c"'") | .from_seq == '"$seq" "$(hub commands --json)"
ctl sync >/dev/null
wait_for "the given-up event taken" hub_has "$uuid" accepted
wait_for "command $c done on the kiosk" command_result "$c"
[ "$(command_result "$c")" = done ] || fail "resend_events result: $(command_result "$c")"
drained
same_ids
grep -q "sync: events $seq to [0-9]* sent again, as the server asked" "$WORK/lokerd.log" ||
	fail "no log line for the events sent again"

echo "a lokerhub restored from a backup gets what it lost"
hub patron-add P-1 --name Siti --card M0001 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --item "B0001=Laskar Pelangi" >/dev/null
ctl sync >/dev/null
wait_for "hold H-1 on the kiosk" sh -c "'$BIN/lokerctl' --json holds | jq -e '.holds[] | select(.id==\"H-1\")'"
drained
sqlite3 "$HUB_DIR/hub.db" ".backup '$WORK/backup.db'"
before=$(hub_count)
r=$(ctl --json load H-1)
l=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null
ctl sim door 8 open >/dev/null
ctl sim door 8 close >/dev/null
drained
expect '.[0] == "loaded"' "$(sqlite3 "$HUB_DIR/hub.db" "SELECT state FROM holds WHERE id = 'H-1'" | jq -Rn '[inputs]')"
hub_stop
rm -f "$HUB_DIR/hub.db-wal" "$HUB_DIR/hub.db-shm"
cp "$WORK/backup.db" "$HUB_DIR/hub.db"
hub_start
[ "$(hub_count)" = "$before" ] || fail "the restored hub has $(hub_count) events, not $before"
expect '.[0] == "pending"' "$(sqlite3 "$HUB_DIR/hub.db" "SELECT state FROM holds WHERE id = 'H-1'" | jq -Rn '[inputs]')"
c=$(hub command demo-01 resend_events --reason "restored from a backup")
expect '.[] | select(.id=="'"$c"'") | .from_seq > '"$seq" "$(hub commands --json)"
ctl sync >/dev/null
wait_for "command $c done on the kiosk" command_result "$c"
[ "$(command_result "$c")" = done ] || fail "resend_events result: $(command_result "$c")"
drained
same_ids
expect '.[0] == "loaded"' "$(sqlite3 "$HUB_DIR/hub.db" "SELECT state FROM holds WHERE id = 'H-1'" | jq -Rn '[inputs]')"
[ "$(sqlite3 "$HUB_DIR/hub.db" "SELECT count(*) - count(DISTINCT id) FROM events")" = 0 ] ||
	fail "an event stored twice"

echo "  the progress of a resend outlives a restart of lokerd"
hub_stop
hub_start
hub fault add events 500 --count 0 >/dev/null
c=$(hub command demo-01 resend_events --from-seq 1)
ctl sync >/dev/null
wait_for "command $c done on the kiosk" command_result "$c"
kiosk_stop
done_lines() { grep -c "sync: events [0-9]* to [0-9]* sent again, as the server asked" "$WORK/lokerd.log"; }
n=$(done_lines)
kiosk_start "$WORK"
grep -q "sync: sending events 1 to [0-9]* again, as the server asked" "$WORK/lokerd.log" ||
	fail "the resend did not survive the restart"
hub fault clear >/dev/null
ctl sync >/dev/null
wait_for "the resend finished" sh -c "[ \$(grep -c 'sync: events 1 to [0-9]* sent again' '$WORK/lokerd.log') -gt 0 ] && [ $n -lt \$(grep -c 'sent again, as the server asked' '$WORK/lokerd.log') ]"
drained
same_ids
echo PASS
