#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Days offline: 10,000 events pile up while the server is down, and all of
# them drain, once each, over one kept-alive connection, when it comes back.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop
N=10000

kiosk_write_config "$WORK" "
[outbox]
max_unsent = 20000"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
hub_stop # down from the start: the kiosk works on regardless
kiosk_start "$WORK"

echo "$N events while the server is down"
n=$(for _ in $(seq $((N / 2))); do
	echo '{"cmd":"disable","locker":12}'
	echo '{"cmd":"enable","locker":12}'
done | socat -t 60 - "UNIX-CONNECT:$LOKERBUKU_SOCKET" | grep -c '"ok": *true')
[ "$n" -eq "$N" ] || fail "only $n of $N requests done"
r=$(ctl --json status)
expect ".backlog == $N and .sync.online == false" "$r"

echo "the server comes back on the same port: the backlog drains"
hub_start
start=$(date +%s.%N)
ctl sync >/dev/null
for _ in $(seq 600); do
	[ "$(ctl --json status | jq .backlog)" = 0 ] && break
	sleep 0.1
done
end=$(date +%s.%N)
r=$(ctl --json status)
expect '.backlog == 0 and .sync.online == true' "$r"
# Kept alive: the whole drain went over one connection, one TLS handshake.
expect '.sync.connects == 1' "$r"
got=$(hub events --kiosk demo-01 --json | jq '[.[] | select(.type=="locker_disabled" or .type=="locker_enabled")] | length')
[ "$got" = "$N" ] || fail "the server has $got of the $N events"
unique=$(hub events --kiosk demo-01 --json | jq 'map(.id) | unique | length')
all=$(hub events --kiosk demo-01 --json | jq length)
[ "$unique" = "$all" ] || fail "$all events on the server, $unique ids"
awk -v s="$start" -v e="$end" -v n="$N" \
	'BEGIN { printf "  drained %d events in %.1f s (polled every 0.1 s; the figure to quote is tests/bench/run sync-drain)\n", n, e - s }'
kiosk_stop
echo "PASS"
