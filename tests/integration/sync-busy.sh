#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A lokerhub at its connection limit (issue 26): a kiosk past the limit is
# answered 503 with Retry-After, not left to time out unanswered; lokerd
# says so and waits as told, sending nothing meanwhile; lokerhub's log
# names the limit, and the status page's data counts the refusals; once
# connections are free again the kiosk gets in.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
HOLDER_PID=
stop_all() {
	[ -z "$HOLDER_PID" ] || kill "$HOLDER_PID" 2>/dev/null || true
	hub_stop
}
CLEANUP_HOOK=stop_all
LIMIT=2

kiosk_write_config "$WORK"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
HUB_FLEET="--fleet-listen 127.0.0.1:0 --fleet-port-file $WORK/fleet.port" \
	HUB_SERVE_OPTS="--max-connections $LIMIT" hub_start
hub_sync_config >>"$WORK/lokerd.conf"

echo "$LIMIT other clients hold every connection lokerhub allows, over TLS"
python3 - "$HUB_PORT" "$LIMIT" "$HUB_DIR/ca/ca.pem" >"$WORK/holder.out" <<'PY' &
import socket, ssl, sys, time
port, n, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
held = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                        server_hostname="localhost") for _ in range(n)]
print("held", len(held), flush=True)
time.sleep(600)
PY
HOLDER_PID=$!
for _ in $(seq 300); do
	grep -q held "$WORK/holder.out" && break
	kill -0 "$HOLDER_PID" 2>/dev/null || fail "the holder of connections failed"
	sleep 0.1
done
grep -q "held $LIMIT" "$WORK/holder.out" || fail "the holder did not connect"

echo "a client past the limit is answered 503 with Retry-After, and the connection closed"
curl -sS -D "$WORK/headers" -o "$WORK/body" --max-time 20 --cacert "$HUB_DIR/ca/ca.pem" \
	-H "Authorization: Bearer $(cat "$HUB_DIR/token")" "$HUB_URL/kiosks/demo-01/changes" ||
	fail "curl got no reply past the limit"
head -n 1 "$WORK/headers" | grep -q '^HTTP/1.1 503' || fail "not 503: $(head -n 1 "$WORK/headers")"
retry=$(tr -d '\r' <"$WORK/headers" | sed -n 's/^Retry-After: *//Ip')
[[ "$retry" =~ ^[0-9]+$ ]] && [ "$retry" -ge 30 ] && [ "$retry" -lt 60 ] ||
	fail "Retry-After is not 30 to 59 s: '$retry'"
tr -d '\r' <"$WORK/headers" | grep -qi '^Connection: close$' || fail "no Connection: close"
jq -e '.error.code == "unavailable"' "$WORK/body" >/dev/null || fail "not an unavailable error: $(cat "$WORK/body")"
echo "  $(head -n 1 "$WORK/headers" | tr -d '\r'), Retry-After: $retry, $(jq -r .error.message "$WORK/body")"
grep -q "over the limit of $LIMIT (--max-connections)" "$HUB_DIR/hub.log" ||
	fail "lokerhub's log does not name the limit"
grep "over the limit" "$HUB_DIR/hub.log" | sed 's/^/  /'
server=$(curl -sS --max-time 20 "http://127.0.0.1:$(cat "$WORK/fleet.port")/fleet.json" | jq -c .server)
expect ".max_connections == $LIMIT and .connections >= $LIMIT and .refused_at_limit >= 1" "$server"
echo "  the status page's data: $server"

echo "lokerd past the limit: told 503, says so, waits as told"
kiosk_start "$WORK"
for _ in $(seq 300); do
	grep -q 'sync: .*503.*trying again in' "$WORK/lokerd.log" && break
	sleep 0.1
done
said=$(grep 'sync: .*503' "$WORK/lokerd.log" | head -n 1) || fail "lokerd did not say it was refused with 503"
echo "  lokerd: ${said#*sync: }"
wait_s=$(sed -n 's/.*trying again in \([0-9]*\)\.[0-9] s.*/\1/p' <<<"$said")
[ -n "$wait_s" ] && [ "$wait_s" -ge 30 ] || fail "lokerd does not wait the Retry-After of at least 30 s: $said"
! grep -i 'timed out\|timeout was reached' "$WORK/lokerd.log" || fail "lokerd timed out instead"
expect '.sync.last_error | test("503")' "$(ctl --json status)"
asked() { grep -c 'kiosks/demo-01/' "$HUB_DIR/hub.log" || true; }
refused=$(grep -c 'kiosks/demo-01/.* 503 ' "$HUB_DIR/hub.log" || true)
before=$(asked)
# Load only makes this longer: the Retry-After was at least 30 s.
sleep 10
[ "$(asked)" = "$before" ] || fail "lokerd asked again before its Retry-After: $(tail -n 3 "$HUB_DIR/hub.log")"
echo "  $refused request(s) of lokerd refused, then nothing sent for 10 s"

echo "with connections free again, lokerd gets in after its Retry-After"
kill "$HOLDER_PID"
wait "$HOLDER_PID" 2>/dev/null || true
HOLDER_PID=
for _ in $(seq 1200); do
	grep -q 'kiosks/demo-01/changes 200 ' "$HUB_DIR/hub.log" && break
	sleep 0.1
done
grep -q 'kiosks/demo-01/changes 200 ' "$HUB_DIR/hub.log" || fail "lokerd did not get in once the connections were free"
for _ in $(seq 100); do
	ctl --json status | jq -e '.sync.online' >/dev/null && break
	sleep 0.1
done
expect '.sync.online' "$(ctl --json status)"
[ "$(grep -c 'over the limit' "$HUB_DIR/hub.log")" = 1 ] || fail "the limit was said more than once a minute"
echo "  in, online; lokerhub said the limit once"
