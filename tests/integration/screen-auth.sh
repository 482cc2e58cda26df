#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Who may act on the kiosk (docs/security.md), through the real lokerd:
# - the web UI takes actions only from the kiosk's screen, the local user
#   whose TCP connections the kernel names (here: ours, lokerd's own);
#   another user (nobody) POSTing a staff action during the screen's staff
#   session is refused, opens nothing, and sees only the idle state;
# - others holding 8 event streams and 64 slow connections leave the
#   screen its state and its stream;
# - [webui] listen beyond loopback is refused unless meant;
# - the control socket records which local user asked, from the kernel's
#   peer credentials.
. "$(dirname "$0")/lib.sh"

kiosk_write_config "$WORK" "
[webui]
listen = 127.0.0.1:0
ui_dir = $WORK/ui"
mkdir -p "$WORK/ui"
kiosk_start "$WORK"

# as_other CMD...: CMD as nobody, with the root group that may use the
# control socket (mode 0660), so only the uid differs from ours.
as_other() { setpriv --reuid=nobody --regid=0 --clear-groups -- "$@"; }
chmod 0710 "$WORK"
as_other true 2>/dev/null || {
	echo "SKIP: cannot run a command as nobody (setpriv needs root)" >&2
	exit 77
}

url=$(ctl --json status | jq -r .webui.url)
host=${url#http://}
host=${host%/}
# post PATH JSON [WHO...]: the screen's request, or WHO's; the body, then
# the status on a line.
post() {
	local path=$1 body=$2
	shift 2
	"$@" curl -s -m 20 -w '\n%{http_code}' -H 'Content-Type: application/json' \
		-H "Origin: http://$host" --data-binary "$body" "$url$path"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { head -n -1 <<<"$1"; }
unlocked() {
	ctl --json events --limit 1000 |
		jq '[.events[] | select(.type=="locker_unlocked")] | length'
}

ctl staff add card:S-1 --pin 1357 >/dev/null

echo "the screen: a staff member logs in"
r=$(post api/sim '{"action":"tap","credential":"card:S-1"}')
expect '.screen.name=="staff_pin"' "$(body_of "$r")"
r=$(post api/action '{"action":"pin","pin":"1357"}')
expect '.screen.name=="staff_pin"' "$(body_of "$r")"
# Checked off lokerd's loop (docs/webui.md): the state brings the menu.
for _ in $(seq 100); do
	[ "$(curl -s -m 20 "${url}api/state" | jq -r .screen.name)" = staff_menu ] && break
	sleep 0.1
done
expect '.screen.name=="staff_menu"' "$(curl -s -m 20 "${url}api/state")"

echo "another local user, during that session: refused, nothing opens"
before=$(unlocked)
for locker in 1 2 3 4; do
	r=$(post api/action "{\"action\":\"open\",\"locker\":$locker}" as_other)
	[ "$(status_of "$r")" = 403 ] || fail "nobody opened locker $locker: $r"
	expect '.errno==null and (.error|test("screen"))' "$(body_of "$r")"
done
for body in '{"action":"cancel"}' '{"action":"pin","pin":"1357"}' \
	'{"action":"code","code":"482913"}'; do
	r=$(post api/action "$body" as_other)
	[ "$(status_of "$r")" = 403 ] || fail "nobody's $body: $r"
done
r=$(post api/sim '{"action":"tap","credential":"card:S-1"}' as_other)
[ "$(status_of "$r")" = 403 ] || fail "nobody's sim tap: $r"
[ "$(unlocked)" = "$before" ] || fail "a locker opened for nobody"
expect '[.lockers[] | select(.state != "closed")] | length == 0' \
	"$(ctl --json status)"
echo "  and sees only the idle state, no staff view"
r=$(as_other curl -s -m 20 "${url}api/state")
expect '.screen.name=="idle" and .staff==null and
	([.lockers[] | has("hold") or has("purpose")] | any | not)' "$r"
r=$(curl -s -m 20 "${url}api/state")
expect '.screen.name=="staff_menu" and .staff.holds==[]' "$r"

echo "the screen's own flow still works"
r=$(post api/action '{"action":"open","locker":1}')
[ "$(status_of "$r")" = 200 ] || fail "the screen's open: $r"
expect '.unlocked==[1]' "$(body_of "$r")"
expect '[.events[] | select(.type=="locker_unlocked" and .payload.locker==1 and
	(.payload.actor|startswith("staff:")))] | length == 1' \
	"$(ctl --json events --limit 1000)"
