#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Slow-loris servers: one that accepts connections and never says a word,
# and lokerhub's trickle fault, a reply that keeps coming a byte at a time
# but never whole in time. lokerd's sync gives up at curl's timeouts
# (connect 10 s, whole request 30 s: SYNC_*_TIMEOUT_MS), says so in one
# line however often it tries again, taps open doors meanwhile, and the
# events go up, once each, when the server behaves.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"

silent_stop() {
	[ -n "${SILENT_PID:-}" ] || return 0
	kill "$SILENT_PID" 2>/dev/null || true
	wait "$SILENT_PID" 2>/dev/null || true
	SILENT_PID=
}
stop_all() {
	silent_stop
	hub_stop
}
CLEANUP_HOOK=stop_all

kiosk_write_config "$WORK"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start
hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"

# pickup N: patron M-N taps, the door opens and closes; prints the tap's ms.
pickup() {
	local t0=$EPOCHREALTIME r
	r=$(ctl --json sim tap "card:M-$1")
	expect ".unlocked == [$1]" "$r"
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%d", (b - a) * 1000}'
	ctl sim door "$1" open >/dev/null
	ctl sim door "$1" close >/dev/null
}
# sync_lines FROM: the sync warnings and errors logged after line FROM.
sync_lines() {
	tail -n +$(($1 + 1)) "$WORK/lokerd.log" | grep -E ' (err|warning): sync: ' || true
}
log_mark() { grep -c '' "$WORK/lokerd.log"; }
# wait_sync JQ-FILTER SECONDS: until the filter holds for .sync.
wait_sync() {
	local i
	for i in $(seq $(($2 * 10))); do
		ctl --json status | jq -e ".sync | $1" >/dev/null && return 0
		sleep 0.1
	done
	fail "waited $2 s in vain for $1: $(ctl --json status | jq -c .sync)"
}

# Holds placed on the server, pulled, and loaded into lockers 1-3.
for i in 1 2 3; do
	hub patron-add "P-$i" --card "M-$i" >/dev/null
	hub hold-add "H-$i" --kiosk demo-01 --patron "P-$i" --item "B$i" >/dev/null
done
ctl sync >/dev/null
for _ in $(seq 100); do
	[ "$(ctl --json holds | jq '.holds | length')" = 3 ] && break
	sleep 0.1
done
for i in 1 2 3; do
	r=$(ctl --json load "H-$i")
	expect ".unlocked == [$i]" "$r"
	ctl sim door "$i" open >/dev/null
	ctl sim door "$i" close >/dev/null
done
drained
echo "$(hub_count) events on the server"

echo "a server that accepts and never answers: given up after the connect timeout"
hub_stop
python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
print("listening", flush=True)
held = []
while True:
    held.append(s.accept()[0])  # and never a byte, either way
' "$HUB_PORT" >"$WORK/silent.out" 2>&1 &
SILENT_PID=$!
for _ in $(seq 100); do
	grep -q listening "$WORK/silent.out" && break
	sleep 0.05
done
mark=$(log_mark)
failures=$(ctl --json status | jq .sync.failures)
ctl sync >/dev/null
sleep 1
ms=$(pickup 1)
echo "  a pickup while the sync hangs: unlocked in $ms ms"
[ "$ms" -lt 5000 ] || fail "the tap took $ms ms"
# Two tries at least: 10 s, a wait of up to 1 s, 10 s again.
wait_sync ".failures >= $((failures + 2))" 40
wait_sync '.online == false and .last_error == "no connection within 10 s (timed out)"' 1
took=$(ctl --json status | jq .sync.last_request_ms)
[ "$took" -ge 9500 ] && [ "$took" -le 11500 ] || fail "a try took $took ms, not 10 s"
said=$(sync_lines "$mark")
[ "$(grep -c '' <<<"$said")" -eq 1 ] || fail "not one sync line for $(($(ctl --json status | jq .sync.failures) - failures)) timeouts: $said"
echo "$said" | sed 's/^[0-9:.]* /  /'
echo "  $(($(ctl --json status | jq .sync.failures) - failures)) tries given up after $took ms each, one line"
expect '.backlog > 0' "$(ctl --json status)"

