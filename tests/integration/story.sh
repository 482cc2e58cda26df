#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole pickup story through lokerctl against the real lokerd binary:
# add a hold, staff load, patron tap, door open, door close; the outbox
# holds hold_loaded and hold_picked_up with the right hold and locker.
. "$(dirname "$0")/lib.sh"

# 5 s to see a door open after its unlock: on a busy machine the lokerctl
# calls between an unlock and its door can take more than a second.
kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
# until JQ-FILTER holds for the status (300 tries, 0.1 s apart).
until_status() {
	for _ in $(seq 300); do
		jq -e "$1" >/dev/null <<<"$(ctl --json status)" && return 0
		sleep 0.1
	done
	fail "status never had $1: $(ctl --json status)"
}
kiosk_start "$WORK"

ctl staff add card:S-1 --pin 1357 >/dev/null
ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 --name Siti \
	--item "B1=Laskar Pelangi" >/dev/null
ctl holds add H-2 --credential uid:04A1B2C3D4E5F6 --size medium >/dev/null
ctl holds add H-3 --credential card:M-9 --size large >/dev/null

echo "bad input is refused with a clear error and exit status 1"
rc=0; out=$(ctl load H-404 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "no hold H-404" <<<"$out" || fail "load H-404: rc $rc: $out"
rc=0; out=$(ctl holds add H-1 --credential card:X 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "exists already" <<<"$out" || fail "duplicate hold: rc $rc: $out"
rc=0; out=$(ctl holds add H-9 --credential nonsense 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "bad credential" <<<"$out" || fail "bad credential: rc $rc: $out"
rc=0; out=$(ctl open 99 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "a number from 1 to 12" <<<"$out" || fail "open 99: rc $rc: $out"
rc=0; out=$(ctl load H-1 --locker 200 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "a number from 1 to 12" <<<"$out" || fail "load --locker 200: rc $rc: $out"
rc=0; out=$(ctl holds add H-8 --name Ani 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "needs patron credentials" <<<"$out" || fail "hold without credentials: rc $rc: $out"
rc=0; ctl frobnicate >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "usage error: rc $rc"
rc=0; out=$(ctl load --session H-1 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "no staff session" <<<"$out" || fail "load --session alone: rc $rc: $out"

echo "a staff card needs its PIN; a wrong PIN is refused"
r=$(ctl --json sim tap card:S-1)
expect '.screen.name=="staff_pin"' "$r"
r=$(ctl --json sim pin 0000)
expect '.screen.name=="wrong_pin" and .screen.attempts_left==2' "$r"
r=$(ctl --json sim pin 1357)
expect '.screen.name=="staff_menu"' "$r"

echo "staff load: smallest fitting free locker, relocked until the door is seen"
r=$(ctl --json load --session H-1); expect '.unlocked==[1]' "$r"
r=$(ctl --json load H-2); expect '.unlocked==[7]' "$r"
r=$(ctl --json load H-3); expect '.unlocked==[10]' "$r"
for l in 1 7 10; do
	ctl sim door $l open >/dev/null
	ctl sim door $l close >/dev/null
done
r=$(ctl --json status)
expect '.lockers[0].hold=="H-1" and .lockers[6].hold=="H-2" and .lockers[9].hold=="H-3"' "$r"
# The 500 ms pulses end by themselves.
until_status '[.lockers[] | select(.lock_energised)] | length == 0'
r=$(ctl --json events --limit 100)
for pair in H-1:1 H-2:7 H-3:10; do
	h=${pair%:*} l=${pair#*:}
	expect "[.events[] | select(.type==\"hold_loaded\" and .payload.hold_id==\"$h\" and .payload.locker==$l)] | length == 1" "$r"
done
# The session's load is the staff member's; the others the service's.
expect '[.events[] | select(.type=="hold_loaded") | .payload.actor | .[0:6]] == ["staff:", "servic", "servic"]' "$r"
echo "loading refuses an occupied locker"
ctl holds add H-4 --credential card:M-10 >/dev/null
rc=0; out=$(ctl load H-4 --locker 1 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "EBUSY" <<<"$out" || fail "load into occupied locker: rc $rc: $out"
ctl sim cancel >/dev/null

echo "an unknown card is told so, and nothing opens"
r=$(ctl --json sim tap uid:DEADBEEF)
expect '.screen.name=="unknown_card" and .unlocked==[]' "$r"

echo "the patron taps: both her lockers open; the pickup is recorded at door-open"
r=$(ctl --json sim tap uid:04:a1:b2:c3:d4:e5:f6)
expect '.screen.name=="lockers_open" and (.unlocked|sort)==[1,7]' "$r"
ctl sim door 1 open >/dev/null
r=$(ctl --json events --limit 100)
expect '[.events[] | select(.type=="hold_picked_up" and .payload.hold_id=="H-1" and .payload.locker==1)] | length == 1' "$r"
expect '[.events[] | select(.type=="hold_picked_up" and .payload.hold_id=="H-1")][0].payload.items[0].barcode=="B1"' "$r"
ctl sim door 7 open >/dev/null
ctl sim door 1 close >/dev/null
r=$(ctl --json sim door 7 close)
expect '.screen.name=="thank_you"' "$r"
r=$(ctl --json holds)
expect '[.holds[] | select(.id=="H-1" or .id=="H-2") | .state] == ["picked_up","picked_up"]' "$r"

echo "every unlock was recorded before it happened"
r=$(ctl --json events --limit 100)
expect '[.events[] | select(.type=="locker_unlocked")] | length == 5' "$r"

echo "a door that never opens is retried once, then reported; the hold stays"
r=$(ctl --json sim tap card:M-9)
expect '.unlocked==[10]' "$r"
# Two confirm timeouts of 5 s.
until_status '.lockers[9].fault=="not_opened"'
r=$(ctl --json status)
expect '.lockers[9].fault=="not_opened" and .lockers[9].hold=="H-3"' "$r"
expect '.lockers[9].lock_pulses == 3' "$r"

echo "the outbox survives a restart and the database is intact"
before=$(ctl --json events --limit 1000 | jq -c '[.events[].uuid]')
kiosk_stop
grep -q "every lock is de-energised" "$WORK/lokerd.log" || fail "no clean stop"
kiosk_start "$WORK"
after=$(ctl --json events --limit 1000 | jq -c '[.events[].uuid]')
[ "$before" = "$after" ] || fail "events changed across a restart"
r=$(ctl --json check)
expect '.integrity=="ok"' "$r"

echo "a load cut short by a stop faults its locker until staff enable it"
r=$(ctl --json load H-4); l=$(jq '.unlocked[0]' <<<"$r")
kiosk_stop
kiosk_start "$WORK"
r=$(ctl --json status)
expect ".lockers[$((l - 1))].fault == \"interrupted\" and .lockers[$((l - 1))].hold == null" "$r"
r=$(ctl --json events)
expect ".events[-1].type == \"locker_fault\" and .events[-1].payload.fault == \"interrupted\" and .events[-1].payload.locker == $l" "$r"
r=$(ctl --json load H-4)
expect ".unlocked != [$l]" "$r"
ctl enable "$l" >/dev/null
r=$(ctl --json status)
expect ".lockers[$((l - 1))].fault == \"none\"" "$r"
kiosk_stop
echo "integration story: ok"
