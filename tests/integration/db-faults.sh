#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A corrupt or read-only database. lokerd refuses to start on either with
# one log line naming the file, the reason and the fix; lokerctl recover
# replaces a corrupt one by what can be read of it, every unsent event it
# can read kept with its UUID, and says exactly which it lost; a database
# that fails while lokerd runs opens no door until it works again.
. "$(dirname "$0")/lib.sh"

MOUNTS=()
unmount_all() {
	local m
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || true
	done
}
CLEANUP_HOOK=unmount_all

# start_refused DIR: lokerd must refuse to start; prints its log of it.
start_refused() {
	local rc=0
	timeout 20 "$BIN/lokerd" -c "$1/lokerd.conf" 2>"$WORK/refused.log" || rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "lokerd did not refuse: rc $rc: $(cat "$WORK/refused.log")"
	cat "$WORK/refused.log"
}

# one_line LOG PATTERN: the log is one error line, and it matches.
one_line() {
	[ "$(grep -c '' <<<"$1")" = 1 ] && grep -q ' err: ' <<<"$1" ||
		fail "not one error line: $1"
	grep -q -- "$2" <<<"$1" || fail "the refusal does not say $2: $1"
	echo "  $1"
}

DB=$WORK/lokerd.db
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/sync.token"
chmod 600 "$WORK/sync.token"
# A server nobody answers at: every event stays in the outbox.
kiosk_write_config "$WORK" "
[sync]
url = https://127.0.0.1:9/locker-sync/v1
token_file = $WORK/sync.token"
kiosk_start "$WORK"

echo "events recorded with the server unreachable"
for i in 1 2 3; do
	ctl holds add "H-$i" --credential "card:M-$i" --item "B$i=Buku $i" >/dev/null
	ctl load "H-$i" >/dev/null
	ctl sim door "$i" open >/dev/null
	ctl sim door "$i" close >/dev/null
done
# Hundreds more, so that the outbox spans many pages.
n=$(for _ in $(seq 300); do
	echo '{"cmd":"disable","locker":9}'
	echo '{"cmd":"enable","locker":9}'
done | socat -t 60 - "UNIX-CONNECT:$LOKERBUKU_SOCKET" | grep -c '"ok": *true')
[ "$n" -eq 600 ] || fail "only $n of 600 requests done"
r=$(ctl --json status)
backlog=$(jq .backlog <<<"$r")
[ "$backlog" -ge 603 ] || fail "backlog $backlog"
kiosk_stop || fail "lokerd did not stop cleanly"
sqlite3 "$DB" 'SELECT uuid FROM outbox WHERE sent = 0 ORDER BY seq' >"$WORK/before"
[ "$(wc -l <"$WORK/before")" -eq "$backlog" ] || fail "the outbox is not the backlog"
owner=$(stat -c '%u:%g %a' "$DB")

