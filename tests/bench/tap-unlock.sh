#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tap to unlock, end to end: from a card placed on the reader to the start
# of the lock pulse, through the core's decision and the SQLite commit
# (synchronous=FULL), on CLOCK_MONOTONIC. BENCH_TAPS (1,000) pickups each:
#   sim       the simulated reader (sim-tap on the control socket): the
#             software path alone
#   nfc-50    pn532-sim with --realistic-timing (115200 baud, time on
#             air) through libnfc's pn532_uart and the reader thread,
#             polling every 50 ms (the default [reader] poll_ms)
#   nfc-10    the same at poll_ms = 10, the fastest the PN532 allows
#   sim-sync  the simulated reader while a backlog of BENCH_BACKLOG
#             (120,000) events drains to lokerhub over HTTPS in the
#             default batches of 100: every tap made with at least a
#             batch unsent, or the benchmark fails
# pn532-sim taps come at a random moment within a poll interval, as cards
# do (a driver in step with the polls would always just miss one).
# Each tap must start one pulse on its hold's locker and record one
# hold_picked_up (tests/bench/tapdrive.py checks), or the benchmark fails.
#
# Then the design this replaces: a kiosk that asks the server at every tap,
# as SIP2 lockers do. bench-online-check POSTs one hold_picked_up per tap
# to the same lokerhub (the server's checkout: looked up, applied and
# committed before the reply), BENCH_TAPS times on a new connection each
# (a TLS handshake per tap) and BENCH_TAPS times on one kept-alive
# connection. The ratios compare their medians with the sim reader's
# whole tap to pulse (decision, commit and pulse), on loopback: any real
# network only adds to the online side.
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}"
N=${BENCH_TAPS:-1000}
BACKLOG=${BENCH_BACKLOG:-120000}
BENCH_NAME=tap-unlock
# shellcheck source=tools/lib/kiosk.sh
. "$LOKERBUKU_TOP/tools/lib/kiosk.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
# shellcheck source=tests/bench/lib.bash
. "$LOKERBUKU_TOP/tests/bench/lib.bash"

WORK=$(mktemp -d /tmp/lokerbuku-bench.XXXXXX)
trap 'kiosk_stop >/dev/null 2>&1 || true; pn532_stop; hub_stop; rm -rf "$WORK"' EXIT
export LOKERBUKU_SOCKET

# The software path: the simulated reader.
dir=$WORK/sim
bench_kiosk_config "$dir"
LOKERBUKU_SIM_PULSE_LOG=$dir/pulses.log kiosk_start "$dir" >&2
echo "tap-unlock: $N taps on the simulated reader" >&2
tapdrive "$dir" --reader sim --taps "$N" --out "$WORK/sim.ns"
kiosk_stop
percentiles "$WORK/sim.ns" "sim reader"

# Through libnfc and the emulated PN532, at two poll intervals.
for poll_ms in 50 10; do
	dir=$WORK/nfc-$poll_ms
	mkdir -p "$dir"
	pn532_start "$dir" --realistic-timing
	bench_kiosk_config "$dir" "
[reader]
backend = nfc
connstring = pn532_uart:$dir/pn532
poll_ms = $poll_ms"
	LOKERBUKU_SIM_PULSE_LOG=$dir/pulses.log kiosk_start "$dir" >&2
	pn532_wait_polled "$dir"
	echo "tap-unlock: $N taps on pn532-sim, poll_ms = $poll_ms" >&2
	tapdrive "$dir" --reader pn532 --pn532 "$dir/pn532.sock" --taps "$N" \
		--prefix "N$poll_ms" --jitter-ms "$poll_ms" --out "$WORK/nfc-$poll_ms.ns"
	kiosk_stop
	pn532_stop
	percentiles "$WORK/nfc-$poll_ms.ns" "pn532 libnfc poll ${poll_ms} ms"
done

# The software path again, with a backlog draining to the server.
dir=$WORK/sync
LOKERBUKU_SOCKET=$dir/control.sock
bench_kiosk_config "$dir" "
[outbox]
max_unsent = $((BACKLOG + 10 * N))"
hub_setup "$WORK/hub" demo-01 "$dir/site.key" >&2
hub_start
hub_sync_config >>"$dir/lokerd.conf"
hub_stop
LOKERBUKU_SIM_PULSE_LOG=$dir/pulses.log kiosk_start "$dir" >&2
echo "tap-unlock: recording a backlog of $BACKLOG events" >&2
n=$(for _ in $(seq $((BACKLOG / 2))); do
	echo '{"cmd":"disable","locker":12}'
	echo '{"cmd":"enable","locker":12}'
done | socat -t 300 - "UNIX-CONNECT:$LOKERBUKU_SOCKET" | grep -c '"ok": *true')
[ "$n" -eq "$BACKLOG" ] || bench_fail "only $n of $BACKLOG events recorded"
hub_start
"$BIN/lokerctl" sync >/dev/null
echo "tap-unlock: $N taps on the simulated reader while it drains" >&2
tapdrive "$dir" --reader sim --taps "$N" --prefix S --while-backlog \
	--out "$WORK/sync.ns"
status=$("$BIN/lokerctl" --json status)
[ "$(jq .sync.requests <<<"$status")" -gt 1 ] || bench_fail "no upload ran"
percentiles "$WORK/sync.ns" "sim reader, sync draining"
kiosk_stop

# The online check, against the same lokerhub, with lokerd stopped.
hub patron-add P-ONLINE --uid 04C0FFEE000001 >/dev/null
hub hold-add ONLINE-1 --kiosk demo-01 --patron P-ONLINE --item BK0000001 >/dev/null
for mode in fresh keepalive; do
	echo "tap-unlock: $N online checks, $mode connection" >&2
	connects=$("$BIN/bench-online-check" "$HUB_URL/kiosks/demo-01/events" \
		"$WORK/hub/ca/ca.pem" "$WORK/hub/token" ONLINE-1 "$N" "$mode" \
		"$WORK/online-$mode.ns") || bench_fail "the online check failed"
	case $mode in
	fresh) [ "$connects" = "$N" ] || bench_fail "$connects connections for $N fresh checks" ;;
	keepalive) [ "$connects" = 1 ] || bench_fail "$connects connections for one kept alive" ;;
	esac
done
got=$(hub events --kiosk demo-01 --type hold_picked_up --json --limit $((4 * N)) |
	jq '[.[] | select(.payload.hold_id == "ONLINE-1" and .status == "accepted")] | length')
[ "$got" = $((2 * N)) ] || bench_fail "lokerhub accepted $got of $((2 * N)) online checks"
percentiles "$WORK/online-fresh.ns" "online check, new connection"
percentiles "$WORK/online-keepalive.ns" "online check, kept alive"
local_ms=$(p50_ms "$WORK/sim.ns")
for mode in fresh keepalive; do
	awk -v o="$(p50_ms "$WORK/online-$mode.ns")" -v l="$local_ms" -v m="$mode" 'BEGIN {
		printf "online (%s) / local, p50\t%.1f\ttimes\n", m == "fresh" ? "new connection" : "kept alive", o / l }'
done
