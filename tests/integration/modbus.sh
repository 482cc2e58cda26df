#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerd with [lockbank] backend = modbus, talking through libmodbus to
# tools/modbus-sim: a Modbus RTU relay/input board simulated on a
# pseudo-terminal by libmodbus's own server side. A board silent or an
# adapter missing at start stops lokerd in one line; a coil a restart left on
# is switched off at start; an unlock is a coil switched on and, pulse_ms
# later, off; door inputs changed on the board reach lokerd's state and
# events (an opening, one left open, a forced one, an item; a door that
# never opens is pulsed again, then faulted); a board that stops answering
# is said once, refuses unlocks, and is said once again when it answers,
# the door it missed then seen; an adapter pulled out and put back is
# opened again; at exit every coil is off. Times are the simulator's own
# CLOCK_MONOTONIC stamps of the requests, so load cannot shorten a pulse.
. "$(dirname "$0")/lib.sh"
: "${MODBUS_SIM:?MODBUS_SIM must name the modbus-sim binary}"

SLAVE=7
# sim_start: a board at $WORK/rs485; its commands go to fd 3, which
# closing ends it (the adapter pulled out).
sim_start() {
	local n i
	touch "$WORK/board.out"
	n=$(grep -c '^ready' "$WORK/board.out" || true)
	rm -f "$WORK/board.in"
	mkfifo "$WORK/board.in"
	# Doors closed: a dry-contact input is on while the reed switch is.
	"$MODBUS_SIM" --link "$WORK/rs485" --slave $SLAVE --coils 8 --inputs 8 \
		--input-on 0 --input-on 1 --input-on 2 --input-on 3 \
		<"$WORK/board.in" >>"$WORK/board.out" 2>>"$WORK/board.log" &
	SIM_PID=$!
	exec 3>"$WORK/board.in"
	for i in $(seq 200); do
		[ "$(grep -c '^ready' "$WORK/board.out")" -gt "$n" ] && return 0
		sleep 0.05
	done
	fail "modbus-sim did not get ready"
}
# board COMMAND: sends it, waits until the simulator took it.
board() {
	local n i
	n=$(grep -cxF "ok $*" "$WORK/board.out" || true)
	echo "$*" >&3
	for i in $(seq 200); do
		[ "$(grep -cxF "ok $*" "$WORK/board.out")" -gt "$n" ] && return 0
		sleep 0.05
	done
	fail "modbus-sim did not take: $*"
}
CLEANUP_HOOK=sim_stop

# Polls lokerctl status until the jq filter holds (20 s at most: a loaded
# machine, and a silent board is asked once a second).
wait_for() {
	local until=$((SECONDS + 20))
	while [ "$SECONDS" -le "$until" ]; do
		ctl --json status | jq -e "$1" >/dev/null && return 0
		sleep 0.05
	done
	fail "waited in vain for $1: $(ctl --json status |
		jq -c '{lockbank, faults, doors: [.lockers[].door]}')"
}
# log_count PATTERN [FROM_LINE]: lokerd's log lines matching, from a line.
log_count() {
	tail -n +"${2:-1}" "$WORK/lokerd.log" | grep -c -- "$1" || true
}
# lockbank_up: the value Prometheus would scrape.
lockbank_up() {
	curl -s "$(ctl --json status | jq -r .metrics.url)" |
		awk '$1 == "lokerbuku_lockbank_up" { print $2 }'
}
# coil_ns ADDR on|off N: the simulator's Nth such line's time, in ns.
coil_ns() {
	grep "^coil $1 $2 " "$WORK/board.out" | sed -n "${3}p" | cut -d' ' -f4
}

sim_start
board "coil 2 on"
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/site.key")
cat >"$WORK/lokerd.conf" <<CONF
[kiosk]
id = modbus-01
site_key_file = $WORK/site.key
database = $WORK/lokerd.db
control_socket = $WORK/control.sock

[policy]
pin_required = no

[doors]
confirm_timeout_ms = 3000
left_open_s = 5