echo "pages in the middle of the outbox overwritten with garbage"
mapfile -t pages < <(sqlite3 "$DB" "SELECT pageno FROM dbstat WHERE name = 'outbox'
	AND pagetype = 'leaf' ORDER BY pageno")
[ "${#pages[@]}" -ge 8 ] || fail "the outbox has only ${#pages[@]} leaf pages"
size=$(sqlite3 "$DB" 'PRAGMA page_size')
mid=$((${#pages[@]} / 2))
for p in "${pages[$mid]}" "${pages[$((mid + 2))]}"; do
	dd if=/dev/urandom of="$DB" bs="$size" seek=$((p - 1)) count=1 conv=notrunc status=none
done

echo "lokerd refuses the corrupt file, in one line that says what to do"
out=$(start_refused "$WORK")
one_line "$out" "database $DB is corrupt (.*); stop lokerd and run \`lokerctl recover\`"

echo "lokerctl recover refuses while lokerd runs"
mv "$DB" "$WORK/damaged.db"
kiosk_start "$WORK"
rc=0
out=$(ctl recover --config "$WORK/lokerd.conf" 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "lokerd is running" <<<"$out" || fail "recover beside lokerd: rc $rc: $out"
# Its socket elsewhere, lokerd still holds the database's locks.
rc=0
out=$(LOKERBUKU_SOCKET=$WORK/elsewhere.sock ctl recover --config "$WORK/lokerd.conf" 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "process $KIOSK_PID has $DB.* open" <<<"$out" ||
	fail "recover beside lokerd's database: rc $rc: $out"
kiosk_stop
rm -f "$DB" "$DB-wal" "$DB-shm"
mv "$WORK/damaged.db" "$DB"

echo "lokerctl recover stopped dead at each step, then run again"
# Each round: the damaged file with a -wal holding a committed row (as
# after a crash of lokerd), recover stopped at step N by its test hook
# (as by a power cut), then run again. Round 0 is not stopped: the
# reference. At every stop the old database is whole (under its name or
# the kept one, -wal and all) and, once the copy is complete, so is the
# copy; the second run finishes with what round 0 got, the -wal's row too.
cp "$DB" "$WORK/damaged.orig"
with_wal() {
	cp "$WORK/damaged.orig" "$DB"
	python3 - "$DB" <<'PY'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA wal_autocheckpoint = 0")
c.execute("INSERT INTO sync_state (key, value) VALUES ('crash_test', 'in the wal')")
os._exit(0)  # no close: the row stays in the -wal alone
PY
	[ -s "$DB-wal" ] || fail "no -wal made"
	cp "$DB" "$WORK/orig.db"
	cp "$DB-wal" "$WORK/orig.db-wal"
}
# same_as_orig PATH: PATH and PATH-wal are the damaged database as it was.
same_as_orig() {
	cmp -s "$1" "$WORK/orig.db" && cmp -s "$1-wal" "$WORK/orig.db-wal"
}
intact() { [ "$(sqlite3 "$1" 'PRAGMA integrity_check')" = ok ]; }
unsent_and_row() {
	sqlite3 "$1" "SELECT count(*) FROM outbox WHERE sent = 0;
		SELECT value FROM sync_state WHERE key = 'crash_test'" | paste -sd ' '
}
for step in 0 1 2 3 4 5 6 7 8; do
	rm -f "$DB" "$DB-wal" "$DB-shm" "$DB".corrupt-* "$DB".recover*
	with_wal
	rc=0
	out=$(LOKERBUKU_TEST_RECOVER_CRASH_AT=$step ctl recover --config "$WORK/lokerd.conf" 2>&1) || rc=$?
	if [ "$step" = 0 ]; then
		[ $rc = 0 ] || fail "recover: rc $rc: $out"
		reference=$(unsent_and_row "$DB")
		[[ "$reference" == *" in the wal" ]] || fail "the -wal's row was not recovered: $reference"
		echo "  not stopped: unsent events and the -wal's row: $reference"
		continue
	fi
	[ $rc = 99 ] || fail "step $step: recover was not stopped by the test hook: rc $rc: $out"
	kept=$(ls "$DB".corrupt-*Z 2>/dev/null || true)
	same_as_orig "$DB" || { [ -n "$kept" ] && same_as_orig "$kept"; } ||
		fail "step $step: the old database is whole nowhere: $(ls "$WORK")"
	if [ "$step" -ge 2 ]; then
		if [ -e "$DB.recovered" ]; then
			intact "$DB.recovered"
		else
			! same_as_orig "$DB" && intact "$DB"
		fi || fail "step $step: the complete copy is whole nowhere: $(ls "$WORK")"
	fi
	rc=0
	out=$(ctl recover --config "$WORK/lokerd.conf" 2>&1) || rc=$?
	[ $rc = 0 ] || fail "step $step: recover run again: rc $rc: $out"
	# After step 8 the copy has the name: only a sync of the folder was
	# left to do, and the database is intact.
	if [ "$step" = 8 ]; then
		grep -q "nothing to recover" <<<"$out" ||
			fail "step $step: recover run again: $out"
	elif [ "$step" -ge 2 ]; then
		grep -q "finishing a recover that was interrupted" <<<"$out" &&
			! grep -q "copying what can be read" <<<"$out" ||
			fail "step $step: the complete copy was not put in place as it was: $out"
	fi
	kept=$(ls "$DB".corrupt-*Z)
	[ "$(wc -l <<<"$kept")" = 1 ] && same_as_orig "$kept" ||
		fail "step $step: the damaged file is not kept once, as it was: $kept"
	# (An empty -wal is what a read-only check of the intact file leaves.)
	[ ! -s "$DB-wal" ] && [ -z "$(ls "$DB".recover* 2>/dev/null)" ] ||
		fail "step $step: left over: $(ls "$WORK")"
	intact "$DB" || fail "step $step: the new database is not intact"
	got=$(unsent_and_row "$DB")
	[ "$got" = "$reference" ] || fail "step $step: $got, not $reference"
	echo "  stopped at step $step, run again: $got"
done
echo "... but not over a database written after the stop (lokerd ran)"
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB".corrupt-* "$DB".recover*
with_wal
rc=0
LOKERBUKU_TEST_RECOVER_CRASH_AT=2 ctl recover --config "$WORK/lokerd.conf" >/dev/null 2>&1 || rc=$?
[ $rc = 99 ] || fail "recover was not stopped at step 2: rc $rc"
touch "$DB-wal"
rc=0
out=$(ctl recover --config "$WORK/lokerd.conf" 2>&1) || rc=$?
[ $rc = 1 ] && grep -q "was written after the interrupted recover" <<<"$out" &&
	[ -e "$DB.recovered" ] && same_as_orig "$DB" ||
	fail "the copy was put over a database written since: rc $rc: $out"
echo "  refused: $out"
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB".corrupt-* "$DB".recover*
cp "$WORK/damaged.orig" "$DB"

echo "lokerctl recover keeps what can be read, and says what it lost"
out=$(ctl recover --config "$WORK/lokerd.conf") || fail "recover failed: $out"
echo "$out"
kept=$(sed -n 's/^unsent events kept: \([0-9]*\), lost: \([0-9]*\)$/\1/p' <<<"$out")
lost=$(sed -n 's/^unsent events kept: \([0-9]*\), lost: \([0-9]*\)$/\2/p' <<<"$out")
[ -n "$kept" ] && [ -n "$lost" ] || fail "no count of unsent events: $out"
[ "$lost" -gt 0 ] || fail "two outbox pages destroyed, yet nothing lost"
# Two pages hold tens of events: what follows them is read again.
[ "$lost" -lt $((backlog / 4)) ] || fail "$lost events lost with two pages"
[ $((kept + lost)) -eq "$backlog" ] || fail "$kept kept + $lost lost is not $backlog"
grep -o 'lost unsent event [0-9]* [0-9a-f-]*' <<<"$out" | awk '{print $5}' | sort >"$WORK/listed"
[ "$(wc -l <"$WORK/listed")" -eq "$lost" ] || fail "recover listed $(wc -l <"$WORK/listed") lost events, not $lost"
corrupt=$(ls "$DB".corrupt-*Z)
[ -f "$corrupt" ] && [ ! -e "$DB.recover-tmp" ] || fail "the damaged file is not kept: $(ls "$WORK")"
[ "$(stat -c '%u:%g %a' "$DB")" = "$owner" ] || fail "owner and mode not kept"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || fail "the new file is not intact"

echo "lokerd starts on it, with every kept event in order under its UUID"
kiosk_start "$WORK"
r=$(ctl --json status)
expect ".backlog == $kept and .in_service" "$r"
ctl --json events --limit 1000 | jq -r '.events[] | select(.sent | not) | .uuid' >"$WORK/after"
[ "$(wc -l <"$WORK/after")" -eq "$kept" ] || fail "$(wc -l <"$WORK/after") events listed, $kept kept"
# The kept ones are the ones there were, in the same order, less the lost.
grep -vxFf "$WORK/listed" "$WORK/before" | diff - "$WORK/after" >/dev/null ||
	fail "the kept events are not the ones recorded, less the lost ones"
sort "$WORK/before" | comm -13 - "$WORK/listed" | grep -q . && fail "recover listed an event that never was"

echo "a tap still opens the patron's locker"
r=$(ctl --json sim tap card:M-2)
expect '.unlocked == [2]' "$r"
ctl sim door 2 open >/dev/null
ctl sim door 2 close >/dev/null
expect ".backlog > $kept" "$(ctl --json status)"
kiosk_stop || fail "lokerd did not stop cleanly"

echo "an intact database is left alone"
out=$(ctl recover --config "$WORK/lokerd.conf") || fail "recover of an intact file: $out"
grep -q "nothing to recover" <<<"$out" || fail "recover of an intact file: $out"
[ "$(ls "$DB".corrupt-*Z | wc -l)" -eq 1 ] || fail "a second copy was made"

echo "lokerd refuses to start while a recover is half done"
# Forced on the intact file and stopped once the -wal is gone: the file
# under the database's name opens, but lacks what its -wal held. Files
# kept by another recover in this second and the next few keep their
# names (the names are by the second; two recovers in one second made
# the second fail, "File exists").
others=()
for s in 0 1 2 3 4 5; do
	name=$DB.corrupt-$(date -u -d "@$(($(date +%s) + s))" +%Y%m%dT%H%M%SZ)
	[ -e "$name" ] || { echo "kept by another recover" >"$name" && others+=("$name"); }
done
rc=0
out=$(LOKERBUKU_TEST_RECOVER_CRASH_AT=6 ctl recover --force --config "$WORK/lokerd.conf" 2>&1) || rc=$?
[ $rc = 99 ] && [ -e "$DB.recovered" ] || fail "recover was not stopped at step 6: rc $rc: $out"
out=$(start_refused "$WORK")
one_line "$out" "database $DB: a \`lokerctl recover\` was interrupted and $DB.recovered is its complete copy"
out=$(ctl recover --config "$WORK/lokerd.conf") || fail "recover run again: $out"
[ ! -e "$DB.recovered" ] && intact "$DB" || fail "recover run again left: $(ls "$WORK")"
for name in "${others[@]}"; do
	[ "$(cat "$name")" = "kept by another recover" ] || fail "$name was overwritten"
done
grep -q "kept as $DB.corrupt-[0-9TZ]*-2$" <<<"$out" || fail "not kept under the next free name: $out"

# lokerd_as_user ARGS: lokerd as a user file modes apply to (root: nobody).
lokerd_as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			timeout 20 "$BIN/lokerd" "$@"
	else
		timeout 20 "$BIN/lokerd" "$@"
	fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "a read-only file system: skipped, mount needs root"
else
	echo "a read-only file system: refused, and not called corrupt"
	RO=$WORK/ro
	kiosk_write_config "$RO"
	kiosk_start "$RO"
	kiosk_stop
	mount --bind "$RO" "$RO"
	MOUNTS+=("$RO")
	mount -o remount,bind,ro "$RO"
	out=$(start_refused "$RO")
	one_line "$out" "database $RO/lokerd.db is read-only (on a read-only file system); it is not damaged"
	grep -q recover <<<"$out" && fail "a read-only database is not one to recover: $out"
	out=$(ctl recover --config "$RO/lokerd.conf" 2>&1) || true
	grep -q "nothing to recover" <<<"$out" || fail "recover of a read-only file: $out"
fi

echo "a file lokerd's user cannot write: refused, and not called corrupt"
RW=$WORK/rw
kiosk_write_config "$RW"
kiosk_start "$RW"
kiosk_stop
if [ "$(id -u)" -eq 0 ]; then
	chown -R nobody: "$RW"
	chmod 0755 "$WORK" # mktemp -d made it 0700
fi
chmod 0444 "$RW/lokerd.db"
rc=0
out=$(lokerd_as_user -c "$RW/lokerd.conf" 2>&1) || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "lokerd as nobody did not refuse: rc $rc: $out"
one_line "$out" "database $RW/lokerd.db is read-only (the file cannot be written: Permission denied); it is not damaged"
echo "... nor its folder"
chmod 0644 "$RW/lokerd.db"
chmod 0555 "$RW"
rc=0
out=$(lokerd_as_user -c "$RW/lokerd.conf" 2>&1) || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "lokerd as nobody did not refuse: rc $rc: $out"
one_line "$out" "database $RW/lokerd.db is read-only (its folder $RW cannot be written: Permission denied); it is not damaged"
chmod 0755 "$RW"

if [ "$(id -u)" -ne 0 ]; then
	echo "integration db-faults: ok (a full file system skipped: mount needs root)"
	exit 0
fi
echo "a database that fails while lokerd runs: no record, no door"
FULL=$WORK/full
mkdir -p "$FULL"
mount -t tmpfs -o size=1m tmpfs "$FULL"
MOUNTS+=("$FULL")
kiosk_write_config "$FULL"
kiosk_start "$FULL"
export LOKERBUKU_SOCKET=$FULL/control.sock
ctl holds add H-9 --credential card:M-9 >/dev/null
ctl load H-9 >/dev/null
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
dd if=/dev/zero of="$FULL/filler" bs=4k status=none 2>/dev/null || true
r=$(ctl --json sim tap card:M-9)
expect '.unlocked == []' "$r"
r=$(ctl --json status)
expect '.in_service == false and .lockers[0].lock_pulses == 1 and .lockers[0].hold == "H-9"' "$r"
grep -q "event locker_unlocked for locker 1 not recorded: .*out of service" "$FULL/lokerd.log" ||
	fail "the refusal is not in the log"
rm "$FULL/filler"
r=$(ctl --json sim tap card:M-9)
expect '.unlocked == [1]' "$r"
expect '.in_service' "$(ctl --json status)"
kiosk_stop || fail "lokerd did not stop cleanly"
echo "integration db-faults: ok"
