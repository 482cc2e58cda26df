#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerctl backup: a consistent copy of the database made by the running
# lokerd, beside the database or where asked, intact and holding every
# event; never over an existing file.
. "$(dirname "$0")/lib.sh"

kiosk_write_config "$WORK"
kiosk_start "$WORK"
ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 --item "B1=Laskar Pelangi" >/dev/null
ctl load H-1 >/dev/null
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
ctl sim tap uid:04A1B2C3D4E5F6 >/dev/null
ctl sim door 1 open >/dev/null
events=$(ctl --json events --limit 1000 | jq '.events | length')
[ "$events" -ge 4 ] || fail "only $events events"

echo "a copy beside the database, named by the time"
r=$(ctl --json backup)
path=$(jq -r .path <<<"$r")
[[ $path == "$WORK/lokerd.db.backup-"*Z ]] || fail "backup path: $r"
[ "$(sqlite3 "$path" 'PRAGMA integrity_check')" = ok ] || fail "the copy is not intact"
[ "$(sqlite3 "$path" 'SELECT count(*) FROM outbox')" = "$events" ] ||
	fail "the copy lacks events"

echo "a copy where asked, by a relative name; never over a file"
(cd "$WORK" && ctl backup copy.db) | grep -q "copied to $WORK/copy.db" ||
	fail "backup to copy.db"
[ "$(sqlite3 "$WORK/copy.db" 'PRAGMA integrity_check')" = ok ] || fail "copy.db not intact"
rc=0
out=$(ctl backup "$WORK/copy.db" 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "exists" <<<"$out" || fail "backup over a file: rc $rc: $out"
rc=0
out=$(ctl backup /nonexistent-dir/x.db 2>&1) || rc=$?
[ $rc -ne 0 ] || fail "backup into a missing folder: $out"

echo "lokerd went on working"
ctl sim door 1 close >/dev/null
expect '.screen.name=="thank_you"' "$(ctl --json status)"
kiosk_stop || fail "lokerd did not stop cleanly"
echo "backup: OK"
