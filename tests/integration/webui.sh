#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerd's web UI server over real HTTP with curl (docs/webui.md): the
# state and its event stream, a pickup by code, a staff session that loads
# a hold by its item's barcode, and the requests it must refuse. The app
# itself in Chromium: tests/ui.
. "$(dirname "$0")/lib.sh"

kiosk_write_config "$WORK" "
[webui]
listen = 127.0.0.1:0
ui_dir = $WORK/ui"
mkdir -p "$WORK/ui"
printf '<!doctype html><title>lokerbuku</title>\n' >"$WORK/ui/index.html"
kiosk_start "$WORK"
url=$(ctl --json status | jq -r .webui.url)
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+/$ ]] || fail "webui url: $url"
host=${url#http://}
host=${host%/}

# post PATH JSON [CURL ARGS...]: prints the body, then the status on a line.
post() {
	local path=$1 body=$2
	shift 2
	curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
		-H "Origin: http://$host" "$@" --data-binary "$body" "$url$path"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { head -n -1 <<<"$1"; }

ctl staff add card:S-1 --pin 1357 >/dev/null
ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 --code 482913 --name Siti \
	--item "B1=Laskar Pelangi" >/dev/null
ctl holds add H-2 --credential card:M-9 --item "B2=Bumi Manusia" >/dev/null
ctl load H-1 >/dev/null
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null

echo "the app, with its security headers"
headers=$(curl -s -D - -o /dev/null "$url")
grep -q "^HTTP/1.1 200" <<<"$headers" || fail "GET /: $headers"
grep -qi "^Content-Security-Policy: default-src 'self';" <<<"$headers" ||
	fail "no CSP: $headers"
grep -qi "^Content-Type: text/html" <<<"$headers" || fail "type: $headers"

echo "the state: no staff details for a patron screen"
r=$(curl -s "${url}api/state")
expect '.screen.name=="idle" and .sim==true and .online==null and .idle_timeout_s==60' "$r"
expect '.lockers[0].occupied==true and (.lockers[0]|has("hold")|not) and .staff==null' "$r"

echo "a pickup by code: the reply and the event stream both show locker 1"
curl -sN "${url}api/events" >"$WORK/sse" &
sse_pid=$!
stop_sse() { kill "$sse_pid" 2>/dev/null || true; }
CLEANUP_HOOK=stop_sse
for _ in $(seq 50); do grep -q '^data: ' "$WORK/sse" && break; sleep 0.05; done
r=$(post api/action '{"action":"code","code":"482913"}')
[ "$(status_of "$r")" = 200 ] || fail "code: $r"
expect '.screen.name=="lockers_open" and .unlocked==[1]' "$(body_of "$r")"
for _ in $(seq 50); do grep -q '"lockers_open"' "$WORK/sse" && break; sleep 0.05; done
grep -q '^data: .*"name":"lockers_open","lockers":\[1\]' "$WORK/sse" ||
	fail "the stream never showed lockers_open: $(cat "$WORK/sse")"
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
expect '[.events[] | select(.type=="hold_picked_up" and .payload.hold_id=="H-1")] | length == 1' \
	"$(ctl --json events --limit 50)"
for _ in $(seq 50); do grep -q '"thank_you"' "$WORK/sse" && break; sleep 0.05; done
grep -q '"thank_you"' "$WORK/sse" || fail "the stream never showed thank_you"
grep -q 482913 "$WORK/lokerd.log" && fail "the pickup code is in the log"

echo "staff actions need the screen's staff session"
r=$(post api/action '{"action":"scan","text":"B2"}')
[ "$(status_of "$r")" = 403 ] || fail "scan without a session: $r"
r=$(post api/action '{"action":"load","hold":"H-2"}')
[ "$(status_of "$r")" = 403 ] || fail "load without a session: $r"

echo "a staff member logs in on the screen and loads H-2 by its barcode"
r=$(post api/sim '{"action":"tap","credential":"card:S-1"}')
expect '.screen.name=="staff_pin"' "$(body_of "$r")"
# The PIN is checked off the loop: the reply is the keypad still, and the
# state (its stream) brings the staff menu once the check is done.
r=$(post api/action '{"action":"pin","pin":"1357"}')
expect '.ok and .screen.name=="staff_pin"' "$(body_of "$r")"
for _ in $(seq 100); do
	[ "$(curl -s "${url}api/state" | jq -r .screen.name)" = staff_menu ] && break
	sleep 0.1
done
expect '.screen.name=="staff_menu"' "$(curl -s "${url}api/state")"
r=$(curl -s "${url}api/state")
expect '.staff.holds | map(select(.id=="H-2" and .state=="pending" and .items[0].barcode=="B2")) | length == 1' "$r"
expect '.lockers[0].hold==null' "$r"
r=$(post api/action '{"action":"scan","text":"NOPE-1"}')
expect '.ok==false and .errno=="ENOENT"' "$(body_of "$r")"
r=$(post api/action '{"action":"scan","text":"B2"}')
[ "$(status_of "$r")" = 200 ] || fail "scan: $r"
expect '.unlocked==[1]' "$(body_of "$r")"
post api/sim '{"action":"door","locker":1,"open":true}' >/dev/null
post api/sim '{"action":"door","locker":1,"open":false}' >/dev/null
expect '.lockers[0].hold=="H-2"' "$(curl -s "${url}api/state")"
r=$(post api/action '{"action":"cancel"}')
expect '.screen.name=="idle"' "$(body_of "$r")"

echo "what is refused"
r=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
	-H 'Origin: http://evil.example' --data-binary '{"action":"cancel"}' \
	"${url}api/action")
[ "$(status_of "$r")" = 403 ] || fail "foreign origin: $r"
r=$(curl -s -w '\n%{http_code}' -H "Host: evil.example:80" "${url}api/state")
[ "$(status_of "$r")" = 403 ] || fail "foreign host: $r"
r=$(curl -s -w '\n%{http_code}' -H 'Content-Type: text/plain' \
	--data-binary '{"action":"cancel"}' "${url}api/action")
[ "$(status_of "$r")" = 415 ] || fail "text/plain: $r"
r=$(head -c 100000 /dev/zero | tr '\0' ' ' |
	curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @- "${url}api/action")
[ "$(status_of "$r")" = 413 ] || fail "100 kB body: $r"
r=$(post api/action '{"action":"hold-add","id":"H-9"}')
[ "$(status_of "$r")" = 400 ] || fail "hold-add from the screen: $r"
r=$(curl -s -w '\n%{http_code}' --path-as-is "${url}../lokerd.conf")
[ "$(status_of "$r")" = 404 ] || fail "path traversal: $r"
ctl status >/dev/null || fail "lokerd stopped answering"

stop_sse
CLEANUP_HOOK=
kiosk_stop || fail "lokerd did not stop cleanly"
echo "webui: all checks passed"
