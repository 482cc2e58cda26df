#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Prometheus listener (docs/monitoring.md) of the real lokerd, asked
# with curl: off unless configured; on loopback without a token; refused
# beyond loopback without one; 401 and 200 with one; counters that move
# with a pickup; and text that promtool (Prometheus's own checker) takes.
# (The alert rules and the dashboard: tests/integration/dashboard.sh.)
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null ||
	fail "promtool is missing: tools/bootstrap installs it (package prometheus)"

TOKEN=3f9c0a7d41e2b6c85d0f9a1e7b3c2d4e
(umask 077 && echo "$TOKEN" >"$WORK/metrics.token")

# scrape URL [CURL ARGS...]: the body, then the status on a line.
scrape() {
	local url=$1
	shift
	curl -s -w '\n%{http_code}' "$@" "$url"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { head -n -1 <<<"$1"; }
# value TEXT SERIES: the value of one series, e.g. 'lokerbuku_pickups_total'.
value() {
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' <<<"$1" ||
		fail "no series $2 in the scrape"
}
# Every line is a comment or a sample of our prefix, as the format says.
check_syntax() {
	local bad
	bad=$(grep -vE '^(# (HELP|TYPE) lokerbuku_[a-z_]+ .+|lokerbuku_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9]+(\.[0-9]+)?)$' <<<"$1" || true)
	[ -z "$bad" ] || fail "lines not in the exposition format: $bad"
	promtool check metrics <<<"$1" || fail "promtool refused the scrape"
}
listening() { ss -ltnpH | grep -q "pid=$KIOSK_PID,"; }

echo "off by default: lokerd listens on no TCP port"
kiosk_write_config "$WORK"
kiosk_start "$WORK"
expect '.metrics==null' "$(ctl --json status)"
listening && fail "lokerd listens without [metrics]: $(ss -ltnpH | grep "pid=$KIOSK_PID,")"
kiosk_stop

echo "beyond loopback, a token is required: the configuration is refused"
kiosk_write_config "$WORK" "
[metrics]
listen = 0.0.0.0:0"
out=$("$BIN/lokerd" --check-config -c "$WORK/lokerd.conf" 2>&1) &&
	fail "--check-config took a listener beyond loopback without a token"
grep -q '\[metrics\] token_file: missing' <<<"$out" || fail "no key named: $out"
"$BIN/lokerd" -c "$WORK/lokerd.conf" 2>"$WORK/refused.log" &&
	fail "lokerd started beyond loopback without a token"
grep -q '\[metrics\] token_file: missing' "$WORK/refused.log" ||
	fail "lokerd did not name the key: $(cat "$WORK/refused.log")"

echo "on loopback without a token: the metrics, in the text format"
rm -f "$WORK/lokerd.db"
kiosk_write_config "$WORK" "
[metrics]
listen = 127.0.0.1:0"
kiosk_start "$WORK"
url=$(ctl --json status | jq -r .metrics.url)
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+/metrics$ ]] || fail "metrics url: $url"
headers=$(curl -s -D - -o /dev/null "$url")
grep -q "^HTTP/1.1 200" <<<"$headers" || fail "GET: $headers"
grep -qi '^Content-Type: text/plain; version=0.0.4' <<<"$headers" ||
	fail "content type: $headers"
r=$(scrape "$url")
[ "$(status_of "$r")" = 200 ] || fail "scrape: $r"
before=$(body_of "$r")
check_syntax "$before"
[ "$(value "$before" 'lokerbuku_in_service')" = 1 ] || fail "in_service"
[ "$(value "$before" 'lokerbuku_reader_up')" = 1 ] || fail "reader_up"
[ "$(value "$before" 'lokerbuku_lockbank_up')" = 1 ] || fail "lockbank_up"
[ "$(value "$before" 'lokerbuku_door_open{locker="12"}')" = 0 ] || fail "door 12"
grep -q '^lokerbuku_build_info{version="[^"]*",kiosk="demo-01"} 1$' <<<"$before" ||
	fail "build_info: $(grep build_info <<<"$before")"

echo "a load and a pickup move the counters, the doors and the backlog"
ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 --item "B1=Laskar Pelangi" >/dev/null
ctl load H-1 >/dev/null
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
ctl sim tap uid:0000000000BAD0 >/dev/null
ctl sim tap uid:04A1B2C3D4E5F6 >/dev/null
ctl sim door 1 open >/dev/null
during=$(body_of "$(scrape "$url")")
check_syntax "$during"
[ "$(value "$during" 'lokerbuku_door_open{locker="1"}')" = 1 ] || fail "door 1 open"
[ "$(value "$during" 'lokerbuku_locker_state{locker="1",state="open"}')" = 1 ] ||
	fail "locker 1 state: $(grep 'locker_state{locker="1"' <<<"$during")"