echo "the server behaves again: the events go up, once each"
silent_stop
hub_start
ctl sync >/dev/null
drained 30
same_ids
[ "$(tail -n +$((mark + 1)) "$WORK/lokerd.log" | grep -c 'sync: the server answers again')" -eq 1 ] ||
	fail "the recovery was not said once"

echo "replies trickled a byte a second: each given up after the request timeout"
hub fault add any trickle --count 2 >/dev/null
mark=$(log_mark)
failures=$(ctl --json status | jq .sync.failures)
ctl disable 12 >/dev/null
ctl enable 12 >/dev/null
ctl sync >/dev/null
sleep 2
ms=$(pickup 2)
echo "  a pickup while the reply trickles: unlocked in $ms ms"
[ "$ms" -lt 5000 ] || fail "the tap took $ms ms"
# Twice in a row: 30 s, a wait of up to 1 s, 30 s again; then a success.
wait_sync ".failures >= $((failures + 2))" 75
drained 30
same_ids
# lokerhub logs a request once a byte fails to go, a second or two later.
trickled() { grep -c ' 200 [0-9]* ms (fault: trickle)' "$WORK/hub/hub.log" || true; }
for _ in $(seq 50); do
	[ "$(trickled)" = 2 ] && break
	sleep 0.1
done
[ "$(trickled)" = 2 ] || fail "lokerhub trickled $(trickled) replies, not 2"
grep ' 200 [0-9]* ms (fault: trickle)' "$WORK/hub/hub.log" | sed 's/^/  /'
said=$(sync_lines "$mark")
[ "$(grep -c '' <<<"$said")" -eq 1 ] || fail "not one sync line for two trickles: $said"
grep -q ': no whole reply within 30 s (timed out); trying again' <<<"$said" ||
	fail "the line does not say the reply took too long: $said"
echo "$said" | sed 's/^[0-9:.]* /  /'
[ "$(tail -n +$((mark + 1)) "$WORK/lokerd.log" | grep -c 'sync: the server answers again')" -eq 1 ] ||
	fail "the recovery was not said once"
r=$(hub events --kiosk demo-01 --json)
expect '(map(.id) | unique | length) == length' "$r"
echo "  sent again, stored once: $(hub_count) events on the server"

echo "sync asked for during a slow pull: pulled again right after it"
# With pulls 300 s apart, only the asked-for pull can bring the new hold
# within the 40 s waited: a pull under way must not swallow the request.
kiosk_stop || fail "lokerd exited with an error"
sed -i 's/^pull_interval_s = .*/pull_interval_s = 300/' "$WORK/lokerd.conf"
kiosk_start "$WORK"
# The reply is made when the request comes, then trickled for seconds.
hub fault add changes trickle --delay-ms 15 --count 1 >/dev/null
ctl sync >/dev/null
for _ in $(seq 100); do
	[ "$(hub fault list --json | jq length)" = 0 ] && break
	sleep 0.2
done
[ "$(hub fault list --json | jq length)" = 0 ] || fail "the slow pull never came"
sleep 0.5
hub patron-add P-9 --card M-9 >/dev/null
hub hold-add H-9 --kiosk demo-01 --patron P-9 --item B9 >/dev/null
t0=$EPOCHREALTIME
ctl sync >/dev/null
until ctl --json holds | jq -e 'any(.holds[]; .id == "H-9")' >/dev/null ||
	[ "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {print (b - a > 40)}')" = 1 ]; do
	sleep 0.2
done
ctl --json holds | jq -e 'any(.holds[]; .id == "H-9")' >/dev/null ||
	fail "the hold placed during the slow pull did not come with the pull asked for"
echo "  the new hold arrived $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s after the sync asked during the pull"

kiosk_stop || fail "lokerd exited with an error"
echo "integration sync-slow: ok (2 slow-loris servers; $(hub_count) events, each once)"
