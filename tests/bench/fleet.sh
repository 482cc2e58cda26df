#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A library network against one lokerhub (issue 26): BENCH_FLEET_KIOSKS
# (72) simulated kiosks, each registered with lokerhub kiosk-add and with a
# hold of its own (hold-add), run by bench-fleet (fleet.c) on lokerd's
# schedule for BENCH_FLEET_SECONDS (120) after a warm-up of one interval,
# with the intervals divided by BENCH_FLEET_FACTOR (1: real time).
# The kiosks come up at random through BENCH_FLEET_RAMP seconds (one
# interval), which is also the warm-up: a longer ramp spreads 10,000 TLS
# handshakes as a network coming up would. BENCH_FLEET_NICE (0) runs the
# server and the fleet at that nice level (as root, say -10: on a machine
# busy with other work, the server has the core it is measured on). The
# kernel shares the CPU among sessions first (autogroups), so the bench
# then runs in a session of its own whose autogroup has that nice level.
# lokerhub runs on core BENCH_FLEET_CPU (0), the fleet on the other. Then
# the same traffic against a static HTTPS 200 (haproxy, on the same core),
# for the ratio of CPU per request; BENCH_FLEET_STATIC=0 skips it.
#
# The kiosks are registered with one kiosk-add --stdin and their holds
# added with one hold-add --stdin (seconds for 10,000; the figures say how
# long). With BENCH_FLEET_CACHE=DIR the set-up is kept in DIR and used
# again by the next run of the same number of kiosks (copied, so every run
# starts from the same database). Fails when an event was not acknowledged.
# Needs BIN (release binaries, with bench-fleet) and LOKERBUKU_TOP.
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}"
N=${BENCH_FLEET_KIOSKS:-72}
FACTOR=${BENCH_FLEET_FACTOR:-1}
RUN_S=${BENCH_FLEET_SECONDS:-120}
CPU=${BENCH_FLEET_CPU:-0}
RAMP=${BENCH_FLEET_RAMP:-}
NICE=${BENCH_FLEET_NICE:-0}
CACHE=${BENCH_FLEET_CACHE:-}
BENCH_NAME=fleet
if [ "$NICE" != 0 ] && [ -z "${BENCH_FLEET_SESSION:-}" ]; then
	BENCH_FLEET_SESSION=1 exec setsid --wait bash "$0" "$@"
fi
if [ "$NICE" != 0 ] && [ -e /proc/self/autogroup ]; then
	echo "$NICE" >"/proc/$$/autogroup" ||
		echo "fleet: could not set the autogroup's nice level to $NICE" >&2
fi
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
# shellcheck source=tests/bench/lib.bash
. "$LOKERBUKU_TOP/tests/bench/lib.bash"

[ "$(nproc)" -ge 2 ] || bench_fail "needs 2 cores: one for the server, one for the fleet"
OTHER=$(((CPU + 1) % $(nproc)))
[ -x "$BIN/bench-fleet" ] || bench_fail "no $BIN/bench-fleet (cmake --build ... --target bench-fleet)"
WORK=$(mktemp -d /tmp/lokerbuku-bench.XXXXXX)
HAPROXY_PID=
trap 'hub_stop; [ -z "$HAPROXY_PID" ] || kill "$HAPROXY_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
# One descriptor per kiosk in lokerhub and in the fleet.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((N + 64)) ] ||
	bench_fail "$N kiosks need $((N + 64)) open files; the hard limit is $(ulimit -Hn)"

setup() {
	local dir=$1 t0 t1
	hub_setup "$dir" k00000 "$WORK/site.key"
	hub patron-add P-1 --name Siti --uid 04A1B2C3D4E5F6 >/dev/null
	t0=$(date +%s.%N)
	# All but the first kiosk (hub_setup's) in one kiosk-add --stdin.
	if [ "$N" -gt 1 ]; then
		seq -f 'k%05g' 1 $((N - 1)) |
			hub kiosk-add --stdin --tokens-file "$dir/tokens" --no-pin-required
	else
		: >"$dir/tokens"
	fi
	t1=$(date +%s.%N)
	{ echo "k00000 $(cat "$dir/token")"; cat "$dir/tokens"; } >"$dir/kiosks.tmp"
	rm "$dir/token" "$dir/tokens"
	awk '{ printf "H-%s\t%s\tP-1\tH-%s=Buku %d\n", $1, $1, $1, NR }' "$dir/kiosks.tmp" |
		hub hold-add --stdin
	awk '{ print $1, $2, "H-" $1 }' "$dir/kiosks.tmp" >"$dir/kiosks.txt"
	rm "$dir/kiosks.tmp"
	awk -v a="$t0" -v b="$t1" -v c="$(date +%s.%N)" -v n="$N" 'BEGIN {
		printf "kiosk-add --stdin, all kiosks\t%.2f\ts\n", b - a
		printf "hold-add --stdin, all holds\t%.2f\ts\n", c - b }' >"$dir/setup.tsv"
}

umask 077
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/site.key"
if [ -n "$CACHE" ] && [ -s "$CACHE/$N/kiosks.txt" ]; then
	echo "fleet: the set-up of $N kiosks from $CACHE/$N" >&2
	cp -a "$CACHE/$N" "$WORK/hub"
	HUB_DIR=$WORK/hub
