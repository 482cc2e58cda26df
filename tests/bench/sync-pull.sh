#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The first changes pull of a new kiosk: BENCH_HOLDS (10,000) holds routed
# to it on lokerhub, pulled over HTTPS on loopback in pages of
# SYNC_PULL_LIMIT. Prints the seconds from the sync request until every
# hold is in the kiosk's memory, the requests it took and lokerd's peak
# memory (VmHWM) before and after; fails unless the kiosk ends with every
# hold, each once. Needs BIN (release binaries) and LOKERBUKU_TOP.
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}"
N=${BENCH_HOLDS:-10000}
BENCH_NAME=sync-pull
# shellcheck source=tools/lib/kiosk.sh
. "$LOKERBUKU_TOP/tools/lib/kiosk.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
# shellcheck source=tests/bench/lib.bash
. "$LOKERBUKU_TOP/tests/bench/lib.bash"

WORK=$(mktemp -d /tmp/lokerbuku-bench.XXXXXX)
export LOKERBUKU_SOCKET=$WORK/control.sock
trap 'kiosk_stop >/dev/null 2>&1 || true; hub_stop; rm -rf "$WORK"' EXIT
ctl() { "$BIN/lokerctl" "$@"; }
hwm_kib() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status"; }

kiosk_write_config "$WORK" "
[policy]
max_holds = $((N + 100))"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub patron-add P-1 --name Siti --uid 04A1B2C3D4E5F6 >/dev/null
# lokerhub hold-add takes a process and a commit per hold (about 12 ms):
# the rows it writes go in as one transaction instead. The listing below
# is lokerhub's own, so a schema this no longer matches fails here.
echo "sync-pull: routing $N holds to the kiosk" >&2
sqlite3 "$WORK/hub/hub.db" <<SQL
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO holds (id, kiosk_id, patron_id, size, state, change_seq,
	created_usec, updated_usec)
SELECT printf('SLiMS-%06d', i), 'demo-01', 'P-1', 'small', 'pending',
	(SELECT value FROM meta WHERE key = 'change_seq') + i,
	unixepoch() * 1000000, unixepoch() * 1000000 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2 * $N - 1)
INSERT INTO hold_items (hold_id, pos, barcode, title)
SELECT printf('SLiMS-%06d', i / 2 + 1), i % 2, printf('B%07d', i),
	printf('Judul buku nomor %d, jilid %d', i / 2 + 1, i % 2 + 1) FROM n;
UPDATE meta SET value = value + $N WHERE key = 'change_seq';
COMMIT;
SQL
[ "$(hub holds --kiosk demo-01 --json | jq 'map(select(.state == "pending")) | length')" = "$N" ] ||
	bench_fail "lokerhub does not list $N pending holds"

hub_start
hub_sync_config >>"$WORK/lokerd.conf"
hub_stop
kiosk_start "$WORK" >&2
hwm0=$(hwm_kib "$KIOSK_PID")
hub_start
start=$(date +%s.%N)
ctl sync >/dev/null
until [ "$(ctl --json status | jq .active_holds)" = "$N" ]; do
	sleep 0.02
	awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { exit !(n - s > 120) }' &&
		bench_fail "the kiosk has $(ctl --json status | jq .active_holds) of $N holds after 120 s"
done
end=$(date +%s.%N)
hwm=$(hwm_kib "$KIOSK_PID")
status=$(ctl --json status)
got=$(ctl --json holds --limit 1000 | jq '.holds | length')
[ "$got" -gt 0 ] || bench_fail "lokerctl holds lists none"
kiosk_stop
# Every hold once, read from the kiosk's database now that it is shut.
got=$(sqlite3 "$WORK/lokerd.db" "SELECT count(*), count(DISTINCT id) FROM holds WHERE id GLOB 'SLiMS-*' AND state = 'pending'")
[ "$got" = "$N|$N" ] || bench_fail "the kiosk stored $got (holds, distinct) of $N"

awk -v s="$start" -v e="$end" -v n="$N" 'BEGIN {
	printf "pull %d holds\t%.2f\ts\n", n, e - s
	printf "holds per second\t%.0f\tholds/s\n", n / (e - s) }'
printf 'requests\t%s\trequests\n' "$(jq .sync.requests <<<"$status")"
printf 'lokerd peak memory before (VmHWM)\t%.1f\tMiB\n' "$(awk -v k="$hwm0" 'BEGIN { print k / 1024 }')"
printf 'lokerd peak memory after (VmHWM)\t%.1f\tMiB\n' "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')"
