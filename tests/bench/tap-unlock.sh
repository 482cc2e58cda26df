#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tap to unlock, end to end: from a card placed on the reader to the start
# of the lock pulse, through the core's decision and the SQLite commit
# (synchronous=FULL), on CLOCK_MONOTONIC. BENCH_TAPS (1,000) pickups each:
#   sim       the simulated reader (sim-tap on the control socket): the
#             software path alone
#   nfc       pn532-sim with --realistic-timing (115200 baud, time on
#             air) through libnfc's pn532_uart and the reader thread, at
#             the default [reader] settings: the PN532 waits for the card
#             (InAutoPoll) and answers when it comes
#   nfc-load  the same, BENCH_LOAD_TAPS (300) taps, with stress-ng --cpu 2
#             keeping both cores busy beside it (skipped, and said so,
#             without stress-ng)
#   sync      the simulated reader while a backlog of BENCH_BACKLOG
#             (120,000) events drains to lokerhub over HTTPS in the
#             default batches of 100: taps are made while at least a batch
#             is unsent, up to BENCH_TAPS; a fast machine drains it sooner
#             (it says how many taps it made), and fewer than 100 fail
#   online    the design this replaces: a kiosk that asks the server at
#             every tap, as SIP2 lockers do (below)
# pn532-sim taps come at a random moment within 150 ms, as cards do (a
# driver in step with the reader would always find it ready).
# Each tap must start one pulse on its hold's locker and record one
# hold_picked_up (tests/bench/tapdrive.py checks), or the section fails.
# Each section runs on its own: one that fails is named on stderr, the
# others still run and print their figures, and the script exits 1.
#
# online: bench-online-check POSTs one hold_picked_up per tap to lokerhub
# (the server's checkout: looked up, applied and committed before the
# reply), BENCH_TAPS times on a new connection each (a TLS handshake per
# tap) and BENCH_TAPS times on one kept-alive connection. The ratios
# compare their medians with the sim reader's whole tap to pulse
# (decision, commit and pulse), on loopback: any real network only adds to
# the online side.
#
#   tap-unlock.sh [SECTION...]    all sections, or the named ones
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

SECTIONS=(sim nfc nfc-load sync online)
if [ -z "${BENCH_SECTION:-}" ]; then
	[ $# -gt 0 ] || set -- "${SECTIONS[@]}"
	failed=()
	for section in "$@"; do
		BENCH_SECTION=$section bash "$0" || failed+=("$section")
	done
	[ ${#failed[@]} -eq 0 ] || bench_fail "failed sections: ${failed[*]}"
	exit 0
fi
BENCH_NAME="tap-unlock $BENCH_SECTION"

WORK=$(mktemp -d /tmp/lokerbuku-bench.XXXXXX)
STRESS_PID=
stress_stop() {
	[ -n "$STRESS_PID" ] || return 0
	kill -TERM "$STRESS_PID" 2>/dev/null || true
	wait "$STRESS_PID" 2>/dev/null || true
	STRESS_PID=
}
trap 'stress_stop; kiosk_stop >/dev/null 2>&1 || true; pn532_stop; hub_stop; rm -rf "$WORK"' EXIT
export LOKERBUKU_SOCKET

# nfc_taps N LABEL: N taps through libnfc and pn532-sim, defaults.
nfc_taps() {
	dir=$WORK/nfc
	mkdir -p "$dir"
	pn532_start "$dir" --realistic-timing
	bench_kiosk_config "$dir" "
[reader]
backend = nfc
connstring = pn532_uart:$dir/pn532"
	LOKERBUKU_SIM_PULSE_LOG=$dir/pulses.log kiosk_start "$dir" >&2
	pn532_wait_polled "$dir"
	echo "tap-unlock: $1 taps on pn532-sim, default settings${STRESS_PID:+, under load}" >&2
	tapdrive "$dir" --reader pn532 --pn532 "$dir/pn532.sock" --taps "$1" \
		--prefix N --jitter-ms 150 --out "$WORK/nfc.ns"
	kiosk_stop
	pn532_stop
	percentiles "$WORK/nfc.ns" "$2"
}

case $BENCH_SECTION in
sim)
	# The software path: the simulated reader.
	dir=$WORK/sim
	bench_kiosk_config "$dir"
	LOKERBUKU_SIM_PULSE_LOG=$dir/pulses.log kiosk_start "$dir" >&2
	echo "tap-unlock: $N taps on the simulated reader" >&2
	tapdrive "$dir" --reader sim --taps "$N" --out "$WORK/sim.ns"
	kiosk_stop
	percentiles "$WORK/sim.ns" "sim reader"
	;;
nfc)
	nfc_taps "$N" "pn532 libnfc, defaults"
	;;
nfc-load)
	if ! command -v stress-ng >/dev/null; then
		echo "$BENCH_NAME: SKIPPED: stress-ng is missing, so no figure under load (apt-get install stress-ng)" >&2
		exit 0
	fi
	# Its own time-out too: a killed benchmark leaves no load behind.
	stress-ng --cpu 2 --timeout 600s --quiet >/dev/null 2>&1 &
	STRESS_PID=$!
	sleep 1
	load=$(cut -d' ' -f1 /proc/loadavg)
	nfc_taps "${BENCH_LOAD_TAPS:-300}" "pn532 libnfc, defaults, stress-ng --cpu 2"
	stress_stop
	printf 'load average at the end of the taps under load\t%s\tload\n' "$load"
	;;
sync)
	# The software path again, with a backlog draining to the server.
	dir=$WORK/sync
	LOKERBUKU_SOCKET=$dir/control.sock
	bench_kiosk_config "$dir"
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
		--min-taps $((N < 100 ? N : 100)) --out "$WORK/sync.ns" 2>"$WORK/sync.log" || {
		cat "$WORK/sync.log" >&2
		bench_fail "the taps during the drain failed"
	}
	cat "$WORK/sync.log" >&2
	status=$("$BIN/lokerctl" --json status)
	[ "$(jq .sync.requests <<<"$status")" -gt 1 ] || bench_fail "no upload ran"
	percentiles "$WORK/sync.ns" "sim reader, sync draining"
	kiosk_stop
	;;
online)
	# The online check, against a lokerhub, with no lokerd running; its
	# ratios compare with the sim reader's median, measured first.
	dir=$WORK/sim
	bench_kiosk_config "$dir"
	LOKERBUKU_SIM_PULSE_LOG=$dir/pulses.log kiosk_start "$dir" >&2
	echo "tap-unlock: $N taps on the simulated reader, for the ratios" >&2
	tapdrive "$dir" --reader sim --taps "$N" --out "$WORK/sim.ns"
	kiosk_stop
	hub_setup "$WORK/hub" demo-01 "$dir/site.key" >&2
	hub_start
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
	;;
*)
	bench_fail "no section $BENCH_SECTION (${SECTIONS[*]})"
	;;
esac
