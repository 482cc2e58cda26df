#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Remote commands bounded and attributed, through the real lokerd and
# lokerhub: a server that asks to open 6 lockers at once gets 3 opened
# ([sync] open_commands_max, per open_commands_period_s), the rest refused
# as rate_limited and reported back; every command is recorded with the
# lokerhub user who asked (--by). The count survives a restart of lokerd.
. "$(dirname "$0")/lib.sh"
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"

all_done() {
	hub commands --json | jq -e '[.[] | select(.done_at == null)] | length == 0'
}

echo "a server asks to open lockers 1-6 at once, as staff user ani"
ids=()
for l in 1 2 3 4 5 6; do
	ids+=("$(hub command demo-01 open_locker --locker "$l" --by ani --reason "all at once")")
done
ctl sync >/dev/null
wait_for "every command done on the server" all_done
r=$(ctl --json status)
pulsed=$(jq '[.lockers[] | select(.lock_pulses > 0)] | length' <<<"$r")
echo "  lockers pulsed: $pulsed of 6"
[ "$pulsed" = 3 ] || fail "$pulsed lockers pulsed: $(jq -c '[.lockers[].lock_pulses]' <<<"$r")"

ev=$(ctl --json events --limit 1000)
opened=$(jq '[.events[] | select(.type == "locker_unlocked" and .payload.command != null
	and .payload.attempt == 1)] | length' <<<"$ev")
limited=$(jq '[.events[] | select(.type == "command_done" and .payload.result == "rate_limited")] | length' <<<"$ev")
echo "  opened: $opened, refused as rate_limited: $limited"
[ "$opened" = 3 ] && [ "$limited" = 3 ] || fail "opened $opened, rate_limited $limited"
expect '[.events[] | select(.payload.command != null) | .payload.actor] | unique == ["service:server,by=ani"]' "$ev"
echo "  every command's events name who asked: service:server,by=ani"

echo "the refusals reach the server"
ctl sync >/dev/null
got_refusals() {
	hub events --kiosk demo-01 --json |
		jq -e '[.[] | select(.type == "command_done" and .payload.result == "rate_limited")] | length == 3'
}
wait_for "3 rate_limited command_done on the server" got_refusals
hub commands --json | jq -e '[.[] | select(.by == "ani")] | length == 6' >/dev/null ||
	fail "lokerhub does not list who asked: $(hub commands --json)"
echo "  lokerhub has the 3 refusals, and lists ani for all 6 commands"

echo "a restart gives the bound back to no one: a 7th opening is refused after it"
kiosk_stop
kiosk_start "$WORK"
id7=$(hub command demo-01 open_locker --locker 7 --by ani --reason "after a restart")
ctl sync >/dev/null
wait_for "command 7 done on the server" all_done
r=$(ctl --json status)
expect '[.lockers[] | select(.number == 7)][0].lock_pulses == 0' "$r"
ev=$(ctl --json events --limit 1000)
expect "[.events[] | select(.type == \"command_done\" and .payload.command == \"$id7\")][0].payload.result == \"rate_limited\"" "$ev"
grep -q "3 remote openings in the last 600 s, from before the start" "$WORK/lokerd.log" ||
	fail "lokerd did not say it took the openings from before its start"
echo "  locker 7 stayed shut: rate_limited across the restart"
kiosk_stop
echo PASS
