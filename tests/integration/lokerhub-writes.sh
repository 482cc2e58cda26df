#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerhub's group commit (issue 26), through real processes over HTTPS:
# - reads never wait behind the write lock: while another process holds
#   the database's write lock and uploads wait for it, every changes pull
#   and item lookup is answered, before the lock is let go;
# - the uploads that waited together are committed together (fewer
#   commits than writes, in fleet.json), and each is answered once
#   committed;
# - a WAL checkpoint never holds the writes up: while one is held in its
#   sync of the database file (hold-sync.c), uploads are answered;
# - nothing is acknowledged before it is committed: uploaders run until
#   lokerhub is killed (SIGKILL), and every event id any of them was told
#   "accepted" is in the database;
# - nor before it is on disk: with the WAL's syncs held, an upload or a
#   heartbeat acknowledging a command is answered only after its sync; a
#   heartbeat that acknowledges nothing (its status alone) before, its
#   status stored by the writer's next group, and by a stop.
# No timing is asserted: only what happened, in order, and counts.
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}" "${HOLD_SYNC:?}"
WORK=$(mktemp -d /tmp/lokerbuku-hubw.XXXXXX)
HUB_PID=
HOLDER=
cleanup() {
	local rc=$?
	[ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null || true
	jobs -p | xargs -r kill 2>/dev/null || true
	hub_stop KILL
	if [ $rc -ne 0 ] && [ -f "$WORK/hub/hub.log" ]; then
		echo "--- lokerhub log (last 30 lines):" >&2
		tail -n 30 "$WORK/hub/hub.log" >&2
	fi
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
command -v sqlite3 >/dev/null || fail "needs the sqlite3 command line"

umask 077
KIOSKS=8
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/site.key"
hub_setup "$WORK/hub" k0 "$WORK/site.key"
mv "$WORK/hub/token" "$WORK/hub/token.k0"
hub patron-add P-1 --name Siti --uid 04A1B2C3D4E5F6 >/dev/null
for ((i = 1; i < KIOSKS; i++)); do
	hub kiosk-add "k$i" --token-file "$WORK/hub/token.k$i" --no-pin-required >/dev/null
done
hub hold-add H-1 --kiosk k0 --patron P-1 --item "B-1=Bumi Manusia" >/dev/null
HUB_FLEET="--fleet-listen 127.0.0.1:0 --fleet-port-file $WORK/hub/fleet-port"
hub_start
for _ in $(seq 200); do [ -s "$WORK/hub/fleet-port" ] && break; sleep 0.05; done
FLEET=http://127.0.0.1:$(cat "$WORK/hub/fleet-port")/fleet.json
# server FIELD: a figure of fleet.json's server; the status page is a
# read too, answered while writes wait for the lock.
server() {
	local v
	v=$(curl -sS --max-time 30 "$FLEET" 2>/dev/null) ||
		fail "the status page (fleet.json) did not answer while writes waited for the write lock"
	v=$(jq -r ".server.$1" <<<"$v")
	[ "$v" != null ] || fail "fleet.json has no server.$1"
	echo "$v"
}

# upload K FILE [N]: one upload of N (4) new events by kiosk K; the ids
# it was told accepted or duplicate go to FILE. Prints the HTTP status.
upload() {
	local k=$1 body ids=() code i out=$WORK/up.$1.$BASHPID
	for ((i = 0; i < ${3:-4}; i++)); do ids+=("$(cat /proc/sys/kernel/random/uuid)"); done
	body=$(printf '{"id":"%s","seq":1,"type":"door_opened","at":"2026-12-06T08:00:00.000Z","payload":{"locker":1}},' "${ids[@]}")
	code=$(curl -sS --max-time "${UPLOAD_MAX_TIME:-60}" --cacert "$WORK/hub/ca/ca.pem" -o "$out" -w '%{http_code}' \
		-H "Authorization: Bearer $(cat "$WORK/hub/token.$k")" -H 'Content-Type: application/json' \
		--data-binary "{\"events\":[${body%,}]}" "$HUB_URL/kiosks/$k/events" 2>/dev/null) || code=000
	if [ "$code" = 200 ] && [ -f "$out" ]; then
		jq -r '.results[] | select(.status == "accepted" or .status == "duplicate") | .id' \
			"$out" >>"$2"
	fi
	rm -f "$out"
	echo "$code"
}

echo "--- reads while another process holds the write lock"
# The holder: takes the write lock, says so, and keeps it until told to
# let go (or 60 s, which it says: then the reads did not come through).
python3 - "$WORK/hub/hub.db" "$WORK/locked" "$WORK/release" >"$WORK/holder.out" <<'PY' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE meta SET value = value WHERE key = 'instance'")
open(sys.argv[2], "w").close()
for _ in range(600):
    if os.path.exists(sys.argv[3]):
        print("released", flush=True)
        break
    time.sleep(0.1)
else:
    print("timeout", flush=True)
db.execute("ROLLBACK")
PY
HOLDER=$!
for _ in $(seq 600); do [ -e "$WORK/locked" ] && break; sleep 0.05; done
[ -e "$WORK/locked" ] || fail "the holder did not take the write lock"
writes0=$(server writes)
commits0=$(server write_commits)
# Every kiosk uploads; each upload waits for the lock (and is sent again
# on a 500, as a kiosk would, should the lock outlast the busy timeout).
for ((i = 0; i < KIOSKS; i++)); do
	(
		for _ in $(seq 10); do
			code=$(upload "k$i" "$WORK/acked.lock")
			[ "$code" != 200 ] || exit 0
		done
		exit 1
	) &
	echo $! >>"$WORK/uploaders"
done
# The uploads are in once their connections are open.
for _ in $(seq 600); do
	n=$(server connections)
	[ "$n" -ge "$KIOSKS" ] && break
	sleep 0.05
done
[ "$n" -ge "$KIOSKS" ] || fail "the uploads did not connect"
# Reads, on one kept connection: 20 changes pulls and 20 item lookups.
urls=()
for _ in $(seq 20); do
	urls+=(-o /dev/null "$HUB_URL/kiosks/k0/changes" -o /dev/null "$HUB_URL/kiosks/k0/items/B-1")
done
curl -sS --max-time 120 --cacert "$WORK/hub/ca/ca.pem" -H "Authorization: Bearer $(cat "$WORK/hub/token.k0")" \
	-w '%{http_code}\n' "${urls[@]}" >"$WORK/reads" 2>/dev/null || true
kill -0 "$HOLDER" 2>/dev/null || fail "the holder let go before the reads came back: $(cat "$WORK/holder.out")"
touch "$WORK/release"
wait "$HOLDER" || fail "the holder failed"
HOLDER=
[ "$(cat "$WORK/holder.out")" = released ] ||
	fail "the reads were not answered while the write lock was held ($(grep -c '^200$' "$WORK/reads") of 40 by then)"
[ "$(grep -c '^200$' "$WORK/reads")" = 40 ] || fail "reads: $(sort "$WORK/reads" | uniq -c | tr '\n' ' ')"
echo "40 reads answered while the write lock was held"
while read -r pid; do wait "$pid" || fail "an upload was never answered 200"; done <"$WORK/uploaders"
writes=$(($(server writes) - writes0))
commits=$(($(server write_commits) - commits0))
echo "$writes writes waiting for the lock took $commits commits"
[ "$writes" -ge "$KIOSKS" ] || fail "only $writes writes counted"
[ "$commits" -lt "$writes" ] || fail "no two writes shared a commit ($writes writes, $commits commits)"
got=$(sort -u "$WORK/acked.lock" | wc -l)
[ "$got" = $((4 * KIOSKS)) ] || fail "$got events acknowledged, not $((4 * KIOSKS))"

echo "--- every acknowledged event is in the database after a SIGKILL"
: >"$WORK/acked"
for ((i = 0; i < KIOSKS; i++)); do
	( while upload "k$i" "$WORK/acked.k$i" >/dev/null; do :; done ) &
done
# Until 200 uploads were acknowledged, whatever time that takes.
for _ in $(seq 6000); do
	n=$(cat "$WORK"/acked.k* 2>/dev/null | wc -l) || true
	[ "$n" -ge 800 ] && break
	sleep 0.05
done
kill -KILL "$HUB_PID"
wait "$HUB_PID" 2>/dev/null || true
HUB_PID=
jobs -p | xargs -r kill 2>/dev/null || true
wait 2>/dev/null || true
cat "$WORK"/acked.k* | sort -u >"$WORK/acked"
[ "$(wc -l <"$WORK/acked")" -ge 800 ] || fail "only $(wc -l <"$WORK/acked") events acknowledged"
sqlite3 "$WORK/hub/hub.db" "SELECT id FROM events" | sort -u >"$WORK/stored"
missing=$(comm -23 "$WORK/acked" "$WORK/stored" | wc -l)
echo "$(wc -l <"$WORK/acked") events acknowledged before the kill, $(wc -l <"$WORK/stored") stored, $missing missing"
[ "$missing" = 0 ] || fail "$missing acknowledged events are not in the database"

echo "--- uploads answered while a checkpoint syncs the database file"
# The first sync of hub.db (only a checkpoint syncs it: a commit syncs the
# WAL) is held until $WORK/hold/go exists.
mkdir "$WORK/hold"
LD_PRELOAD=$HOLD_SYNC HOLD_SYNC_FILE=$WORK/hub/hub.db HOLD_SYNC_DIR=$WORK/hold hub_start
# Uploads of 200 events until their pages in the WAL call for a
# checkpoint (1,000 pages) and it is held.
(
	while [ ! -e "$WORK/hold/held" ]; do
		upload k1 "$WORK/acked.fill" 200 >/dev/null
	done
) &
FILLER=$!
for _ in $(seq 2400); do [ -e "$WORK/hold/held" ] && break; sleep 0.05; done
[ -e "$WORK/hold/held" ] || fail "no checkpoint synced the database after $(wc -l <"$WORK/acked.fill") events"
echo "a checkpoint is held in its sync after $(wc -l <"$WORK/acked.fill") events"
# Before, the writer ran the checkpoint in its commit: every write waited
# for the held sync, and these were never answered.
for i in 1 2 3; do
	code=$(UPLOAD_MAX_TIME=30 upload k2 "$WORK/acked.held")
	[ "$code" = 200 ] || fail "upload $i was not answered while the checkpoint was held (HTTP $code)"
	[ ! -e "$WORK/hold/go" ] || fail "the checkpoint was let go too early"
done
echo "3 uploads answered while the checkpoint was held"
touch "$WORK/hold/go"
wait "$FILLER" || true
[ "$(sort -u "$WORK/acked.held" | wc -l)" = 12 ] || fail "$(wc -l <"$WORK/acked.held") events acknowledged, not 12"
hub_stop
sqlite3 "$WORK/hub/hub.db" "SELECT id FROM events" | sort -u >"$WORK/stored"
missing=$(sort -u "$WORK/acked.fill" "$WORK/acked.held" | comm -23 - "$WORK/stored" | wc -l)
[ "$missing" = 0 ] || fail "$missing acknowledged events are not in the database"

echo "--- a heartbeat is answered before its sync; what it acknowledges, and an upload, after"
# heartbeat K BODY: a heartbeat of kiosk K; prints the HTTP status.
heartbeat() {
	curl -sS --max-time 60 --cacert "$WORK/hub/ca/ca.pem" -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $(cat "$WORK/hub/token.$1")" -H 'Content-Type: application/json' \
		-H 'Lokerbuku-Sync: 1.1' --data "$2" "$HUB_URL/kiosks/$1/status" 2>"$WORK/curl.err" || cat "$WORK/curl.err" >&2
}
# held DIR: waits until a sync of the WAL is held (10 s at most).
held() {
	for _ in $(seq 200); do [ -e "$1/held" ] && return 0; sleep 0.05; done
	return 1
}
cmd=$(hub command k3 open_locker --locker 1)
# hub_held DIR: lokerhub with each sync of its WAL held until DIR/go
# exists, once the WAL was begun (one upload) and DIR/armed made.
hub_held() {
	mkdir "$1"
	LD_PRELOAD=$HOLD_SYNC HOLD_SYNC_FILE=$WORK/hub/hub.db-wal HOLD_SYNC_DIR=$1 HOLD_SYNC_ARMED=1 hub_start
	[ "$(upload k5 "$WORK/acked.sync")" = 200 ] || fail "an upload before the syncs were held failed"
	touch "$1/armed"
}
# after_sync DIR WHAT COMMAND...: COMMAND, which prints an HTTP status, run
# in the background, syncs the WAL and is answered 200 only once let go.
after_sync() {
	local dir=$1 what=$2 pid
	shift 2
	"$@" >"$dir/code" &
	pid=$!
	held "$dir" || fail "$what did not sync the WAL"
	kill -0 "$pid" 2>/dev/null || fail "$what was answered before its sync"
	touch "$dir/go"
	wait "$pid"
	[ "$(cat "$dir/code")" = 200 ] || fail "$what: HTTP $(cat "$dir/code")"
}
# uptime_of K: the uptime_s of kiosk K's status in the database.
uptime_of() {
	sqlite3 "$WORK/hub/hub.db" "SELECT json_extract(status_json, '$.uptime_s') FROM kiosks WHERE id = '$1'"
}
hub_held "$WORK/hold.a"
for i in 1 2 3; do
	code=$(heartbeat k3 "{\"backlog\":0,\"uptime_s\":$i,\"done_commands\":[]}")
	[ "$code" = 200 ] || fail "heartbeat $i was not answered while syncs of the WAL were held (HTTP $code)"
done
! held "$WORK/hold.a" || fail "a heartbeat that acknowledged nothing synced the WAL"
echo "3 heartbeats answered, the WAL not synced"
# Their statuses wait in memory for the writer's next group (a second).
for _ in $(seq 200); do [ "$(uptime_of k3)" = 3 ] && break; sleep 0.05; done
[ "$(uptime_of k3)" = 3 ] || fail "the last heartbeat's status was not stored within 10 s (uptime_s: $(uptime_of k3))"
echo "the last heartbeat's status was stored"
after_sync "$WORK/hold.a" "an upload" upload k4 "$WORK/acked.sync"
[ "$(sort -u "$WORK/acked.sync" | wc -l)" = 8 ] || fail "$(wc -l <"$WORK/acked.sync") events acknowledged, not 8"
echo "an upload was answered after its sync"
# A status still in memory is stored when lokerhub stops.
[ "$(heartbeat k3 '{"backlog":0,"uptime_s":4,"done_commands":[]}')" = 200 ] || fail "heartbeat 4 was not answered"
hub_stop
[ "$(uptime_of k3)" = 4 ] || fail "the status of a heartbeat answered just before a stop was lost (uptime_s: $(uptime_of k3))"
echo "the status of a heartbeat answered just before a stop was stored"
# A command acknowledged is on disk before the reply: else a power cut
# could bring it back, and the kiosk would run it again.
hub_held "$WORK/hold.b"
after_sync "$WORK/hold.b" "the heartbeat acknowledging $cmd" \
	heartbeat k3 "{\"backlog\":0,\"done_commands\":[\"$cmd\"]}"
hub_stop
[ "$(sqlite3 "$WORK/hub/hub.db" "SELECT done_usec IS NOT NULL FROM commands WHERE n = ${cmd#c-}")" = 1 ] ||
	fail "$cmd is not done after its acknowledgement"
echo "the heartbeat acknowledging $cmd was answered after its sync"
echo "PASS"
