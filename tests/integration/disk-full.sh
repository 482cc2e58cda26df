#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The disk under the database fills up (a small tmpfs, filled by hand).
# While an event can still be recorded, pickups open doors. Once it
# cannot, a tap opens nothing: the kiosk says it is out of service, in one
# log line however many patrons try; it never unlocks without a record.
# Space freed, the next tap opens the door and says once that the kiosk is
# back in service, and every event recorded before is still there, in an
# intact database.
. "$(dirname "$0")/lib.sh"

DISK=$WORK/disk
mkdir -p "$DISK"
if ! mount -t tmpfs -o size=2m,mode=0700 tmpfs "$DISK" 2>"$WORK/mount.err"; then
	echo "################################################################" >&2
	echo "## SKIPPED: cannot mount a tmpfs: $(cat "$WORK/mount.err")" >&2
	echo "## (the disk-full test needs root, or a user namespace with mount)" >&2
	echo "################################################################" >&2
	exit 77
fi
# lokerd holds the database open: it goes first.
unmount() {
	kiosk_stop >/dev/null 2>&1 || true
	umount "$DISK" 2>/dev/null || true
}
CLEANUP_HOOK=unmount

# fill FILE: writes FILE until the file system is full.
fill() {
	dd if=/dev/zero of="$1" bs=4k status=none 2>/dev/null || true
	[ "$(stat -f -c %a "$DISK")" -eq 0 ] || fail "$DISK is not full: $(df -h "$DISK" | tail -1)"
}
lines() { grep -c -- "$1" "$WORK/lokerd.log" || true; }
# pick N LOCKER: the patron of hold H-N picks it up from LOCKER.
pick() {
	local r
	r=$(ctl --json sim tap "card:M-$1")
	expect ".unlocked == [$2]" "$r"
	ctl sim door "$2" open >/dev/null
	ctl sim door "$2" close >/dev/null
	expect "[.events[] | select(.type == \"hold_picked_up\" and .payload.hold_id == \"H-$1\")] | length == 1" \
		"$(ctl --json events --limit 1000)"
}

kiosk_write_config "$WORK"
sed -i "s|^database = .*|database = $DISK/lokerd.db|" "$WORK/lokerd.conf"
kiosk_start "$WORK"
for i in 1 2 3 4 5; do
	ctl holds add "H-$i" --credential "card:M-$i" >/dev/null
	ctl load "H-$i" >/dev/null
	ctl sim door "$i" open >/dev/null
	ctl sim door "$i" close >/dev/null
done
# Room for a few more records, and not much more.
head -c 256k /dev/zero >"$DISK/reserve"
fill "$DISK/filler"
rm "$DISK/reserve"

echo "a nearly full disk: pickups still open doors, their events recorded"
pick 1 1
expect '.in_service and .faults == []' "$(ctl --json status)"
echo "  $(df -k --output=avail "$DISK" | tail -1 | tr -d ' ') KiB left on $DISK"

echo "a full disk: a tap opens nothing, out of service, said once"
fill "$DISK/filler2"
log_before=$(grep -c '' "$WORK/lokerd.log")
events_before=$(ctl --json events --limit 1000 | jq '.events | length')
pulses_before=$(ctl --json status | jq -c '[.lockers[].lock_pulses]')
for i in 2 3 2 4; do
	r=$(ctl --json sim tap "card:M-$i")
	expect '.unlocked == []' "$r"
	ctl sim cancel >/dev/null 2>&1 || true
done
r=$(ctl --json status)
expect ".in_service == false and ([.lockers[].lock_pulses] | tojson) == \"$pulses_before\"" "$r"
expect '.faults | index("out of service: events cannot be recorded") != null' "$r"
expect '[.lockers[1,2,3] | .hold] == ["H-2", "H-3", "H-4"]' "$r"
n=$(lines "not recorded")
[ "$n" -eq 1 ] || fail "four refused taps logged $n lines, not one"
said=$(tail -n +$((log_before + 1)) "$WORK/lokerd.log" | grep -E ' (err|warning): ' || true)
[ "$(grep -c '' <<<"$said")" -eq 1 ] || fail "not one error or warning for the four taps: $said"
echo "$said" | sed 's/^[0-9:.]* /  /'
grep -q "event locker_unlocked for locker 2 not recorded: .*out of service until events can be recorded" \
	"$WORK/lokerd.log" || fail "the line does not say what was not recorded, and what follows"
[ "$(ctl --json events --limit 1000 | jq '.events | length')" -eq "$events_before" ] ||
	fail "an event appeared while nothing could be recorded"
curl_screen=$(ctl --json status | jq -r .screen.name)
echo "  4 taps refused, screen '$curl_screen', lock pulses unchanged: $pulses_before"

echo "space freed: the next tap opens, back in service, said once"
rm "$DISK/filler2"
pick 2 2
r=$(ctl --json status)
expect '.in_service and .faults == []' "$r"
[ "$(lines "back in service")" -eq 1 ] || fail "the recovery was logged $(lines "back in service") times"
grep -- "back in service" "$WORK/lokerd.log" | sed 's/^[0-9:.]* /  /'
pick 3 3

echo "nothing recorded was lost, and the database is intact"
ctl check >/dev/null || fail "lokerctl check failed"
# Every event lokerd logged as recorded is in the file, read afresh.
grep -o 'info: event [0-9a-f-]*: ' "$WORK/lokerd.log" | awk '{print $3}' |
	tr -d : | sort >"$WORK/logged"
kiosk_stop || fail "lokerd exited with an error"
[ "$(sqlite3 "$DISK/lokerd.db" 'PRAGMA integrity_check')" = ok ] ||
	fail "integrity_check is not ok"
sqlite3 "$DISK/lokerd.db" 'SELECT uuid FROM outbox' | sort >"$WORK/stored"
missing=$(comm -23 "$WORK/logged" "$WORK/stored" | wc -l)
[ "$missing" -eq 0 ] || fail "$missing recorded events are missing"
echo "integration disk-full: ok ($(wc -l <"$WORK/logged") events recorded, 0 lost; 4 taps refused in 1 line; integrity_check ok)"
