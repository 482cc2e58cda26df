# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the benchmarks: a kiosk set up for timing taps, pn532-sim, the
# tap driver, percentiles and /proc readings. Source it after kiosk.sh,
# with BIN, LOKERBUKU_TOP and WORK set.

# Lockers the tap driver cycles through: every hold locker of a 48-locker
# bank (7-9 medium and 10 large take small holds too; 11-12 are returns).
BENCH_LOCKERS=1-10,13-48
# A 100 ms pulse (cabinet spring solenoids; 500 ms is the default) only
# lets a locker come round again sooner: the tap is timed to its start.
BENCH_PULSE_MS=100

bench_fail() {
	echo "${BENCH_NAME:-bench}: FAIL: $*" >&2
	exit 1
}

# bench_kiosk_config DIR [EXTRA INI TEXT]: kiosk_write_config with 48
# lockers and BENCH_PULSE_MS pulses.
bench_kiosk_config() {
	kiosk_write_config "$@"
	sed -i "s/^count = 12$/count = 48/; s/^pulse_ms = 500$/pulse_ms = $BENCH_PULSE_MS/" \
		"$1/lokerd.conf"
}

# pn532_start DIR [OPTIONS]: pn532-sim with its link DIR/pn532 and control
# socket DIR/pn532.sock; sets PN532_PID.
pn532_start() {
	local dir=$1 i
	shift
	"$BIN/pn532-sim" --link "$dir/pn532" --control "$dir/pn532.sock" "$@" \
		>"$dir/pn532.out" 2>>"$dir/pn532.log" &
	PN532_PID=$!
	for i in $(seq 100); do
		grep -q '^ready' "$dir/pn532.out" 2>/dev/null && return 0
		sleep 0.05
	done
	bench_fail "pn532-sim did not get ready"
}

pn532_stop() {
	[ -n "${PN532_PID:-}" ] || return 0
	kill -TERM "$PN532_PID" 2>/dev/null || true
	wait "$PN532_PID" 2>/dev/null || true
	PN532_PID=
}

# pn532_wait_polled DIR: until a reader has switched the field on and polls.
pn532_wait_polled() {
	local i
	for i in $(seq 100); do
		"$BIN/pn532-sim" --control "$1/pn532.sock" status 2>/dev/null |
			grep -q 'field=on' && return 0
		sleep 0.05
	done
	bench_fail "no reader polls pn532-sim"
}

# tapdrive DIR ARGS...: tests/bench/tapdrive.py on the kiosk in DIR.
tapdrive() {
	local dir=$1
	shift
	python3 "$LOKERBUKU_TOP/tests/bench/tapdrive.py" --control "$dir/control.sock" \
		--db "$dir/lokerd.db" --pulse-log "$dir/pulses.log" \
		--lockers "$BENCH_LOCKERS" --pulse-ms "$BENCH_PULSE_MS" "$@"
}

# percentiles FILE LABEL: p50, p95, p99 and max of the nanoseconds in FILE
# (one a line) as figure lines in ms, LABEL first.
percentiles() {
	sort -n "$1" | awk -v label="$2" '
		{ v[NR] = $1 }
		function p(q,  i) { i = int(q * NR + 0.999999); if (i < 1) i = 1; return v[i] / 1e6 }
		END {
			printf "%s taps\t%d\ttaps\n", label, NR
			printf "%s p50\t%.3f\tms\n", label, p(0.50)
			printf "%s p95\t%.3f\tms\n", label, p(0.95)
			printf "%s p99\t%.3f\tms\n", label, p(0.99)
			printf "%s max\t%.3f\tms\n", label, v[NR] / 1e6
		}'
}

# p50_ms FILE: the median of the nanoseconds in FILE, in ms.
p50_ms() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.3f", v[int(0.5 * NR + 0.999999)] / 1e6 }'
}

# kib PID FIELD: a field of /proc/PID/smaps_rollup ("Rss", "Pss") in KiB.
kib() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/smaps_rollup"
}

# CPU seconds (user + system) of a process so far.
cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"
}