post api/sim '{"action":"door","locker":1,"open":true}' >/dev/null
post api/sim '{"action":"door","locker":1,"open":false}' >/dev/null
echo "  lokerctl in that session: the journal names who asked"
ctl open 4 --session >/dev/null
grep -Eq "control: uid=$(id -u),user=$(id -un),pid=[0-9]+ acted in the screen's staff session: open" \
	"$WORK/lokerd.log" || fail "no line names who acted in the staff session"
ctl sim door 4 open >/dev/null
ctl sim door 4 close >/dev/null

echo "others hold 8 event streams and 64 slow connections"
cat >"$WORK/hold.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
req = f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
streams, slow = [], []
for _ in range(8):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    streams.append(s)
for _ in range(64):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0")  # never ends
    slow.append(s)
got = 0
for s in streams:
    s.settimeout(10)
    try:
        got += b"data: " in s.recv(4096)
    except OSError:
        pass
def still_open():
    n = 0
    for s in slow:
        s.setblocking(False)
        try:
            s.recv(1)  # b"": lokerd closed it
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n
# Until lokerd has taken or refused them all: the same count twice.
open_slow, last = still_open(), -1
for _ in range(40):
    if open_slow == last:
        break
    time.sleep(0.5)
    open_slow, last = still_open(), open_slow
print(f"{got} {open_slow}", flush=True)
time.sleep(120)
PY
chmod 0755 "$WORK/hold.py"
chmod 0711 "$WORK"
setpriv --reuid=nobody --regid=0 --clear-groups -- /usr/bin/python3 "$WORK/hold.py" "${host##*:}" >"$WORK/hold.out" &
hold_pid=$!
stop_hold() { kill "$hold_pid" 2>/dev/null || true; }
CLEANUP_HOOK=stop_hold
for _ in $(seq 300); do [ -s "$WORK/hold.out" ] && break; sleep 0.1; done
read -r held_streams held_slow <"$WORK/hold.out" || fail "the holder said nothing"
echo "  the other user got $held_streams streams; $held_slow of its 64 slow connections were kept"
[ "$held_streams" -ge 1 ] || fail "the other user got no stream at all"
t=$(curl -s -m 20 -o "$WORK/state" -w '%{time_total}' "${url}api/state") ||
	fail "the screen got no state while others held the server"
expect '.screen.name=="staff_menu"' "$(cat "$WORK/state")"
echo "  the screen's state in $t s"
awk -v t="$t" 'BEGIN { exit !(t < 5) }' || fail "the screen waited $t s"
curl -sN -m 20 "${url}api/events" >"$WORK/sse" &
sse_pid=$!
for _ in $(seq 200); do grep -q '"staff_menu"' "$WORK/sse" && break; sleep 0.05; done
kill "$sse_pid" 2>/dev/null || true
grep -q '^data: .*"staff_menu"' "$WORK/sse" ||
	fail "the screen got no stream while others held the server"
r=$(post api/action '{"action":"cancel"}')
expect '.screen.name=="idle"' "$(body_of "$r")"
stop_hold
CLEANUP_HOOK=

echo "the control socket: each opening names the local user who asked"
ctl open 2 >/dev/null
ctl sim door 2 open >/dev/null
ctl sim door 2 close >/dev/null
as_other "$BIN/lokerctl" open 3 >/dev/null
ev=$(ctl --json events --limit 50)
expect "[.events[] | select(.type==\"locker_unlocked\" and .payload.locker==2 and
	(.payload.actor | test(\"^service:uid=$(id -u),user=$(id -un),pid=[0-9]+$\")))] | length == 1" "$ev"
expect "[.events[] | select(.type==\"locker_unlocked\" and .payload.locker==3 and
	(.payload.actor | test(\"^service:uid=$(id -u nobody),user=nobody,pid=[0-9]+$\")))] | length == 1" "$ev"

kiosk_stop || fail "lokerd did not stop cleanly"

echo "[webui] listen beyond loopback: refused unless meant"
sed 's/^listen = 127.0.0.1:0$/listen = 0.0.0.0:0/' "$WORK/lokerd.conf" >"$WORK/remote.conf"
grep -q '^listen = 0.0.0.0:0$' "$WORK/remote.conf" || fail "no listen line to change"
rc=0
out=$("$BIN/lokerd" --check-config -c "$WORK/remote.conf" 2>&1) || rc=$?
[ $rc -eq 78 ] && grep -qF '[webui] listen = 0.0.0.0 is beyond loopback' <<<"$out" ||
	fail "0.0.0.0 was taken: rc $rc: $out"
sed -i 's/^listen = 0.0.0.0:0$/&\nallow_remote = yes/' "$WORK/remote.conf"
"$BIN/lokerd" --check-config -c "$WORK/remote.conf" >/dev/null ||
	fail "allow_remote = yes was not taken"
echo "screen-auth: all checks passed"
