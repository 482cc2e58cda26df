#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Exactly once, whatever the network does: events reach the real lokerhub
# once each through HTTP 500, 503 with Retry-After, dropped connections
# (before and after the server committed), truncated, garbage and huge
# replies, a server restart, and lokerd killed in the middle of an upload.
# Bad changes replies change nothing; a server that refuses every upload
# with 400 costs at most the one event given up; changes the kiosk cannot
# keep are said once and do not hold the uploads back.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
printf 'batch_size = 20\n' >>"$WORK/lokerd.conf"
kiosk_start "$WORK"

# burst N: 2N events (disable and enable of locker 12) in one connection.
burst() {
	local n
	n=$(for _ in $(seq "$1"); do
		echo '{"cmd":"disable","locker":12}'
		echo '{"cmd":"enable","locker":12}'
	done | socat -t 30 - "UNIX-CONNECT:$LOKERBUKU_SOCKET" | grep -c '"ok": *true')
	[ "$n" -eq $((2 * $1)) ] || fail "burst: $n of $((2 * $1)) requests done"
}

echo "events flow"
burst 20
drained
echo "  $(hub_count) events on the server"

for fault in 500 drop drop-after truncate garbage huge; do
	echo "events through a $fault"
	hub fault add events "$fault" --count 2 >/dev/null
	burst 10
	ctl sync >/dev/null
	drained 30
	same_ids
done
grep -q "is not valid" "$WORK/lokerd.log" || fail "no log line for the bad reply"
grep -q "larger than" "$WORK/lokerd.log" || fail "no log line for the huge reply"

echo "503 with Retry-After: 3 is honoured"
hub fault add events 503 --count 1 --retry-after 3 >/dev/null
before=$(hub_count)
burst 5
sleep 1.5
[ "$(hub_count)" = "$before" ] || fail "events went up before Retry-After had passed"
drained 15
same_ids

echo "lokerctl sync waits for the server's Retry-After too"
hub fault add events 503 --count 1 --retry-after 4 >/dev/null
before=$(hub_count)
burst 5
for _ in $(seq 100); do
	ctl --json status | jq -e '.sync.last_error | test("503")' >/dev/null && break
	sleep 0.1
done
expect '.sync.last_error | test("503")' "$(ctl --json status)"
out=$(ctl sync)
case "$out" in
*"(Retry-After): syncing in "*) ;;
*) fail "lokerctl sync did not say it waits for Retry-After: $out" ;;
esac
sleep 1.5
[ "$(hub_count)" = "$before" ] || fail "lokerctl sync went before Retry-After had passed"
drained 15
same_ids

echo "a server restart loses nothing"
hub_stop
burst 25
sleep 0.5
expect '.sync.online==false' "$(ctl --json status)"
hub_start
ctl sync >/dev/null
drained 30
same_ids

echo "lokerd killed in the middle of an upload: resent, stored once"
hub fault add events delay --delay-ms 1500 --count 1 >/dev/null
burst 10
sleep 0.5 # the upload sits in the server's delay now
kill -KILL "$KIOSK_PID"
wait "$KIOSK_PID" 2>/dev/null || true
KIOSK_PID=
sleep 1.5 # the server commits the batch nobody waits for any more
kiosk_start "$WORK"
drained 30
same_ids
r=$(hub events --kiosk demo-01 --json)
expect '(map(.id) | unique | length) == length' "$r"

echo "a bad changes reply is logged and changes nothing"
hub patron-add P-1 --card M0001 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --item B1 >/dev/null
hub fault add changes garbage --count 1 >/dev/null
ctl sync >/dev/null
sleep 1
grep -q "changes pull: the reply is not valid, nothing of it used" "$WORK/lokerd.log" ||
	fail "no log line for the garbage changes reply"
ctl sync >/dev/null
for _ in $(seq 100); do
	ctl --json holds | jq -e '.holds[] | select(.id=="H-1")' >/dev/null && break
	sleep 0.1
done
ctl --json holds | jq -e '.holds[] | select(.id=="H-1")' >/dev/null ||
	fail "H-1 never arrived after the garbage reply"

echo "a server refusing every upload (400) costs at most one event"
hub fault add events 400 --count 0 >/dev/null
burst 10
ctl sync >/dev/null
# Halving 20 -> 10 -> 5 -> 2 -> 1 backs off at every step (1, 2, 4, 8 s at
# the most); then one event is given up and the next refusal is the
# server's fault: nothing more is given up, however long it goes on.
for _ in $(seq 300); do
	[ "$(ctl --json status | jq .sync.rejected_events)" -ge 1 ] && break
	sleep 0.1
done
r=$(ctl --json status)
expect '.sync.rejected_events == 1' "$r"
sleep 3
r=$(ctl --json status)
expect '.sync.rejected_events == 1 and .backlog == 19' "$r"
grep -q "taken as the server's fault, nothing given up" "$WORK/lokerd.log" ||
	grep -q "refuses event" "$WORK/lokerd.log" || fail "no log line for the refusal"
hub fault clear >/dev/null
ctl sync >/dev/null
for _ in $(seq 300); do
	[ "$(ctl --json status | jq .backlog)" = 0 ] && break
	sleep 0.1
done
# All but the one given up; that one is on the kiosk, marked rejected.
[ "$(hub_count)" = "$(($(kiosk_count) - 1))" ] ||
	fail "server $(hub_count), kiosk $(kiosk_count): not all but one"

echo "more holds than the kiosk keeps: the pull is refused, said once, and uploads go on"
kiosk_stop
printf '[policy]\nmax_holds = 3\n' >>"$WORK/lokerd.conf"
: >"$WORK/lokerd.log"
for i in $(seq 10 14); do
	hub patron-add "P-$i" --card "M00$i" >/dev/null
	hub hold-add "H-$i" --kiosk demo-01 --patron "P-$i" --item "B$i" >/dev/null
done
before=$(hub_count)
kiosk_start "$WORK"
burst 3
for _ in 1 2 3; do
	ctl sync >/dev/null
	sleep 0.3
done
for _ in $(seq 100); do
	[ "$(hub_count)" = $((before + 6)) ] && break
	sleep 0.1
done
[ "$(hub_count)" = $((before + 6)) ] || fail "uploads stopped behind the refused pull: server $(hub_count), wanted $((before + 6))"
n=$(grep -c "changes pull: cannot store the changes: more holds" "$WORK/lokerd.log" || true)
[ "$n" = 1 ] || fail "the refused pull was said $n times, not once"
grep "changes pull: cannot store" "$WORK/lokerd.log" | sed 's/^/  lokerd: /'

echo "the database is whole"
ctl check >/dev/null
kiosk_stop
echo "PASS"
