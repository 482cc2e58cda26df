#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerd with the real libnfc reader backend, talking to pn532-sim over a
# pseudo-terminal through libnfc's own pn532_uart driver: a tap on the
# emulator unlocks the patron's locker; a reader that goes away is
# reported once and picked up again when it is back.
. "$(dirname "$0")/lib.sh"
: "${PN532_SIM:?PN532_SIM must name the pn532-sim binary}"

sim_start() {
	"$PN532_SIM" --link "$WORK/pn532" --control "$WORK/pn532.sock" \
		>"$WORK/pn532.out" 2>>"$WORK/pn532.log" &
	SIM_PID=$!
	for i in $(seq 100); do
		grep -q '^ready' "$WORK/pn532.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "pn532-sim did not get ready"
}
sim() { "$PN532_SIM" --control "$WORK/pn532.sock" "$@" >/dev/null; }
CLEANUP_HOOK=sim_stop

# Polls lokerctl status until the jq filter holds (3 s at most).
wait_for() {
	for i in $(seq 60); do
		ctl --json status | jq -e "$1" >/dev/null && return 0
		sleep 0.05
	done
	fail "waited in vain for $1: $(ctl --json status |
		jq -c '{screen, reader, lockers: [.lockers[0:2][] | {lock_pulses, door, state}]}')"
}

sim_start
kiosk_write_config "$WORK" "
[reader]
backend = nfc
connstring = pn532_uart:$WORK/pn532
poll_ms = 20"
# The reader section above comes after [lockbank] backend = sim: fine.
kiosk_start "$WORK"
wait_for '.reader.backend == "nfc" and .reader.ok'

ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 >/dev/null
ctl holds add H-2 --credential uid:04A1B2C3D4E5F6 >/dev/null
r=$(ctl --json load H-1); l1=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$l1" open >/dev/null; ctl sim door "$l1" close >/dev/null
r=$(ctl --json load H-2); l2=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$l2" open >/dev/null; ctl sim door "$l2" close >/dev/null

echo "a 7-byte card on the emulated PN532 opens the patron's lockers"
sim tap 04A1B2C3D4E5F6
wait_for ".screen.name == \"lockers_open\" and .screen.lockers == [$l1, $l2]"
sim remove
ctl sim door "$l1" open >/dev/null
ctl sim door "$l1" close >/dev/null
ctl sim door "$l2" open >/dev/null
ctl sim door "$l2" close >/dev/null
r=$(ctl --json events --limit 100)
expect '[.events[] | select(.type == "hold_picked_up")] | length == 2' "$r"

echo "an unknown 4-byte card is read and refused"
sim tap DEADBEEF
wait_for '.screen.name == "unknown_card"'
sim remove

echo "the reader goes away: reported once, lokerd keeps running"
kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true
wait_for '.reader.ok == false'
sleep 1
n=$(grep -c "card reader pn532_uart:.*: " "$WORK/lokerd.log" || true)
[ "$n" -eq 1 ] || fail "the reader fault was logged $n times, not once"

echo "it comes back: picked up again without a restart; a return opens"
sim_start
wait_for '.reader.ok'
n=$(grep -c "card reader pn532_uart:.*: answering again" "$WORK/lokerd.log" || true)
[ "$n" -eq 1 ] || fail "the recovery was logged $n times, not once"
ctl sim return >/dev/null
# Another card: DEADBEEF may still count as lying on the reader, since the
# reader went away before two answered polls could see it lifted.
sim tap CAFEBABE
wait_for '.screen.name == "return_open"'

kiosk_stop || fail "lokerd exited with an error"
echo "integration nfc: ok"