[lockers]
count = 4
pulse_ms = 300

[locker.2]
pulse_ms = 800

[lockbank]
backend = modbus
device = $WORK/rs485
baud = 19200
parity = none
data_bits = 8
stop_bits = 1
slave = $SLAVE
poll_ms = 50
; the longest the loop may wait, as a machine loaded by other jobs may
; keep the simulator from answering sooner
timeout_ms = 200
door_active_low = yes

[reader]
backend = sim

[metrics]
listen = 127.0.0.1:0
CONF
for l in 1 2 3 4; do
	printf '\n[locker.%s]\nlock = %s\ndoor = %s\n' "$l" $((l - 1)) $((l - 1)) \
		>>"$WORK/lokerd.conf"
done
echo "item = 5" >>"$WORK/lokerd.conf"
"$BIN/lokerd" --check-config -c "$WORK/lokerd.conf" >/dev/null ||
	fail "the test's own configuration is refused"

echo "a board that does not answer at start stops lokerd in one line"
board silent
rc=0
"$BIN/lokerd" -c "$WORK/lokerd.conf" 2>"$WORK/start.log" 3>&- || rc=$?
[ "$rc" -ne 0 ] || fail "lokerd started on a silent board"
n=$(grep -c 'lock bank: ' "$WORK/start.log" || true)
grep -q "lock bank: modbus slave 7 on $WORK/rs485, 19200 baud 8N1: locker 1's coil 0 cannot be switched off: Connection timed out (check the A/B pair" \
	"$WORK/start.log" && [ "$n" -eq 1 ] || fail "not one line naming the board: $(cat "$WORK/start.log")"
board answer
sed "s#^device = .*#device = $WORK/no-such-adapter#" "$WORK/lokerd.conf" >"$WORK/missing.conf"
rc=0
"$BIN/lokerd" -c "$WORK/missing.conf" 2>"$WORK/start.log" 3>&- || rc=$?
[ "$rc" -ne 0 ] && grep -q "lock bank: modbus slave 7 on $WORK/no-such-adapter: No such file or directory" \
	"$WORK/start.log" || fail "a missing adapter not named: $(cat "$WORK/start.log")"

echo "at start every lock coil is switched off, the doors read closed"
# Not with the board's command pipe: its end is the test's alone.
kiosk_start "$WORK" 3>&-
wait_for '.lockbank == {"backend": "modbus", "ok": true} and
	([.lockers[].door] | all(. == "closed")) and .faults == []'
[ "$(lockbank_up)" = 1 ] || fail "lokerbuku_lockbank_up is $(lockbank_up) at start"
[ -n "$(coil_ns 2 off 1)" ] || fail "coil 2, left on by the board, was not switched off"

echo "an unlock is a coil on, then off pulse_ms later"
ctl open 2 >/dev/null
for i in $(seq 200); do
	[ -n "$(coil_ns 1 off 1)" ] && break
	sleep 0.05
done
on=$(coil_ns 1 on 1) off=$(coil_ns 1 off 1)
[ -n "$on" ] && [ -n "$off" ] || fail "no pulse on coil 1: $(cat "$WORK/board.out")"
ms=$(((off - on) / 1000000))
echo "  locker 2 (pulse_ms 800): coil 1 on for $ms ms, as the board saw it"
[ "$ms" -ge 800 ] || fail "the pulse was $ms ms, shorter than 800"
# Generous: the upper bound only catches a pulse that never ended in time.
[ "$ms" -le 5000 ] || fail "the pulse was $ms ms"

echo "the door input opening and closing reaches lokerd's state and events"
board "input 1 off"
wait_for '.lockers[1].door == "open" and .lockers[1].state == "open"'
# Left open past left_open_s: the alarm, as on GPIO lines.
wait_for '.lockers[1].alarm_left_open and
	(.faults | index("locker 2: left open") != null)'
