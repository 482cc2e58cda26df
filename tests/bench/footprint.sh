#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What lokerd costs the board it shares with a browser:
# - the stripped binary's size;
# - process start to READY=1: lokerd is run BENCH_STARTS (10) times with
#   NOTIFY_SOCKET naming a datagram socket this script listens on, timed
#   from just before the fork to the datagram, on CLOCK_MONOTONIC (the
#   first start creates the database, the others open it);
# - resident memory (RSS, and PSS, which shares out the libraries) from
#   /proc/PID/smaps_rollup: idle, after a tenth of BENCH_VOLUME_TAPS
#   (100,000) pickups through the simulated reader and after all of them, with the database on tmpfs
#   (/dev/shm) so the volume takes minutes, not tens of them; memory does
#   not depend on the disk;
# - idle CPU over BENCH_IDLE_S (10) seconds with the libnfc reader on
#   pn532-sim (--realistic-timing) at the default settings: the PN532
#   waits for a card itself (InAutoPoll, 600 ms at a time).
# Fails when a start never says READY=1, a pickup is not checked
# (tests/bench/tapdrive.py), or the reader did not poll while idle.
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}"
N=${BENCH_VOLUME_TAPS:-100000}
STARTS=${BENCH_STARTS:-10}
IDLE_S=${BENCH_IDLE_S:-10}
BENCH_NAME=footprint
# shellcheck source=tools/lib/kiosk.sh
. "$LOKERBUKU_TOP/tools/lib/kiosk.sh"
# shellcheck source=tests/bench/lib.bash
. "$LOKERBUKU_TOP/tests/bench/lib.bash"

WORK=$(mktemp -d /tmp/lokerbuku-bench.XXXXXX)
SHM=$(mktemp -d /dev/shm/lokerbuku-bench.XXXXXX)
trap 'kiosk_stop >/dev/null 2>&1 || true; pn532_stop; rm -rf "$WORK" "$SHM"' EXIT
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

strip -o "$WORK/lokerd.stripped" "$BIN/lokerd"
printf 'lokerd binary, stripped\t%.0f\tKiB\n' "$(($(stat -c %s "$WORK/lokerd.stripped") / 1024))"

echo "footprint: $STARTS starts to READY=1" >&2
kiosk_write_config "$WORK/ready"
python3 - "$BIN/lokerd" "$WORK/ready" "$STARTS" <<'PY' >"$WORK/ready.ns"
import os, signal, socket, subprocess, sys, time
lokerd, d, starts = sys.argv[1], sys.argv[2], int(sys.argv[3])
path = os.path.join(d, "notify.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(10)
log = open(os.path.join(d, "lokerd.log"), "ab")
for i in range(starts):
    t0 = time.monotonic_ns()
    p = subprocess.Popen([lokerd, "-c", os.path.join(d, "lokerd.conf")],
                         env=dict(os.environ, NOTIFY_SOCKET=path), stderr=log)
    try:
        while b"READY=1" not in s.recv(4096):
            pass
    except socket.timeout:
        sys.exit(f"footprint: FAIL: start {i + 1} sent no READY=1 in 10 s")
    print(time.monotonic_ns() - t0)
    p.send_signal(signal.SIGTERM)
    if p.wait(10) != 0:
        sys.exit(f"footprint: FAIL: lokerd exited with {p.returncode}")
PY
head -n 1 "$WORK/ready.ns" | awk '{ printf "start to READY, new database\t%.1f\tms\n", $1 / 1e6 }'
tail -n +2 "$WORK/ready.ns" | sort -n | awk '{ v[NR] = $1 } END {
	printf "start to READY, median\t%.1f\tms\n", v[int(0.5 * NR + 0.999999)] / 1e6
	printf "start to READY, max\t%.1f\tms\n", v[NR] / 1e6 }'

dir=$SHM/volume
bench_kiosk_config "$dir"
LOKERBUKU_SIM_PULSE_LOG=$dir/pulses.log kiosk_start "$dir" >&2
sleep 1
rss0=$(kib "$KIOSK_PID" Rss)
pss0=$(kib "$KIOSK_PID" Pss)
# The first tenth fills what is bounded (SQLite's page cache, the WAL
# index, malloc's arenas); growth over the other nine tenths would be a
# leak.
echo "footprint: $N pickups on the simulated reader" >&2
tapdrive "$dir" --reader sim --volume --taps $((N / 10)) --prefix V
rss1=$(kib "$KIOSK_PID" Rss)
tapdrive "$dir" --reader sim --volume --taps $((N - N / 10)) --prefix W
rss=$(kib "$KIOSK_PID" Rss)
pss=$(kib "$KIOSK_PID" Pss)
kiosk_stop
# What the disk holds per event, for sizing [outbox] max_unsent: nothing
# was sent, so every event is still there (the WAL is checkpointed at stop).
events=$(sqlite3 "$dir/lokerd.db" 'SELECT count(*) FROM outbox')
db_bytes=$(stat -c %s "$dir/lokerd.db")
printf 'RSS idle, sim reader\t%s\tMiB\n' "$(mib "$rss0")"
printf 'PSS idle, sim reader\t%s\tMiB\n' "$(mib "$pss0")"
printf 'RSS after %d taps\t%s\tMiB\n' $((N / 10)) "$(mib "$rss1")"
printf 'RSS after %d taps\t%s\tMiB\n' "$N" "$(mib "$rss")"
printf 'PSS after %d taps\t%s\tMiB\n' "$N" "$(mib "$pss")"
printf 'RSS growth over the last %d taps\t%s\tMiB\n' $((N - N / 10)) "$(mib $((rss - rss1)))"
printf 'database after %d taps (%d events, none sent)\t%s\tMiB\n' "$N" "$events" "$(mib $((db_bytes / 1024)))"
printf 'database per unsent event\t%d\tbytes\n' $((db_bytes / events))

for poll_ms in default; do
	dir=$WORK/idle-$poll_ms
	mkdir -p "$dir"
	pn532_start "$dir" --realistic-timing
	bench_kiosk_config "$dir" "
[reader]
backend = nfc
connstring = pn532_uart:$dir/pn532"
	kiosk_start "$dir" >&2
	pn532_wait_polled "$dir"
	sleep 1
	frames() { "$BIN/pn532-sim" --control "$dir/pn532.sock" status | sed -n 's/.* frames=\([0-9]*\).*/\1/p'; }
	echo "footprint: idle for $IDLE_S s, the reader at its $poll_ms settings" >&2
	f0=$(frames)
	c0=$(cpu_s "$KIOSK_PID")
	sleep "$IDLE_S"
	c1=$(cpu_s "$KIOSK_PID")
	f1=$(frames)
	# One InAutoPoll at least every 600 ms: one frame a second is proof
	# enough that the reader was asking all along.
	[ $((f1 - f0)) -ge "$IDLE_S" ] ||
		bench_fail "only $((f1 - f0)) PN532 frames in $IDLE_S s idle"
	if [ "$poll_ms" = default ]; then
		printf 'RSS idle, libnfc reader\t%s\tMiB\n' "$(mib "$(kib "$KIOSK_PID" Rss)")"
		printf 'PSS idle, libnfc reader\t%s\tMiB\n' "$(mib "$(kib "$KIOSK_PID" Pss)")"
	fi
	kiosk_stop
	pn532_stop
	awk -v a="$c0" -v b="$c1" -v s="$IDLE_S" -v p="$poll_ms" \
		'BEGIN { printf "idle CPU, libnfc reader at its %s settings\t%.2f\t%% of a core\n", p, (b - a) / s * 100 }'
done
