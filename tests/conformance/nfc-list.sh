#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Debian's unmodified libnfc tools against pn532-sim: nfc-list finds the
# emulated PN532, lists no card, a 7-byte and a 4-byte card, again after
# removal, ten times in a row, and once with --realistic-timing; nfc-poll
# (when installed) sees a card tapped while it polls and its removal;
# the simulator's faults (garble, drop, hang) fail libnfc as they should.
# Usage: nfc-list.sh PATH/TO/pn532-sim
set -euo pipefail

SIM=${1:?usage: nfc-list.sh PATH/TO/pn532-sim}
# Every wait of this script ends within this many seconds.
STEP_TIMEOUT=10

if ! command -v nfc-list >/dev/null; then
	echo "nfc-list not found (Debian package libnfc-bin): skipped"
	exit 77
fi

WORK=$(mktemp -d /tmp/lokerbuku-pn532.XXXXXX)
LINK=$WORK/pn532
CTL=$WORK/control.sock
SIM_PID=
POLL_PID=

cleanup() {
	local rc=$? pid
	for pid in $POLL_PID $SIM_PID; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ $rc -ne 0 ]; then
		for f in sim.err list.out list.err poll.out poll.err; do
			[ -s "$WORK/$f" ] || continue
			echo "--- $f (last 20 lines):" >&2
			tail -n 20 "$WORK/$f" >&2
		done
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
# Signals end the script through exit, so that cleanup runs then too.
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# Only the emulated reader: no USB scan that could find a real one.
unset LIBNFC_LOG_LEVEL
export LIBNFC_DEVICE=pn532_uart:$LINK LIBNFC_AUTO_SCAN=false

# start_sim [OPTIONS]: starts the simulator, waits for "ready".
start_sim() {
	local pty word
	exec {SIM_OUT}< <(exec "$SIM" --link "$LINK" --control "$CTL" "$@" \
		2>"$WORK/sim.err")
	SIM_PID=$!
	read -r -t "$STEP_TIMEOUT" -u "$SIM_OUT" pty ||
		fail "pn532-sim did not print its pty path (waited ${STEP_TIMEOUT} s)"
	read -r -t "$STEP_TIMEOUT" -u "$SIM_OUT" word && [ "$word" = ready ] ||
		fail "pn532-sim did not say ready (waited ${STEP_TIMEOUT} s)"
	[ "$(readlink "$LINK")" = "$pty" ] || fail "$LINK does not point at $pty"
}

# stop_sim: SIGTERM; it must exit 0 and take its link and socket along.
stop_sim() {
	local rc=0 i
	kill -TERM "$SIM_PID"
	for i in $(seq $((STEP_TIMEOUT * 10))); do
		kill -0 "$SIM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$SIM_PID" 2>/dev/null &&
		fail "pn532-sim still runs ${STEP_TIMEOUT} s after SIGTERM"
	wait "$SIM_PID" || rc=$?
	SIM_PID=
	exec {SIM_OUT}<&-
	[ $rc -eq 0 ] || fail "pn532-sim exited with $rc on SIGTERM"
	[ ! -e "$LINK" ] && [ ! -L "$LINK" ] || fail "SIGTERM left $LINK behind"
	[ ! -e "$CTL" ] || fail "SIGTERM left $CTL behind"
	[ ! -s "$WORK/sim.err" ] || fail "pn532-sim complained: $(cat "$WORK/sim.err")"
}

ctl() {
	timeout "$STEP_TIMEOUT" "$SIM" --control "$CTL" "$@" >/dev/null ||
		fail "pn532-sim --control $CTL $*: refused"
}

# list: runs nfc-list; its output in $WORK/list.out, its time in LIST_MS.
list() {
	local start rc=0
	start=$(now_ms)
	timeout "$STEP_TIMEOUT" nfc-list >"$WORK/list.out" 2>"$WORK/list.err" ||
		rc=$?
	LIST_MS=$(($(now_ms) - start))
	[ $rc -eq 0 ] || fail "nfc-list exited with $rc"
	grep -q '^NFC device: .* opened$' "$WORK/list.out" ||
		fail "nfc-list did not open the device"
	# libnfc logs protocol trouble (bad replies, timeouts) as errors.
	! grep -qi error "$WORK/list.err" || fail "nfc-list: $(cat "$WORK/list.err")"
}

expect_no_target() {
	! grep -q 'target(s) found' "$WORK/list.out" ||
		fail "nfc-list found a target with no card: $(cat "$WORK/list.out")"
}

# expect_card UID_HEX ATQA SAK, as nfc-list prints them: "04  a1  b2".
expect_card() {
	local uid atqa=$2 sak=$3
	uid=$(echo "$1" | tr 'A-F' 'a-f' | sed 's/../&  /g; s/  $//')
	grep -q '^1 ISO14443A passive target(s) found:$' "$WORK/list.out" ||
		fail "nfc-list did not find 1 ISO14443A target: $(cat "$WORK/list.out")"
	grep -qF "UID (NFCID1): $uid" "$WORK/list.out" ||
		fail "nfc-list did not print UID $uid: $(cat "$WORK/list.out")"
	grep -qF "ATQA (SENS_RES): $atqa" "$WORK/list.out" ||
		fail "nfc-list did not print ATQA $atqa"
	grep -qF "SAK (SEL_RES): $sak" "$WORK/list.out" ||
		fail "nfc-list did not print SAK $sak"
	[ "$(grep -c 'target(s) found' "$WORK/list.out")" -eq 1 ] ||
		fail "nfc-list found other targets: $(cat "$WORK/list.out")"
}

