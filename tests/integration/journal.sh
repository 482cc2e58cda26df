#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerd under journald, without systemd as PID 1: in a private mount
# namespace a stand-in listens at /run/systemd/journal/socket, lokerd's
# stderr is "the journal stream" (JOURNAL_STREAM), and a load and two
# pickups (a card, a pickup code) must arrive as native journal messages
# with LOKERBUKU_KIOSK, _LOCKER, _EVENT and _HOLD fields and never a
# credential. Skipped (77) where mount namespaces are not permitted.
. "$(dirname "$0")/lib.sh"

if [ -z "${JOURNAL_TEST_INSIDE:-}" ]; then
	if ! unshare -m true 2>/dev/null; then
		echo "SKIP: unshare -m is not permitted here" >&2
		exit 77
	fi
	rm -rf "$WORK"
	exec unshare -m env JOURNAL_TEST_INSIDE=1 bash "$0"
fi

# Inside: this namespace's own /run/systemd, the host's untouched.
mount --make-rprivate / 2>/dev/null || true
target=/run/systemd
[ -d "$target" ] || target=/run
if ! mount -t tmpfs -o mode=0755 tmpfs "$target" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs over $target in a mount namespace" >&2
	exit 77
fi
mkdir -p /run/systemd/journal
python3 "$LOKERBUKU_TOP/tests/integration/journal-sink.py" \
	/run/systemd/journal/socket "$WORK/journal.jsonl" &
SINK_PID=$!
stop_sink() { kill "$SINK_PID" 2>/dev/null || true; }
CLEANUP_HOOK=stop_sink
for _ in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
[ -S /run/systemd/journal/socket ] || fail "the journal stand-in did not start"

UID_HEX=04A1B2C3D4E5F6
CODE=58203917
MEMBER=M7731904
kiosk_write_config "$WORK"
: >"$WORK/lokerd.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/lokerd.log")
export JOURNAL_STREAM
kiosk_start "$WORK"
unset JOURNAL_STREAM

echo "a load, a pickup by card, a pickup by code"
ctl holds add H-1 --credential "uid:$UID_HEX" --name Siti --item "B1=Laskar Pelangi" >/dev/null
ctl holds add H-2 --credential "card:$MEMBER" --code "$CODE" >/dev/null
for h in H-1 H-2; do
	l=$(ctl --json load "$h" | jq -r '.unlocked[0]')
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
done
ctl sim tap "uid:$UID_HEX" >/dev/null
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
ctl sim tap "code:$CODE" >/dev/null
ctl sim door 2 open >/dev/null
ctl sim door 2 close >/dev/null
events=$(ctl --json events --limit 50)
kiosk_stop
sleep 0.2
stop_sink
wait "$SINK_PID" 2>/dev/null || true

J=$WORK/journal.jsonl
[ -s "$J" ] || fail "nothing reached the journal"
grep -q '"error"' "$J" && fail "the stand-in could not read a message: $(grep error "$J")"
# journal FILTER: the messages that match, as a JSON array.
journal() { jq -s "[.[] | select($1)]" "$J"; }

echo "every message has its priority, its source and the kiosk's id"
expect 'all(.[]; .SYSLOG_IDENTIFIER=="lokerd" and .LOKERBUKU_KIOSK=="demo-01" and (.PRIORITY|test("^[0-7]$")) and (.MESSAGE|length>0))' \
	"$(journal true)"
expect 'length>0' "$(journal '.MESSAGE|test("lokerd .* ready")')"

echo "each pickup event carries its UUID, locker and hold"
for h in H-1 H-2; do
	uuid=$(jq -r --arg h "$h" '.events[] | select(.type=="hold_picked_up" and .payload.hold_id==$h) | .uuid' <<<"$events")
	[ -n "$uuid" ] || fail "no pickup event of $h"
	locker=$(jq -r --arg h "$h" '.events[] | select(.type=="hold_picked_up" and .payload.hold_id==$h) | .payload.locker' <<<"$events")
	m=$(journal ".LOKERBUKU_EVENT==\"$uuid\"")
	expect "length==1 and .[0].LOKERBUKU_LOCKER==\"$locker\" and .[0].LOKERBUKU_HOLD==\"$h\"" "$m"
	expect '.[0].PRIORITY=="6" and (.[0].MESSAGE|test("hold_picked_up")) and (.[0].CODE_FILE|endswith("daemon.c")) and (.[0].CODE_LINE|test("^[0-9]+$")) and .[0].CODE_FUNC=="log_record"' "$m"
done
echo "door movements are found by their locker"
expect 'length==4' "$(journal '.LOKERBUKU_LOCKER=="1" and (.MESSAGE|test("door (opened|closed)"))')"
expect 'all(.[]; has("LOKERBUKU_EVENT")|not)' "$(journal '.MESSAGE|test("door (opened|closed)")')"

echo "no credential in any field, and nothing left on the stream"
for secret in "$UID_HEX" "$CODE" "$MEMBER"; do
	grep -q "$secret" "$J" && fail "$secret is in the journal"
done
[ ! -s "$WORK/lokerd.log" ] || fail "lokerd wrote to stderr too: $(head "$WORK/lokerd.log")"
echo "ok"
