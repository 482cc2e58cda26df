#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kiosk never unlocks a door it cannot record unlocking: with the
# outbox at its bound, a patron's tap opens nothing, the kiosk says it is
# out of service, and the hold stays loaded for when recording works again.
# Past the headroom for facts, a disable is refused and undone in the core.
. "$(dirname "$0")/lib.sh"

kiosk_write_config "$WORK" "
[outbox]
max_unsent = 1000"
kiosk_start "$WORK"

ctl holds add H-1 --credential card:M-1 >/dev/null
ctl load H-1 >/dev/null
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null

# Fill the outbox to its bound: each disable or enable is one event.
backlog=$(ctl --json status | jq .backlog)
while [ "$backlog" -lt 1000 ]; do
	ctl disable 5 >/dev/null
	ctl enable 5 >/dev/null
	backlog=$((backlog + 2))
done
r=$(ctl --json status)
expect '.backlog == 1000 and .in_service and .lockers[0].lock_pulses == 1' "$r"

r=$(ctl --json sim tap card:M-1)
expect '.unlocked == []' "$r"
r=$(ctl --json status)
expect '.in_service == false and .lockers[0].lock_pulses == 1 and .lockers[0].hold == "H-1"' "$r"
expect '.faults | index("out of service: events cannot be recorded") != null' "$r"
grep -q "not recorded: locker_unlocked: outbox full" "$WORK/lokerd.log" ||
	fail "the refusal is not in the log"
r=$(ctl --json holds)
expect '.holds[0].state == "loaded"' "$r"

echo "a staff opening is refused too, and says why"
rc=0; out=$(ctl open 3 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "could not be recorded" <<<"$out" || fail "open 3: rc $rc: $out"

# The tap and the staff opening: one line for both, not one each.
n=$(grep -c "not recorded" "$WORK/lokerd.log" || true)
[ "$n" -eq 1 ] || fail "two refusals logged $n lines, not one"
echo "what already happened is still recorded past the bound"
ctl disable 5 >/dev/null || fail "disable past the bound"
r=$(ctl --json status)
expect '.lockers[4].disabled and .backlog == 1001 and .lockers[2].lock_pulses == 0' "$r"
echo "past the headroom a disable is refused, and the locker stays as it was"
n=$(for _ in $(seq 4999); do
	echo '{"cmd":"disable","locker":6}'
	echo '{"cmd":"enable","locker":6}'
done | socat -t 60 - "UNIX-CONNECT:$LOKERBUKU_SOCKET" | grep -c '"ok": *true')
[ "$n" -eq 9998 ] || fail "only $n of 9998 requests done"
ctl disable 6 >/dev/null
expect '.backlog == 11000' "$(ctl --json status)"
rc=0; out=$(ctl disable 7 2>&1) || rc=$?
[ $rc -eq 1 ] || fail "disable 7 past the headroom: rc $rc: $out"
r=$(ctl --json status)
expect '.lockers[6].disabled == false and .backlog == 11000' "$r"
grep -q "locker 7: left enabled, as it was" "$WORK/lokerd.log" ||
	fail "the undo is not in the log"
echo "integration outbox-full: ok"
