#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerhub's event retention (issue 26), through real processes over HTTPS:
# 3,000 events of a kiosk are made a year old in the database; lokerhub
# serve --event-retention-days 30 moves them to the compressed archive in
# small steps while three other kiosks keep uploading (none of their
# uploads lost or refused), each old event whole in archive-export; sent
# again, the old events are answered duplicate; resend_events still starts
# after the newest event the kiosk sent. Prints the bytes an event takes
# in the hot table and in the archive (docs/lokerhub.md).
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}"
WORK=$(mktemp -d /tmp/lokerbuku-hubr.XXXXXX)
HUB_PID=
cleanup() {
	local rc=$?
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
sql() { sqlite3 -cmd '.timeout 30000' "$WORK/hub/hub.db" "$@"; }

umask 077
OLD=3000
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/site.key"
hub_setup "$WORK/hub" k0 "$WORK/site.key"
mv "$WORK/hub/token" "$WORK/hub/token.k0"
hub patron-add P-1 --name Siti --uid 04A1B2C3D4E5F6 >/dev/null
for i in 1 2 3; do
	hub kiosk-add "k$i" --token-file "$WORK/hub/token.k$i" --no-pin-required >/dev/null
done
for i in 0 1 2 3; do
	hub hold-add "H-k$i" --kiosk "k$i" --patron P-1 --item "B-k$i=Buku $i" >/dev/null
done

# bodies K FIRST_SEQ N PER DIR: N events of kiosk K as lokerd sends them
# (loads and pickups of its hold, in turn), PER to an upload, one file an
# upload in DIR.
bodies() {
	python3 - "$@" <<'PY'
import json, sys, uuid
k, seq, n, per, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
events = []
for i in range(n):
    load = (seq + i) % 2 == 0
    events.append({"id": str(uuid.uuid4()), "seq": seq + i,
        "type": "hold_loaded" if load else "hold_picked_up",
        "at": "2025-12-06T08:%02d:%02d.000Z" % (i // 60 % 60, i % 60),
        "payload": {"hold_id": "H-" + k, "locker": 3, "items": [{"barcode": "B-" + k}],
                    "actor": "staff:STAFF-01" if load else "patron"}})
for j in range(0, n, per):
    with open("%s/%06d.json" % (out, j // per), "w") as f:
        json.dump({"events": events[j:j + per]}, f)
PY
}
# post K FILE: uploads FILE as kiosk K; the reply in FILE.reply. Status.
post() {
	curl -sS --max-time 60 --cacert "$WORK/hub/ca/ca.pem" -o "$2.reply" -w '%{http_code}' \
		-H "Authorization: Bearer $(cat "$WORK/hub/token.$1")" -H 'Content-Type: application/json' \
		--data-binary "@$2" "$HUB_URL/kiosks/$1/events" 2>/dev/null || echo 000
}

echo "--- $OLD events of k0, made a year old"
mkdir "$WORK/old"
bodies k0 1 "$OLD" 500 "$WORK/old"
HUB_SERVE_OPTS="--event-retention-days 30"
hub_start
for f in "$WORK"/old/*.json; do
	[ "$(post k0 "$f")" = 200 ] || fail "upload of old events: $(cat "$f.reply")"
	[ "$(jq '[.results[] | select(.status == "accepted")] | length' "$f.reply")" = 500 ] ||
		fail "old events not all accepted: $(head -c 300 "$f.reply")"
done
hub_stop
bytes_hot=$(sql "SELECT sum(pgsize) FROM dbstat WHERE name IN ('events', 'sqlite_autoindex_events_1', 'events_kiosk')")
sql "UPDATE events SET received_usec = received_usec - 365 * 86400 * 1000000"
[ "$(sql "SELECT count(*) FROM events WHERE received_usec < (strftime('%s','now') - 300 * 86400) * 1000000")" = "$OLD" ] ||
	fail "the events were not made old"

echo "--- retention runs while three kiosks upload"
for i in 1 2 3; do
	mkdir "$WORK/new.k$i"
	bodies "k$i" 1 400 4 "$WORK/new.k$i"
done
HUB_FLEET="--fleet-listen 127.0.0.1:0 --fleet-port-file $WORK/hub/fleet-port"
hub_start
for i in 1 2 3; do
	(
		for f in "$WORK/new.k$i"/*.json; do
			code=$(post "k$i" "$f")
			[ "$code" = 200 ] || { echo "k$i: HTTP $code: $(cat "$f.reply" 2>/dev/null)"; exit 1; }
			[ "$(jq '[.results[] | select(.status == "accepted")] | length' "$f.reply")" = 4 ] ||
				{ echo "k$i: not accepted: $(cat "$f.reply")"; exit 1; }
		done
	) &
	echo $! >>"$WORK/uploaders"
done
while read -r pid; do wait "$pid" || fail "an uploader failed"; done <"$WORK/uploaders"
# Retention goes on until the old ones are gone, in steps.
for _ in $(seq 1200); do
	grep -q 'event retention: .* moved to the archive' "$WORK/hub/hub.log" && break
	sleep 0.05
done
grep 'event retention' "$WORK/hub/hub.log" || fail "retention said nothing"
[ "$(sql "SELECT count(*) FROM events WHERE kiosk_id = 'k0'")" = 0 ] ||
	fail "$(sql "SELECT count(*) FROM events WHERE kiosk_id = 'k0'") old events still in the hot table"
[ "$(sql "SELECT count(*) FROM events")" = 1200 ] || fail "$(sql "SELECT count(*) FROM events") new events, not 1200"
[ "$(sql "SELECT sum(count) FROM event_archive")" = "$OLD" ] || fail "the archive does not hold $OLD events"
steps=$(sql "SELECT count(*) FROM event_archive")
[ "$steps" -ge $((OLD / 256)) ] || fail "$OLD events archived in $steps steps: not in small steps"
# Uploads were taken while the steps ran: the log says which came first.
awk '/serving https/ { s = 1 } s && /POST .*\/events 200/ { n++ } /moved to the archive/ { print n + 0; exit }' \
	"$WORK/hub/hub.log" >"$WORK/during"
echo "$OLD old events archived in $steps steps; $(cat "$WORK/during") uploads answered before the last step"
[ "$(cat "$WORK/during")" -gt 0 ] || fail "no upload was answered while retention ran"
[ "$(curl -sS "http://127.0.0.1:$(cat "$WORK/hub/fleet-port")/fleet.json" | jq .server.events_archived)" = "$OLD" ] ||
	fail "fleet.json does not count the archived events"

echo "--- the archive keeps every old event whole"
hub archive-export >"$WORK/export"
[ "$(wc -l <"$WORK/export")" = "$OLD" ] || fail "archive-export: $(wc -l <"$WORK/export") lines"
jq -r '.events[].id' "$WORK"/old/*.json | sort >"$WORK/old.ids"
jq -r .id "$WORK/export" | sort >"$WORK/export.ids"
cmp -s "$WORK/old.ids" "$WORK/export.ids" || fail "the archive's ids differ from those uploaded"
first=$(jq -c '.events[0]' "$WORK/old/000000.json")
jq -se --argjson e "$first" 'map(select(.id == $e.id)) | length == 1 and (.[0] | .kiosk == "k0"
	and .seq == $e.seq and .type == $e.type and .payload == $e.payload and .status == "accepted")' \
	"$WORK/export" >/dev/null ||
	fail "the archived event differs from the one sent: $first, archived: $(grep "$(jq -r .id <<<"$first")" "$WORK/export")"

echo "--- sent again, the old events are duplicates"
for f in "$WORK"/old/000000.json "$WORK"/old/000005.json; do
	[ "$(post k0 "$f")" = 200 ] || fail "resend: $(cat "$f.reply")"
	[ "$(jq '[.results[] | select(.status == "duplicate")] | length' "$f.reply")" = 500 ] ||
		fail "an archived event sent again was not a duplicate: $(head -c 300 "$f.reply")"
done
[ "$(sql "SELECT count(*) FROM events WHERE kiosk_id = 'k0'")" = 0 ] || fail "a resent old event was stored again"
# And resend_events (no --from-seq) starts after the newest k0 sent.
hub command k0 resend_events >/dev/null
[ "$(hub commands --kiosk k0 --json | jq '.[-1].from_seq')" = $((OLD + 1)) ] ||
	fail "resend_events does not start after the archived events: $(hub commands --kiosk k0 --json)"
hub_stop

echo "--- the bytes of an event"
bytes_ids=$(sql "SELECT sum(pgsize) FROM dbstat WHERE name IN ('event_ids')")
bytes_arch=$(sql "SELECT sum(pgsize) FROM dbstat WHERE name IN ('event_archive')")
bytes_blob=$(sql "SELECT sum(length(data)) FROM event_archive")
awk -v h="$bytes_hot" -v i="$bytes_ids" -v a="$bytes_arch" -v b="$bytes_blob" -v n="$OLD" 'BEGIN {
	printf "hot table and its indexes\t%.0f\tbytes/event\n", h / n
	printf "archive (compressed, pages)\t%.0f\tbytes/event\n", a / n
	printf "archive (compressed data alone)\t%.0f\tbytes/event\n", b / n
	printf "kept ids (event_ids)\t%.0f\tbytes/event\n", i / n }'
echo "PASS"
