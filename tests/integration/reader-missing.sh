#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A card reader that is not there when lokerd starts (unplugged, or its
# serial port not yet made): lokerd starts all the same, says so in one
# line, serves what does not need the reader, and takes the reader up
# when it appears, without a restart. (nfc.sh: one unplugged while
# lokerd runs.)
. "$(dirname "$0")/lib.sh"
: "${PN532_SIM:?PN532_SIM must name the pn532-sim binary}"

CLEANUP_HOOK=sim_stop
sim() { "$PN532_SIM" --control "$WORK/pn532.sock" "$@" >/dev/null; }

# wait_for JQ-FILTER [SECONDS]: polls lokerctl status until the filter holds.
wait_for() {
	local i
	for i in $(seq $((${2:-3} * 20))); do
		ctl --json status | jq -e "$1" >/dev/null && return 0
		sleep 0.05
	done
	fail "waited in vain for $1: $(ctl --json status | jq -c '{screen, reader, faults}')"
}

kiosk_write_config "$WORK" "
[reader]
backend = nfc
connstring = pn532_uart:$WORK/pn532
poll_ms = 20

[webui]
listen = 127.0.0.1:0"
start=$EPOCHREALTIME
kiosk_start "$WORK" || fail "lokerd did not start without its reader"

echo "lokerd starts without the reader, and says so once"
wait_for '.reader.backend == "nfc" and .reader.ok == false'
expect '.faults | index("reader: not answering") != null' "$(ctl --json status)"
# The reader is tried again and again meanwhile (250 ms, 500 ms, ... 8 s).
sleep 2.5
n=$(grep -c "card reader pn532_uart:$WORK/pn532: " "$WORK/lokerd.log" || true)
[ "$n" -eq 1 ] || fail "the missing reader was logged $n times, not once"
grep "card reader pn532_uart:" "$WORK/lokerd.log" | sed 's/^[0-9:.]* /  /'
grep -q "card reader pn532_uart:$WORK/pn532: cannot open: " "$WORK/lokerd.log" ||
	fail "the line does not say the reader cannot be opened"

echo "what needs no reader works meanwhile: a load, a code typed on the screen"
ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 --code 123456 >/dev/null
r=$(ctl --json load H-1)
l1=$(jq '.unlocked[0]' <<<"$r")
[ "$l1" -ge 1 ] || fail "no locker opened for the load: $r"
ctl sim door "$l1" open >/dev/null
ctl sim door "$l1" close >/dev/null
ctl holds add H-2 --credential uid:04A1B2C3D4E5F6 >/dev/null
r=$(ctl --json load H-2)
l2=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$l2" open >/dev/null
ctl sim door "$l2" close >/dev/null
url=$(ctl --json status | jq -r .webui.url)
curl -sf -H 'Content-Type: application/json' -d '{"action":"code","code":"123456"}' \
	"${url}api/action" >/dev/null || fail "the code was not taken"
wait_for ".screen.name == \"lockers_open\" and .screen.lockers == [$l1]"
ctl sim door "$l1" open >/dev/null
ctl sim door "$l1" close >/dev/null

echo "the reader appears: taken up without a restart, said once"
"$PN532_SIM" --link "$WORK/pn532" --control "$WORK/pn532.sock" \
	>"$WORK/pn532.out" 2>>"$WORK/pn532.log" &
SIM_PID=$!
appeared=$EPOCHREALTIME
# The next try comes at most 8 s later.
wait_for '.reader.ok' 12
took=$(awk -v a="$appeared" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
n=$(grep -c "card reader pn532_uart:$WORK/pn532: answering again" "$WORK/lokerd.log" || true)
[ "$n" -eq 1 ] || fail "the recovery was logged $n times, not once"
expect '.faults | index("reader: not answering") == null' "$(ctl --json status)"
echo "  taken up $took s after it appeared"

echo "a tap on it opens the patron's locker"
sim tap 04A1B2C3D4E5F6
wait_for ".screen.name == \"lockers_open\" and .screen.lockers == [$l2]"
sim remove
kill -0 "$KIOSK_PID" || fail "lokerd is gone"
n=$(grep -c "card reader" "$WORK/lokerd.log" || true)
kiosk_stop || fail "lokerd exited with an error"
echo "integration reader-missing: ok ($n reader log lines in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s: the fault and the recovery)"
