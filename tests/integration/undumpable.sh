#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerd (raw card identifiers, PINs and the site key pass through its
# memory) and lokerhub (the site key) are undumpable: no core of them, and
# another process of their own user cannot read their memory. Run as an
# unprivileged user (as root: nobody, through setpriv), each is started
# and then attacked from a second process of that user: /proc/PID/environ
# and /proc/PID/mem must refuse it, and /proc/PID/environ must belong to
# root, the kernel's mark of an undumpable process. The kernel skips the core dump
# of such a process under the default suid_dumpable = 0.
. "$(dirname "$0")/lib.sh"
LOKERHUB=${LOKERHUB:-$BIN/lokerhub}

if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || fail "setpriv is missing (util-linux)"
	as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
	chmod 0755 "$WORK"
	chown nobody:nogroup "$WORK"
else
	as=()
fi
run_as() { "${as[@]}" "$@"; }
uid=$(run_as id -u)
suid_dumpable=$(cat /proc/sys/fs/suid_dumpable)
[ "$suid_dumpable" = 0 ] ||
	echo "note: fs.suid_dumpable is $suid_dumpable here; undumpable processes may still dump core to a root-owned file"

# attack NAME PID: a process of the same user reads NAME's memory.
attack() {
	local name=$1 pid=$2 owner leaked=""
	[ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status")" = "$uid" ] ||
		fail "$name does not run as uid $uid"
	owner=$(stat -c %u "/proc/$pid/environ")
	run_as cat "/proc/$pid/environ" >/dev/null 2>&1 && leaked="environ"
	run_as dd if="/proc/$pid/mem" bs=4096 count=1 skip=$((0x400)) \
		status=none of=/dev/null 2>/dev/null && leaked="$leaked mem"
	[ -z "$leaked" ] || fail "another process of uid $uid read $name's /proc/$pid/{$leaked}"
	[ "$owner" = 0 ] || fail "/proc/$pid/environ of $name belongs to uid $owner: $name is dumpable"
	echo "  $name (pid $pid, uid $uid): /proc/$pid/environ owned by root; environ and mem refused"
}

echo "lokerd, started as uid $uid"
kiosk_write_config "$WORK"
[ "$(id -u)" != 0 ] || chown nobody:nogroup "$WORK/site.key" "$WORK/lokerd.conf"
"${as[@]}" "$BIN/lokerd" -c "$WORK/lokerd.conf" 2>>"$WORK/lokerd.log" &
KIOSK_PID=$!
for _ in $(seq 100); do
	ctl status >/dev/null 2>&1 && break
	kill -0 "$KIOSK_PID" 2>/dev/null || fail "lokerd exited at start"
	sleep 0.05
done
ctl status >/dev/null || fail "lokerd did not answer"
attack lokerd "$KIOSK_PID"
kiosk_stop || fail "lokerd did not stop cleanly"

echo "lokerhub, serving as uid $uid"
HUB_PID=
stop_hub() {
	[ -z "$HUB_PID" ] || kill -KILL "$HUB_PID" 2>/dev/null || true
}
CLEANUP_HOOK=stop_hub
"$LOKERBUKU_TOP/tools/make-test-ca" "$WORK/ca" >/dev/null
[ "$(id -u)" != 0 ] || chown -R nobody:nogroup "$WORK/ca"
run_as "$LOKERHUB" -d "$WORK/hub.db" init --site-key-file "$WORK/site.key"
"${as[@]}" "$LOKERHUB" -d "$WORK/hub.db" serve --cert "$WORK/ca/server.pem" \
	--key "$WORK/ca/server.key" --listen 127.0.0.1:0 \
	--port-file "$WORK/port" 2>>"$WORK/hub.log" &
HUB_PID=$!
for _ in $(seq 200); do
	[ -s "$WORK/port" ] && break
	kill -0 "$HUB_PID" 2>/dev/null || fail "lokerhub exited at start: $(cat "$WORK/hub.log")"
	sleep 0.05
done
[ -s "$WORK/port" ] || fail "lokerhub did not listen"
attack lokerhub "$HUB_PID"
kill -TERM "$HUB_PID"
wait "$HUB_PID" || fail "lokerhub did not stop cleanly"
HUB_PID=
echo "PASS"