ctl sim door 1 close >/dev/null
after=$(body_of "$(scrape "$url")")
for series in 'lokerbuku_taps_total{credential="uid"}' lokerbuku_pickups_total \
	lokerbuku_unlocks_total 'lokerbuku_refusals_total{reason="unknown_card"}' \
	'lokerbuku_events_total{type="hold_loaded"}'; do
	b=$(value "$before" "$series")
	a=$(value "$after" "$series")
	[ "$a" -gt "$b" ] || fail "$series did not grow: $b -> $a"
done
[ "$(value "$after" 'lokerbuku_taps_total{credential="uid"}')" = 2 ] || fail "taps"
[ "$(value "$after" lokerbuku_pickups_total)" = 1 ] || fail "pickups"
[ "$(value "$after" lokerbuku_unlocks_total)" = 2 ] || fail "unlocks"
[ "$(value "$after" 'lokerbuku_door_open{locker="1"}')" = 0 ] || fail "door 1 closed"
backlog=$(ctl --json status | jq .backlog)
[ "$(value "$after" lokerbuku_outbox_unsent_events)" = "$backlog" ] ||
	fail "backlog: status says $backlog"
awk '$1 == "lokerbuku_outbox_oldest_unsent_age_seconds" && $2 > 0 { ok = 1 } END { exit !ok }' \
	<<<"$after" || fail "no age for the oldest unsent event"

echo "only GET /metrics, without a body"
[ "$(status_of "$(scrape "${url%/metrics}/")")" = 404 ] || fail "/ is not 404"
[ "$(status_of "$(scrape "$url" -X POST)")" = 405 ] || fail "POST is not 405"
[ "$(status_of "$(scrape "$url" --data-binary x)")" = 405 ] || fail "a POST body"
[ "$(status_of "$(scrape "$url" -X GET --data-binary x)")" = 413 ] ||
	fail "a GET with a body is not 413"

echo "connections are bounded, and the bound frees as they close"
fds=()
for _ in $(seq 8); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$(sed -E 's|.*:([0-9]+)/.*|\1|' <<<"$url")"
	fds+=("$fd")
done
sleep 0.2
[ "$(status_of "$(scrape "$url" --max-time 3)")" != 200 ] ||
	fail "a ninth connection was served while eight were open"
for fd in "${fds[@]}"; do exec {fd}>&-; done
for _ in $(seq 50); do
	[ "$(status_of "$(scrape "$url" --max-time 3)")" = 200 ] && break
	sleep 0.1
done
[ "$(status_of "$(scrape "$url" --max-time 5)")" = 200 ] ||
	fail "no scrape after the idle clients left"
kiosk_stop

echo "with a token beyond loopback, and a server that does not answer"
kiosk_write_config "$WORK" "
[metrics]
listen = 0.0.0.0:0
token_file = $WORK/metrics.token
[sync]
url = https://127.0.0.1:1/locker-sync/v1
token_file = $WORK/metrics.token"
kiosk_start "$WORK"
url=$(ctl --json status | jq -r .metrics.url)
[[ $url =~ ^http://0\.0\.0\.0:[0-9]+/metrics$ ]] || fail "metrics url: $url"
url=http://127.0.0.1:${url##*:}
r=$(curl -s -D - "$url")
grep -q "^HTTP/1.1 401" <<<"$r" || fail "no token: $r"
grep -qi '^WWW-Authenticate: Bearer' <<<"$r" || fail "no challenge: $r"
grep -q lokerbuku_ <<<"$r" && fail "metrics without a token: $r"
[ "$(status_of "$(scrape "$url" -H "Authorization: Bearer ${TOKEN%?}0")")" = 401 ] ||
	fail "a wrong token was taken"
[ "$(status_of "$(scrape "$url" -H "Authorization: Basic $TOKEN")")" = 401 ] ||
	fail "a Basic scheme was taken"
[ "$(status_of "$(scrape "${url%/metrics}/x")")" = 401 ] ||
	fail "an unknown path told without a token"
for _ in $(seq 100); do
	r=$(scrape "$url" -H "Authorization: Bearer $TOKEN")
	[ "$(status_of "$r")" = 200 ] || fail "with the token: $r"
	m=$(body_of "$r")
	[ "$(value "$m" lokerbuku_sync_failures_total)" -ge 1 ] && break
	sleep 0.1
done
check_syntax "$m"
[ "$(value "$m" lokerbuku_sync_up)" = 0 ] || fail "sync_up with no server"
[ "$(value "$m" lokerbuku_sync_failures_total)" -ge 1 ] || fail "no sync failure counted"
[ "$(value "$m" lokerbuku_sync_last_success_timestamp_seconds)" = 0.000000 ] ||
	fail "a success with no server"
# The bearer token was never logged.
grep -q "$TOKEN" "$WORK/lokerd.log" && fail "the token is in the log"
kiosk_stop
echo "ok"
