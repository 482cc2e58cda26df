#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kiosk trusts only the server it was given: a certificate from another
# CA, one for another host name, an expired one, a self-signed one, or a
# key that is not the pinned one makes it refuse the server and say why,
# while pickups go on offline. With the right settings everything recorded
# meanwhile reaches the server; a server that asks for client certificates
# gets the kiosk's; a self-signed certificate configured as the CA is taken.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tools/lib/hub.sh
. "$LOKERBUKU_TOP/tools/lib/hub.sh"
CLEANUP_HOOK=hub_stop

kiosk_write_config "$WORK" "
[doors]
confirm_timeout_ms = 5000"
base=$(cat "$WORK/lokerd.conf")
hub_setup "$WORK/hub" demo-01 "$WORK/site.key"
hub_start

# configure EXTRA-SYNC-LINES: the kiosk's config with this [sync] section.
configure() {
	printf '%s\n%s\n%s\n' "$base" "$(hub_sync_config "${CA:-}")" "$1" >"$WORK/lokerd.conf"
}
# refused WHAT: lokerd says the server is refused, and sends nothing.
refused() {
	local i
	for i in $(seq 50); do
		grep -q "the server is refused" "$WORK/lokerd.log" && break
		sleep 0.1
	done
	grep "the server is refused" "$WORK/lokerd.log" | tail -n 1 | sed 's/^/  lokerd: /'
	grep -q "$1" "$WORK/lokerd.log" || fail "no log line saying: $1"
	expect '.sync.online == false' "$(ctl --json status)"
	[ "$(hub events --kiosk demo-01 --json | jq length)" = 0 ] || fail "events reached a refused server"
}

echo "a server certificate from another CA is refused"
CA=$HUB_DIR/ca/other-ca.pem configure ""
kiosk_start "$WORK"
refused "SSL certificate problem"

echo "pickups go on offline"
ctl staff add card:S-1 --pin 1357 >/dev/null
ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 --item "B1=Laskar Pelangi" >/dev/null
expect '.unlocked==[1]' "$(ctl --json load H-1)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
expect '.unlocked==[1]' "$(ctl --json sim tap uid:04A1B2C3D4E5F6)"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
r=$(ctl --json events --limit 100)
expect '[.events[] | select(.type=="hold_picked_up" and .payload.hold_id=="H-1")] | length == 1' "$r"
kiosk_stop

echo "a certificate of our CA, but for another host name, is refused"
: >"$WORK/lokerd.log"
hub_stop
hub_start wrong-host
configure ""
kiosk_start "$WORK"
refused "subject name"
kiosk_stop

echo "a certificate of our CA for this host, but expired, is refused"
: >"$WORK/lokerd.log"
hub_stop
hub_start expired
configure ""
kiosk_start "$WORK"
refused "certificate has expired"
kiosk_stop

echo "a self-signed certificate is refused"
: >"$WORK/lokerd.log"
hub_stop
hub_start self-signed
configure ""
kiosk_start "$WORK"
refused "self-signed certificate"
kiosk_stop

echo "the right CA and host, but not the pinned key, is refused"
: >"$WORK/lokerd.log"
hub_stop
hub_start
configure "pinned_public_key = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
kiosk_start "$WORK"
refused "pinned"
kiosk_stop

echo "a server that asks for a client certificate refuses a kiosk without"
: >"$WORK/lokerd.log"
hub_stop
HUB_CLIENT_CA=$HUB_DIR/ca/ca.pem hub_start
configure ""
kiosk_start "$WORK"
for _ in $(seq 50); do
	grep -q "heartbeat: " "$WORK/lokerd.log" && break
	sleep 0.1
done
expect '.sync.online == false' "$(ctl --json status)"
[ "$(hub events --kiosk demo-01 --json | jq length)" = 0 ] || fail "events reached the server without a client certificate"
grep "sync: heartbeat" "$WORK/lokerd.log" | tail -n 1 | sed 's/^/  lokerd: /'
kiosk_stop
hub_stop
hub_start

echo "the right pin: everything recorded offline reaches the server"
pin=$(openssl x509 -in "$HUB_DIR/ca/server.pem" -pubkey -noout |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
configure "pinned_public_key = sha256//$pin"
kiosk_start "$WORK"
for _ in $(seq 100); do
	[ "$(ctl --json status | jq .backlog)" = 0 ] && break
	sleep 0.1
done
r=$(hub events --kiosk demo-01 --json)
expect '[.[] | select(.type=="hold_picked_up" and .payload.hold_id=="H-1")] | length == 1' "$r"
expect '.sync.online == true' "$(ctl --json status)"
kiosk_stop

echo "with its client certificate the kiosk gets in where one is asked for"
hub_stop
HUB_CLIENT_CA=$HUB_DIR/ca/ca.pem hub_start
configure "client_cert = $HUB_DIR/ca/client.pem
client_key = $HUB_DIR/ca/client.key"
: >"$WORK/lokerd.log"
kiosk_start "$WORK"
ctl disable 3 >/dev/null # one more event, to go up now
for _ in $(seq 100); do
	hub events --kiosk demo-01 --json | jq -e '.[] | select(.type=="locker_disabled")' >/dev/null && break
	sleep 0.1
done
r=$(hub events --kiosk demo-01 --json)
expect '[.[] | select(.type=="locker_disabled")] | length == 1' "$r"
expect '.sync.online == true' "$(ctl --json status)"
kiosk_stop

echo "a self-signed certificate is taken when it is the configured CA"
hub_stop
hub_start self-signed
CA=$HUB_DIR/ca/self-signed.pem configure ""
: >"$WORK/lokerd.log"
kiosk_start "$WORK"
ctl enable 3 >/dev/null
for _ in $(seq 100); do
	hub events --kiosk demo-01 --json | jq -e '.[] | select(.type=="locker_enabled")' >/dev/null && break
	sleep 0.1
done
expect '[.[] | select(.type=="locker_enabled")] | length == 1' "$(hub events --kiosk demo-01 --json)"
expect '.sync.online == true' "$(ctl --json status)"
kiosk_stop
echo "PASS"
