#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Loop stalls at the documented limits: 1,000,000 unsent events (and
# 300,000 sent ones to prune), 10,000 holds, 128 lockers. lokerd times
# each callback of its loop and each lock pulse itself (loop-stats);
# tests/bench/loopdrive.py opens lockers (a 16-locker session, then
# maintenance openings) while lokerd prunes, copies its database, checks
# it, and drains its backlog to lokerhub, and prints the longest callback
# and the worst pulse-length error of each. Needs BIN (release binaries)
# and LOKERBUKU_TOP.
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}"
UNSENT=${BENCH_UNSENT:-1000000}
SENT=${BENCH_SENT:-300000}
HOLDS=${BENCH_HOLDS:-10000}
# The sessions' holds, loaded through lokerd (tests/bench/loopdrive.py).
SESSION_HOLDS=96
# shellcheck source=tools/lib/kiosk.sh
. "$LOKERBUKU_TOP/tools/lib/kiosk.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"

# On disk by default: an fsync there is what a kiosk's SD card or SSD pays.
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lokerbuku-bench.XXXXXX")
export LOKERBUKU_SOCKET=$WORK/control.sock
trap 'kiosk_stop >/dev/null 2>&1 || true; hub_stop; [ -z "${BENCH_KEEP:-}" ] && rm -rf "$WORK"; [ -n "${BENCH_KEEP:-}" ] && echo "kept $WORK" >&2' EXIT
ctl() { "$BIN/lokerctl" "$@"; }
fail() {
	echo "loop-stall: FAIL: $*" >&2
	exit 1
}
drive() {
	python3 "$LOKERBUKU_TOP/tests/bench/loopdrive.py" --control "$LOKERBUKU_SOCKET" \
		--db "$WORK/lokerd.db" "$@"
}
# Until lokerd answers: opening a database of a million events and a
# quick_check take seconds, more than kiosk_start waits.
start_kiosk() {
	local i
	"$BIN/lokerd" -c "$WORK/lokerd.conf" 2>>"$WORK/lokerd.log" &
	KIOSK_PID=$!
	for i in $(seq 1200); do
		ctl status >/dev/null 2>&1 && return 0
		kill -0 "$KIOSK_PID" 2>/dev/null || fail "lokerd exited: $(tail -n 5 "$WORK/lokerd.log")"
		sleep 0.1
	done
	fail "lokerd did not answer in 120 s"
}

# The hub is set up, then stopped: the backlog waits until the drain.
kiosk_write_config "$WORK"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start
sed -i 's/^count = 12$/count = 128/' "$WORK/lokerd.conf"
cat >>"$WORK/lokerd.conf" <<CONF
[policy]
max_holds = $HOLDS

[outbox]
max_unsent = $((UNSENT + 10000))
CONF
hub_sync_config >>"$WORK/lokerd.conf"
hub_stop

# lokerd makes the schema; sqlite3 adds the rows a busy kiosk would have.
start_kiosk
kiosk_stop
echo "loop-stall: adding $SENT sent and $UNSENT unsent events, $((HOLDS - SESSION_HOLDS)) holds" >&2
now=$(($(date +%s) * 1000000))
sqlite3 "$WORK/lokerd.db" <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < $SENT + $UNSENT)
INSERT INTO outbox (uuid, type, at_usec, payload, sent)
	SELECT printf('00000000-0000-4000-8000-%012d', n),
		CASE n % 2 WHEN 0 THEN 'locker_disabled' ELSE 'locker_enabled' END,
		$now - ($SENT + $UNSENT - n) * 1000, '{"actor":"service","locker":12}',
		n <= $SENT
	FROM i;
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < $HOLDS - $SESSION_HOLDS)
INSERT INTO holds (id, state, size, patron_name, created_at_usec)
	SELECT printf('P-%06d', n), 'pending', 'small', 'Siti', $now + n FROM i;
INSERT INTO hold_credentials (hold_id, hmac)
	SELECT id, lower(hex(randomblob(32))) FROM holds WHERE state = 'pending';
INSERT INTO hold_items (hold_id, position, barcode, title)
	SELECT id, 0, 'B' || id, 'Laskar Pelangi' FROM holds WHERE state = 'pending';
COMMIT;
SQL

# What one commit waits for here: every record is one (synchronous=FULL).
python3 - "$WORK" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
took = []
for i in range(50):
    os.pwrite(fd, os.urandom(4096), i * 4096)
    start = time.monotonic_ns()
    os.fsync(fd)
    took.append(time.monotonic_ns() - start)
os.close(fd)
os.unlink(path)
took.sort()
print(f"fsync of 4 KiB p50\t{took[len(took) // 2] / 1e6:.2f}\tms")
print(f"fsync of 4 KiB max\t{took[-1] / 1e6:.2f}\tms")
PY

echo "loop-stall: prune of $((SENT - 10000)) sent events, while $SESSION_HOLDS holds are loaded" >&2
start_kiosk
drive --phase prune --sent "$SENT"
echo "loop-stall: baseline, nothing long under way" >&2
drive --phase quiet
echo "loop-stall: backup" >&2
drive --phase backup --backup "$WORK/copy.db"
[ "$(sqlite3 "$WORK/copy.db" 'SELECT count(*) FROM outbox WHERE sent = 0')" -ge "$UNSENT" ] ||
	fail "the backup lacks unsent events"
rm -f "$WORK/copy.db"
echo "loop-stall: integrity check" >&2
drive --phase check
echo "loop-stall: the server back: its full set of holds" >&2
hub_start
drive --phase pull --log "$WORK/lokerd.log"
echo "loop-stall: backlog drain (for up to ${BENCH_DRAIN_S:-60} s)" >&2
drive --phase drain --timeout "${BENCH_DRAIN_S:-60}"
kiosk_stop || fail "lokerd did not stop cleanly"
