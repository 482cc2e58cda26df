#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerctl wipe (issue 19, point 9): before a kiosk leaves service, its
# database, -wal, backups and secrets are overwritten and removed. Refused
# while lokerd runs and without --yes (nothing touched then); afterwards
# nothing of them is left, a second name of the database file (as a
# forensic tool would read the same blocks) holds only zeros, and lokerd
# refuses to start until the kiosk is provisioned again.
. "$(dirname "$0")/lib.sh"

# A kiosk with every secret the configuration can name: a sync token and a
# TLS client key and certificate (made by openssl, not used: the server's
# address answers nothing).
"$LOKERBUKU_TOP/tools/make-test-ca" "$WORK/ca" >/dev/null
(umask 077 && openssl rand -hex 32 >"$WORK/sync.token" &&
	cp "$WORK/ca/client.key" "$WORK/kiosk.key" &&
	openssl req -new -key "$WORK/kiosk.key" -subj /CN=demo-01 -out "$WORK/kiosk.csr" 2>/dev/null)
cp "$WORK/ca/client.pem" "$WORK/kiosk.pem"
kiosk_write_config "$WORK" "[sync]
url = https://127.0.0.1:9/locker-sync/v1
token_file = $WORK/sync.token
ca_file = $WORK/ca/ca.pem
client_cert = $WORK/kiosk.pem
client_key = $WORK/kiosk.key"
kiosk_start "$WORK"
ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 --item "B1=Laskar Pelangi" >/dev/null
ctl load H-1 >/dev/null
ctl sim door 1 open >/dev/null
ctl sim door 1 close >/dev/null
backup=$(ctl --json backup | jq -r .path)
[ -f "$backup" ] || fail "no backup made"
# A recovered database's kept copy, as `lokerctl recover` leaves it.
cp "$backup" "$WORK/lokerd.db.corrupt-20261122T081500Z"
# And the copies an interrupted recover leaves: whole databases too.
cp "$backup" "$WORK/lokerd.db.recovered"
cp "$backup" "$WORK/lokerd.db.recover-tmp"
secrets=(site.key sync.token kiosk.key kiosk.csr kiosk.pem)
key=$(cat "$WORK/site.key")

# present: every file the wipe must take is there (and is not empty).
present() {
	local f
	for f in lokerd.db "${secrets[@]}" "$(basename "$backup")" \
		lokerd.db.corrupt-20261122T081500Z lokerd.db.recovered \
		lokerd.db.recover-tmp; do
		[ -s "$WORK/$f" ] || fail "$f is missing or empty before the wipe"
	done
}
present

echo "refused while lokerd runs: nothing touched"
rc=0
out=$(ctl wipe --config "$WORK/lokerd.conf" --yes 2>&1) || rc=$?
[ $rc = 1 ] && grep -q "lokerd is running" <<<"$out" || fail "wipe while lokerd runs: rc $rc: $out"
present
expect '.ok' "$(ctl --json status)"
kiosk_stop || fail "lokerd did not stop cleanly"
rm -f "$WORK/control.sock"

echo "refused while another process has the database open: nothing touched"
# A reader's lock where SQLite takes it (the shared byte range).
python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_SH, 1, 0x40000002)
print("locked", flush=True)
time.sleep(30)' "$WORK/lokerd.db" >"$WORK/locker.out" &
locker=$!
for _ in $(seq 50); do grep -q locked "$WORK/locker.out" && break; sleep 0.1; done
rc=0
out=$(ctl wipe --config "$WORK/lokerd.conf" --yes 2>&1) || rc=$?
kill "$locker"
wait "$locker" 2>/dev/null || true
[ $rc = 1 ] && grep -q "process $locker has $WORK/lokerd.db open" <<<"$out" ||
	fail "wipe with the database open elsewhere: rc $rc: $out"
present

echo "without --yes it only lists what would go"
rc=0
out=$(ctl wipe --config "$WORK/lokerd.conf" 2>&1) || rc=$?
[ $rc = 1 ] || fail "wipe without --yes: rc $rc: $out"
for f in lokerd.db "${secrets[@]}"; do
	grep -qxF "  $WORK/$f" <<<"$out" || fail "wipe would not take $f: $out"
done
present

echo "wipe --yes overwrites and removes the database, its backups and the secrets"
ln "$WORK/lokerd.db" "$WORK/second-name"
n=$(cd "$WORK" && ls -d lokerd.db* "${secrets[@]}" | wc -l)
size=$(stat -c %s "$WORK/second-name")
ctl wipe --config "$WORK/lokerd.conf" --yes >"$WORK/wipe.out" || fail "wipe failed: $(cat "$WORK/wipe.out")"
cat "$WORK/wipe.out"
left=$(cd "$WORK" && ls -d lokerd.db* "${secrets[@]}" 2>/dev/null || true)
[ -z "$left" ] || fail "left after the wipe: $left"
[ "$(stat -c %s "$WORK/second-name")" = "$size" ] || fail "the database file changed size"
[ "$(tr -d '\0' <"$WORK/second-name" | wc -c)" = 0 ] ||
	fail "the database's blocks still hold data after the wipe"
grep -rqF "$key" "$WORK" --exclude=lokerd.log && fail "the site key is still in $WORK"
grep -q "kiosk wiped: $n files" "$WORK/wipe.out" || fail "not $n files wiped: $(cat "$WORK/wipe.out")"
# The configuration stays: the kiosk can be provisioned again.
[ -f "$WORK/lokerd.conf" ] || fail "the configuration went too"

echo "lokerd refuses to start on the wiped kiosk"
rc=0
timeout 20 "$BIN/lokerd" -c "$WORK/lokerd.conf" 2>"$WORK/after.log" || rc=$?
[ $rc = 78 ] || fail "lokerd after the wipe: exit $rc: $(cat "$WORK/after.log")"
grep -q "configuration: .*No such file or directory" "$WORK/after.log" ||
	fail "lokerd does not name a missing secret: $(cat "$WORK/after.log")"

echo "a configuration that no longer loads, not the packaged one: nothing guessed"
rc=0
out=$(ctl wipe --config "$WORK/lokerd.conf" --yes 2>&1) || rc=$?
[ $rc = 1 ] && grep -q "not guessing" <<<"$out" || fail "second wipe: rc $rc: $out"
echo "PASS"