board "input 1 on"
wait_for '.lockers[1].door == "closed" and .lockers[1].state == "closed"'
[ "$(log_count 'locker 2: door opened')" -eq 1 ] &&
	[ "$(log_count 'locker 2: door closed')" -eq 1 ] ||
	fail "locker 2's door was not logged opened and closed once each"

echo "a door opened without an unlock is forced open"
board "input 2 off"
wait_for '.lockers[2].alarm_forced_open and
	(.faults | index("locker 3: forced open") != null)'
r=$(ctl --json events --limit 100)
expect '[.events[] | select(.payload.locker == 3) | .type] == ["door_forced_open"]' "$r"
board "input 2 on"
wait_for '.lockers[2].door == "closed"'

echo "an item sensor on a discrete input"
wait_for '.lockers[3].item == false'
board "input 5 on"
wait_for '.lockers[3].item == true'

echo "the board stops answering: faulted, said once, unlocks refused"
from=$(($(wc -l <"$WORK/lokerd.log") + 1))
board silent
wait_for '.lockbank.ok == false and
	(.faults | map(select(startswith("lock bank: modbus slave 7 on ") and
		endswith(": not answering: Connection timed out"))) | length == 1)'
board "input 0 off"
expect '.unlocked == []' "$(ctl --json open 1)"
[ "$(log_count 'locker 1: unlock failed: Connection timed out' "$from")" -eq 1 ] ||
	fail "the failed unlock was not logged once"
sleep 2.5 # two more polls of the silent board
[ "$(log_count ': not answering: ' "$from")" -eq 1 ] ||
	fail "the silence was logged $(log_count ': not answering: ' "$from") times, not once"
[ -z "$(coil_ns 0 on 1)" ] || fail "coil 0 switched on by a refused unlock"
[ "$(lockbank_up)" = 0 ] || fail "lokerbuku_lockbank_up is $(lockbank_up) on a silent board"
expect '.lockers[0].door == "closed"' "$(ctl --json status)"

echo "it answers again: said once, the door opened meanwhile is seen"
board answer
wait_for '.lockbank.ok'
[ "$(lockbank_up)" = 1 ] || fail "lokerbuku_lockbank_up is $(lockbank_up) once the board answers"
wait_for '.lockers[0].door == "open" and .lockers[0].alarm_forced_open'
[ "$(log_count "modbus slave 7 on $WORK/rs485: answering again" "$from")" -eq 1 ] ||
	fail "the recovery was not logged once"
board "input 0 on"
wait_for '.lockers[0].door == "closed"'

echo "the adapter is pulled out and put back: opened again"
exec 3>&-
for i in $(seq 200); do
	kill -0 "$SIM_PID" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$SIM_PID" 2>/dev/null && fail "modbus-sim did not end with its input"
wait "$SIM_PID" 2>/dev/null || true
SIM_PID=
wait_for '.lockbank.ok == false'
sim_start
wait_for '.lockbank.ok'
# Its item input is off, as the new board came up: the item is gone.
wait_for '.lockers[3].item == false and .faults == []'
ctl open 3 >/dev/null
for i in $(seq 200); do
	[ -n "$(coil_ns 2 off 2)" ] && break
	sleep 0.05
done
[ -n "$(coil_ns 2 on 1)" ] && [ -n "$(coil_ns 2 off 2)" ] ||
	fail "no pulse through the board put back: $(tail -n 5 "$WORK/board.out")"
echo "a door that never opens: pulsed once more, then faulted not_opened"
wait_for '.lockers[2].fault == "not_opened" and
	(.faults | index("locker 3: not_opened") != null)'
n=$(grep -c '^coil 2 on ' "$WORK/board.out")
[ "$n" -eq 2 ] || fail "locker 3 was pulsed $n times, not twice"

echo "at exit every lock coil is off"
board "coil 3 on"
kiosk_stop || fail "lokerd exited with $?"
[ -n "$(coil_ns 3 off 1)" ] || fail "coil 3 was not switched off at exit"
echo "integration-modbus: pulses, doors, a silent board and a pulled adapter on a simulated Modbus RTU board"
