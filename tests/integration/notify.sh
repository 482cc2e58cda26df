#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerd speaks the systemd notify protocol: READY=1 once it answers,
# WATCHDOG=1 from the event loop while it runs, STOPPING=1 on SIGTERM, and
# every lock is released when it stops.
. "$(dirname "$0")/lib.sh"

kiosk_write_config "$WORK"
socat -u "UNIX-RECV:$WORK/notify.sock" "OPEN:$WORK/notify.log,creat,append" &
socat_pid=$!
for i in $(seq 50); do [ -S "$WORK/notify.sock" ] && break; sleep 0.05; done

# As systemd would set them with WatchdogSec=0.4; sd-event pets at half that.
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=400000 kiosk_start "$WORK"
# Datagrams arrive without separators: count the assignments themselves.
notices() { grep -o "$1" "$WORK/notify.log" | wc -l; }
[ "$(notices READY=1)" -eq 1 ] || fail "no READY=1"

# A pulse in flight when the stop comes must still end de-energised.
ctl staff add card:S-1 --pin 1357 >/dev/null
ctl holds add H-1 --credential card:M-1 >/dev/null
ctl load H-1 >/dev/null
sleep 1.2
kiosk_stop || fail "lokerd exited with an error"
sleep 0.2
kill "$socat_pid" 2>/dev/null || true

pets=$(notices WATCHDOG=1)
echo "watchdog pets in about 1.2 s at WatchdogSec=0.4: $pets"
[ "$pets" -ge 3 ] || fail "too few WATCHDOG=1 ($pets)"
[ "$(notices STOPPING=1)" -eq 1 ] || fail "no STOPPING=1"
grep -q "every lock is de-energised" "$WORK/lokerd.log" || fail "no clean stop"
for f in lokerd.db lokerd.db-wal lokerd.db-shm; do
	[ -e "$WORK/$f" ] || continue
	mode=$(stat -c %a "$WORK/$f")
	[ $((0$mode & 07)) -eq 0 ] || fail "$f is readable by others (mode $mode)"
done
echo "integration notify: ok"