start_sim

echo "the emulated reader is a PN532 v1.6"
out=$(timeout "$STEP_TIMEOUT" nfc-scan-device -v 2>&1) ||
	fail "nfc-scan-device failed: $out"
grep -q '^chip: PN532 v1\.6$' <<<"$out" || fail "nfc-scan-device: $out"

echo "nfc-list opens it and finds no target without a card"
list
expect_no_target
fast_empty_ms=$LIST_MS

echo "nfc-list finds a 7-byte UID card (NTAG/Ultralight)"
ctl tap 04A1B2C3D4E5F6
list
expect_card 04A1B2C3D4E5F6 "00  44" "00"

echo "nfc-list finds a 4-byte UID card (MIFARE Classic 1K)"
ctl tap DEADBEEF
list
expect_card DEADBEEF "00  04" "08"

echo "nfc-list finds nothing once the card is removed"
ctl remove
list
expect_no_target

echo "nfc-list works 10 times in a row"
ctl tap 04A1B2C3D4E5F6
total=0 min=
for i in $(seq 10); do
	list
	expect_card 04A1B2C3D4E5F6 "00  44" "00"
	total=$((total + LIST_MS))
	[ -n "$min" ] && [ "$min" -le "$LIST_MS" ] || min=$LIST_MS
done
fast_avg_ms=$((total / 10))
fast_min_ms=$min
ctl remove

if command -v nfc-poll >/dev/null; then
	echo "nfc-poll sees a card tapped while it polls, then its removal"
	timeout "$STEP_TIMEOUT" nfc-poll >"$WORK/poll.out" 2>"$WORK/poll.err" &
	POLL_PID=$!
	for i in $(seq $((STEP_TIMEOUT * 50))); do
		"$SIM" --control "$CTL" status | grep -q 'waiting=InAutoPoll' && break
		kill -0 "$POLL_PID" 2>/dev/null || fail "nfc-poll ended before polling"
		sleep 0.02
	done
	ctl tap 04A1B2C3D4E5F6
	for i in $(seq $((STEP_TIMEOUT * 50))); do
		grep -q 'Waiting for card removing' "$WORK/poll.out" && break
		kill -0 "$POLL_PID" 2>/dev/null || fail "nfc-poll ended without a card"
		sleep 0.02
	done
	ctl remove
	rc=0
	wait "$POLL_PID" || rc=$?
	POLL_PID=
	[ $rc -eq 0 ] || fail "nfc-poll exited with $rc"
	grep -qF "UID (NFCID1): 04  a1  b2  c3  d4  e5  f6" "$WORK/poll.out" ||
		fail "nfc-poll did not print the UID: $(cat "$WORK/poll.out")"
	grep -q 'done\.$' "$WORK/poll.out" ||
		fail "nfc-poll did not see the removal: $(cat "$WORK/poll.out")"
else
	echo "nfc-poll not installed (Debian package libnfc-examples): not run"
fi

out=$("$SIM" --control "$CTL" status)
grep -q 'bad_frames=0 unsupported=0' <<<"$out" ||
	fail "libnfc sent frames the simulator did not understand: $out"
stop_sim

# list_fails WHAT: nfc-list must fail to open the reader, within the step
# (it says so, but exits 0 all the same).
list_fails() {
	local rc=0
	timeout "$STEP_TIMEOUT" nfc-list >"$WORK/list.out" 2>"$WORK/list.err" || rc=$?
	[ $rc -ne 124 ] || fail "$1: nfc-list still ran after ${STEP_TIMEOUT} s"
	grep -q 'Unable to open NFC device' "$WORK/list.err" ||
		fail "$1: nfc-list did not fail to open: $(cat "$WORK/list.err")"
}
# sim_says FIELD=VALUE: pn532-sim's status line has it.
sim_says() {
	"$SIM" --control "$CTL" status | grep -q " $1\( \|$\)" ||
		fail "pn532-sim status lacks $1: $("$SIM" --control "$CTL" status)"
}

echo "faults: a garbled reply, a lost command, a hung chip, as libnfc sees them"
start_sim
ctl tap 04A1B2C3D4E5F6
ctl garble 1
list_fails "a garbled reply"
grep -q 'Data checksum mismatch' "$WORK/list.err" ||
	fail "libnfc did not see the broken checksum: $(cat "$WORK/list.err")"
sim_says garbled=1
ctl drop 1
list_fails "a lost command"
sim_says dropped=1
ctl hang
list_fails "a hung chip"
sim_says hung=yes
ctl answer
list
expect_card 04A1B2C3D4E5F6 "00  44" "00"
ctl fault none
stop_sim

echo "with --realistic-timing nfc-list still finds the card"
start_sim --realistic-timing
ctl tap 04A1B2C3D4E5F6
list
expect_card 04A1B2C3D4E5F6 "00  44" "00"
real_ms=$LIST_MS
stop_sim

echo "nfc-list took ${fast_empty_ms} ms without a card and ${fast_avg_ms} ms" \
	"on average (${fast_min_ms} ms at best) with a card, as fast as the pty" \
	"goes; ${real_ms} ms with a card at 115200 baud (--realistic-timing)"
echo "PASS"