else
	echo "fleet: registering $N kiosks, each with a hold" >&2
	setup "$WORK/hub"
	if [ -n "$CACHE" ]; then
		mkdir -p "$CACHE"
		rm -rf "${CACHE:?}/$N"
		cp -a "$WORK/hub" "$CACHE/$N"
	fi
fi
cat "$HUB_DIR/setup.tsv"

# The database's size as SQLite sees it, write-ahead log included (its
# pages, not the log file, which is reused and never shrinks), in bytes.
db_bytes() {
	sqlite3 -readonly "$HUB_DIR/hub.db" \
		'SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()'
}
fleet() {
	taskset -c "$OTHER" nice -n "$NICE" "$BIN/bench-fleet" --url "$1" --ca "$HUB_DIR/ca/ca.pem" \
		--kiosks "$HUB_DIR/kiosks.txt" --factor "$FACTOR" --seconds "$RUN_S" \
		${RAMP:+--ramp "$RAMP"} "${@:2}"
}

load0=$(cut -d' ' -f1 /proc/loadavg)
hub_start
# The size at the end of the warm-up (the ramp, one interval unless told),
# when every kiosk has sent its first status (kept in place, once a kiosk).
(
	sleep "${RAMP:-$(awk -v f="$FACTOR" 'BEGIN { print 60 / f }')}"
	db_bytes >"$WORK/bytes0"
) &
taskset -apc "$CPU" "$HUB_PID" >/dev/null
# Every thread of it: nice is a thread's own.
if [ "$NICE" != 0 ]; then
	for t in "/proc/$HUB_PID/task/"*; do renice -n "$NICE" -p "${t##*/}" >/dev/null; done
fi
rc=0
fleet "$HUB_URL" --pid "$HUB_PID" >"$WORK/hub.tsv" || rc=$?
bytes1=$(db_bytes)
hub_stop
cat "$WORK/hub.tsv"
figure() { awk -F'\t' -v f="$1" '$1 == f { print $2 }' "$2"; }
# What the measured time and the drain added to the database (SQLite grows
# by pages: a short run with few events overstates it), per kiosk-day
# simulated.
awk -v b0="$(cat "$WORK/bytes0" 2>/dev/null || echo 0)" -v b1="$bytes1" \
	-v ev="$(figure 'events acknowledged' "$WORK/hub.tsv")" -v s="$RUN_S" -v n="$N" -v f="$FACTOR" '
	BEGIN {
		printf "database size after the warm-up\t%d\tbytes\n", b0
		printf "database growth in the measured time\t%d\tbytes\n", b1 - b0
		printf "database bytes per kiosk-day\t%.0f\tbytes\n", (b1 - b0) / (n * f * s / 86400) }'
grep -i 'error\|refus\|limit' "$HUB_DIR/hub.log" | sort | uniq -c | sort -rn | head -n 5 |
	sed 's/^/fleet: lokerhub logged: /' >&2 || true
printf 'load average at the start\t%s\tload\n' "$load0"
printf 'load average at the end\t%s\tload\n' "$(cut -d' ' -f1 /proc/loadavg)"
[ "$rc" -eq 0 ] || bench_fail "bench-fleet failed against lokerhub (exit $rc)"

if [ "${BENCH_FLEET_STATIC:-1}" != 0 ]; then
	command -v haproxy >/dev/null || bench_fail "no haproxy for the static comparison (BENCH_FLEET_STATIC=0 skips it)"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat "$HUB_DIR/ca/server.pem" "$HUB_DIR/ca/server.key" >"$WORK/static.pem"
	cat >"$WORK/haproxy.cfg" <<CFG
global
	maxconn $((N + 100))
	ulimit-n $(ulimit -n)
	# It counts two descriptors a connection, to a backend it has not:
	# a warning, not a failure, past half the limit.
	no strict-limits
	nbthread 1
defaults
	mode http
	timeout client 300s
	timeout http-keep-alive 300s
	timeout connect 5s
	timeout server 5s
frontend static
	bind 127.0.0.1:$port ssl crt $WORK/static.pem
	http-request return status 200 content-type application/json hdr Cache-Control no-store string "{\"results\":[]}"
CFG
	taskset -c "$CPU" nice -n "$NICE" haproxy -f "$WORK/haproxy.cfg" -db 2>"$WORK/haproxy.log" &
	HAPROXY_PID=$!
	sleep 1
	kill -0 "$HAPROXY_PID" || bench_fail "haproxy did not start: $(cat "$WORK/haproxy.log")"
	fleet "https://127.0.0.1:$port/locker-sync/v1" --pid "$HAPROXY_PID" --static >"$WORK/static.tsv" ||
		bench_fail "bench-fleet failed against haproxy"
	kill "$HAPROXY_PID"
	wait "$HAPROXY_PID" 2>/dev/null || true
	HAPROXY_PID=
	sed -n 's/^server CPU per request\t/static server CPU per request\t/p; s/^request p99\t/static server request p99\t/p' "$WORK/static.tsv"
	awk -v a="$(figure 'server CPU per request' "$WORK/hub.tsv")" \
		-v b="$(figure 'server CPU per request' "$WORK/static.tsv")" \
		'BEGIN { if (b > 0) printf "CPU per request, lokerhub to static\t%.2f\tx\n", a / b }'
fi
