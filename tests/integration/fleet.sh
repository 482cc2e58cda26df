#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerhub's fleet status page (issue 24), in Debian's Chromium: a real
# lokerd syncing with lokerhub over HTTPS, a hold loaded into it that
# expires within a day, a pending one, a door left open, and a second
# kiosk never seen; the page must show each as staff need it. Also: the
# page is served on loopback only, refuses a foreign Host (DNS rebinding)
# and anything but GET. The screenshot goes to BUILD/fleet/.
. "$LOKERBUKU_TOP/tests/integration/lib.sh"
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
. "$LOKERBUKU_TOP/tests/lib/playwright.sh"
build=$(cd "$BIN/.." && pwd)
playwright_need "$build/fleet-node"

kiosk_write_config "$WORK"
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub kiosk-add kiosk-02 --token-file "$WORK/hub/token2" >/dev/null
CLEANUP_HOOK=hub_stop

echo "--fleet-listen takes loopback addresses only"
out=$("$BIN/lokerhub" -d "$WORK/hub/hub.db" serve --cert "$WORK/hub/ca/server.pem" \
	--key "$WORK/hub/ca/server.key" --listen 127.0.0.1:0 --fleet-listen 0.0.0.0:0 2>&1) &&
	fail "lokerhub served the status page on every address"
grep -q "loopback only" <<<"$out" || fail "no reason given: $out"

HUB_FLEET="--fleet-listen 127.0.0.1:0 --fleet-port-file $WORK/hub/fleet-port"
hub_start
for _ in $(seq 100); do [ -s "$WORK/hub/fleet-port" ] && break; sleep 0.05; done
fleet_port=$(cat "$WORK/hub/fleet-port")
FLEET_URL=http://127.0.0.1:$fleet_port/

echo "the library's holds: one to load (expiring within a day), one pending"
hub staff-add --card STAFF-01 --pin 2468 >/dev/null
hub patron-add P-1 --name Siti --card M0001 >/dev/null
hub hold-add H-1 --kiosk demo-01 --patron P-1 --expires-days 1 --item "B1=Laskar Pelangi" >/dev/null
hub hold-add H-2 --kiosk demo-01 --patron P-1 --expires-days 7 --item "B2=Bumi Manusia" >/dev/null

hub_sync_config >>"$WORK/lokerd.conf"
kiosk_start "$WORK"
wait_holds() { ctl --json holds | jq -e '[.holds[].id] | index("H-1") and index("H-2")' >/dev/null; }
for _ in $(seq 150); do wait_holds && break; sleep 0.1; done
wait_holds || fail "the holds did not reach the kiosk"
ctl sim tap card:STAFF-01 >/dev/null
ctl sim pin 2468 >/dev/null
locker=$(ctl --json load --session H-1 | jq -r '.unlocked[0]')
ctl sim door "$locker" open >/dev/null
ctl sim door "$locker" close >/dev/null
ctl sim cancel >/dev/null
# A door that opens with no unlock: forced open, a fault staff must see.
ctl sim door 3 open >/dev/null
# The forced-open event uploaded, then a heartbeat that says so: `sync`
# sends a heartbeat first, and the server then asks for the next one only
# a minute later (next_status_s), so one sent before the upload would
# show a backlog of 1 for that long.
ctl sync >/dev/null
for _ in $(seq 300); do [ "$(ctl --json status | jq .backlog)" = 0 ] && break; sleep 0.1; done
[ "$(ctl --json status | jq .backlog)" = 0 ] || fail "the kiosk did not upload its events: $(ctl --json status)"
ctl sync >/dev/null
loaded() {
	curl -sf "${FLEET_URL}fleet.json" |
		jq -e '.kiosks[] | select(.id == "demo-01") | .holds.loaded == 1 and .doors_open == [3] and .backlog == 0' >/dev/null
}
for _ in $(seq 300); do loaded && break; sleep 0.1; done
loaded || fail "the fleet data lacks the load or the open door: $(curl -s "${FLEET_URL}fleet.json")"
r=$(curl -sf "${FLEET_URL}fleet.json")
expect '.totals == {"kiosks": 2, "online": 1, "with_faults": 1, "backlog": 0, "holds_loaded": 1, "holds_expiring": 1}' "$r"
expect '.kiosks[0].id == "demo-01" and .kiosks[0].holds.pending == 1 and (.kiosks[0].faults | length) > 0' "$r"
expect '.kiosks[1].id == "kiosk-02" and .kiosks[1].last_status_at == null and (.kiosks[1].online | not)' "$r"

echo "the page refuses a foreign Host and anything but GET"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: evil.example:$fleet_port" "$FLEET_URL")
[ "$code" = 403 ] || fail "a foreign Host got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${FLEET_URL}fleet.json")
[ "$code" = 405 ] || fail "POST got $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "${FLEET_URL}nothing")
[ "$code" = 404 ] || fail "an unknown path got $code"

echo "the page in Chromium"
mkdir -p "$build/fleet"
FLEET_URL=$FLEET_URL FLEET_SHOT=$build/fleet/fleet.png \
	node "$LOKERBUKU_TOP/tests/integration/fleet.mjs" || fail "the page is not as staff need it"
echo "integration-fleet: passed (screenshot: $build/fleet/fleet.png)"
