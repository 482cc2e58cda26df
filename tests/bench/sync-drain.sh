#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Sync throughput: a backlog of BENCH_EVENTS (100,000) events, recorded
# while the server was down, drains to lokerhub over HTTPS on loopback.
# Prints events per second, connections (TLS handshakes) used, bytes
# sent and received on lokerd's connection (TCP payload: TLS records, HTTP
# and JSON), CPU seconds on each side, and lokerd's memory (RSS, PSS)
# idle, with the backlog recorded and after the drain; fails if the
# server does not end up with every event exactly once. Needs BIN
# (release binaries) and LOKERBUKU_TOP.
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}"
N=${BENCH_EVENTS:-100000}
# shellcheck source=tools/lib/kiosk.sh
. "$LOKERBUKU_TOP/tools/lib/kiosk.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"

WORK=$(mktemp -d /tmp/lokerbuku-bench.XXXXXX)
export LOKERBUKU_SOCKET=$WORK/control.sock
trap 'kiosk_stop >/dev/null 2>&1 || true; hub_stop; rm -rf "$WORK"' EXIT
ctl() { "$BIN/lokerctl" "$@"; }
fail() {
	echo "sync-drain: FAIL: $*" >&2
	exit 1
}
# shellcheck source=tests/bench/lib.bash
. "$LOKERBUKU_TOP/tests/bench/lib.bash"
# "SENT RECEIVED": bytes of lokerd's TCP connections to the hub, from the
# kernel's tcp_info (ss), so nothing in lokerd has to count them.
tcp_bytes() {
	ss -tinH state established "( dport = :$HUB_PORT )" | awk '
		{ for (i = 1; i <= NF; i++) {
			if ($i ~ /^bytes_sent:/) { split($i, a, ":"); s += a[2] }
			if ($i ~ /^bytes_received:/) { split($i, a, ":"); r += a[2] } } }
		END { printf "%d %d", s, r }'
}

kiosk_write_config "$WORK" "
[outbox]
max_unsent = $((N + 1000))"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
printf 'batch_size = 500\n' >>"$WORK/lokerd.conf"
hub_stop
kiosk_start "$WORK" >&2
sleep 1
rss0=$(kib "$KIOSK_PID" Rss)
pss0=$(kib "$KIOSK_PID" Pss)

echo "sync-drain: recording $N events with the server down" >&2
n=$(for _ in $(seq $((N / 2))); do
	echo '{"cmd":"disable","locker":12}'
	echo '{"cmd":"enable","locker":12}'
done | socat -t 300 - "UNIX-CONNECT:$LOKERBUKU_SOCKET" | grep -c '"ok": *true')
[ "$n" -eq "$N" ] || fail "only $n of $N events recorded"

rss1=$(kib "$KIOSK_PID" Rss)

hub_start
kiosk_cpu0=$(cpu_s "$KIOSK_PID")
hub_cpu0=$(cpu_s "$HUB_PID")
start=$(date +%s.%N)
ctl sync >/dev/null
until [ "$(ctl --json status | jq .backlog)" = 0 ]; do
	sleep 0.02
done
end=$(date +%s.%N)
read -r sent received <<<"$(tcp_bytes)"
kiosk_cpu=$(awk -v a="$(cpu_s "$KIOSK_PID")" -v b="$kiosk_cpu0" 'BEGIN { printf "%.2f", a - b }')
hub_cpu=$(awk -v a="$(cpu_s "$HUB_PID")" -v b="$hub_cpu0" 'BEGIN { printf "%.2f", a - b }')
status=$(ctl --json status)

rss=$(kib "$KIOSK_PID" Rss)
pss=$(kib "$KIOSK_PID" Pss)
# The bytes are those of the connection open now: the drain's only one.
[ "$(jq .sync.connects <<<"$status")" = 1 ] ||
	fail "the drain took $(jq .sync.connects <<<"$status") connections: its bytes are not all on one"
[ "$sent" -gt 0 ] || fail "no connection to lokerhub seen by ss"

got=$(hub events --kiosk demo-01 --limit "$((N + 100))" --json | jq '[.[] | select(.type == "locker_disabled" or .type == "locker_enabled")] | [length, (map(.id) | unique | length)] | @tsv' -r)
[ "$got" = "$N	$N" ] || fail "the server has $got (events, unique ids) of $N"

awk -v s="$start" -v e="$end" -v n="$N" 'BEGIN {
	printf "drain %d events\t%.2f\ts\n", n, e - s
	printf "events per second\t%.0f\tevents/s\n", n / (e - s) }'
printf 'connections (TLS handshakes)\t%s\tconnections\n' "$(jq .sync.connects <<<"$status")"
printf 'requests\t%s\trequests\n' "$(jq .sync.requests <<<"$status")"
printf 'lokerd CPU during the drain\t%s\ts\n' "$kiosk_cpu"
printf 'lokerhub CPU during the drain\t%s\ts\n' "$hub_cpu"
printf 'bytes sent\t%s\tbytes\n' "$sent"
awk -v b="$sent" -v n="$N" 'BEGIN { printf "bytes sent per event\t%.0f\tbytes\n", b / n }'
printf 'bytes received\t%s\tbytes\n' "$received"
printf 'lokerd RSS before\t%.1f\tMiB\n' "$(awk -v k="$rss0" 'BEGIN { print k / 1024 }')"
printf 'lokerd PSS before\t%.1f\tMiB\n' "$(awk -v k="$pss0" 'BEGIN { print k / 1024 }')"
printf 'lokerd RSS with the backlog recorded\t%.1f\tMiB\n' "$(awk -v k="$rss1" 'BEGIN { print k / 1024 }')"
printf 'lokerd RSS after the drain\t%.1f\tMiB\n' "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
printf 'lokerd PSS after the drain\t%.1f\tMiB\n' "$(awk -v k="$pss" 'BEGIN { print k / 1024 }')"
printf 'lokerd RSS growth over the drain\t%.1f\tMiB\n' "$(awk -v a="$rss" -v b="$rss1" 'BEGIN { print (a - b) / 1024 }')"
