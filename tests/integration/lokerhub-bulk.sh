#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# lokerhub's bulk forms (issue 26): kiosk-add --stdin registers many kiosks
# in one transaction and writes their tokens to one private file; hold-add
# --stdin adds many holds; both add all or nothing. A kiosk so added is
# served with its own token, over real HTTPS with a test CA.
set -euo pipefail
: "${LOKERHUB:?LOKERHUB must name the lokerhub binary}"
: "${LOKERBUKU_TOP:?LOKERBUKU_TOP must name the source tree}"

WORK=$(mktemp -d /tmp/lokerhub-bulk.XXXXXX)
umask 022 # lokerhub must make the tokens file private all the same
HUB_PID=
cleanup() {
	if [ -n "$HUB_PID" ]; then
		kill -KILL "$HUB_PID" 2>/dev/null || true
		wait "$HUB_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
hub() { "$LOKERHUB" -d "$WORK/hub.db" "$@"; }
# exits CODE COMMAND...: COMMAND fails with exactly that status.
exits() {
	local want=$1 rc=0
	shift
	"$@" >/dev/null 2>&1 || rc=$?
	[ "$rc" = "$want" ] || fail "exit status $rc, not $want: $*"
}
count() { sqlite3 "$WORK/hub.db" "SELECT count(*) FROM $1"; }

"$LOKERBUKU_TOP/tools/make-test-ca" "$WORK/ca"
openssl rand -hex 32 >"$WORK/site.key"
chmod 600 "$WORK/site.key"
hub init --site-key-file "$WORK/site.key"
hub patron-add P-1 --name Siti --uid 04A1B2C3D4E5F6

echo "kiosk-add --stdin: 1,000 kiosks in one go"
seq -f 'k%04g' 1 1000 | { cat; echo; } | hub kiosk-add --stdin --tokens-file "$WORK/tokens" --no-pin-required
[ "$(count kiosks)" = 1000 ] || fail "$(count kiosks) kiosks, not 1000"
[ "$(stat -c %a "$WORK/tokens")" = 600 ] || fail "tokens file mode $(stat -c %a "$WORK/tokens")"
[ "$(grep -cxE 'k[0-9]{4} [0-9a-f]{64}' "$WORK/tokens")" = 1000 ] || fail "not 1000 \"ID TOKEN\" lines"
[ "$(cut -d' ' -f2 "$WORK/tokens" | sort -u | wc -l)" = 1000 ] || fail "tokens repeat"
read -r id token <<<"$(sed -n 500p "$WORK/tokens")"
[ "$(sqlite3 "$WORK/hub.db" "SELECT id || ' ' || pin_required FROM kiosks WHERE token_sha256 = '$(printf '%s' "$token" | sha256sum | cut -c1-64)'")" = "$id 0" ] ||
	fail "the database does not hold $id's token's SHA-256 with its settings"
grep -qF "$token" "$WORK/hub.db" && fail "a token itself is in the database"

echo "kiosk-add --stdin: all or nothing"
printf 'n1\nk0007\nn2\n' >"$WORK/ids"
exits 1 hub kiosk-add --stdin --tokens-file "$WORK/tokens2" <"$WORK/ids"
printf 'n1\nn 2\n' >"$WORK/ids"
exits 1 hub kiosk-add --stdin --tokens-file "$WORK/tokens2" <"$WORK/ids"
printf 'n1\nn1\n' >"$WORK/ids"
exits 1 hub kiosk-add --stdin --tokens-file "$WORK/tokens2" <"$WORK/ids"
[ "$(count kiosks)" = 1000 ] || fail "a refused bulk add left $(count kiosks) kiosks"
[ -z "$(find "$WORK" -name 'tokens2*')" ] || fail "a refused bulk add left a tokens file: $(ls "$WORK")"
exits 2 hub kiosk-add --stdin
exits 2 hub kiosk-add n1 --stdin --tokens-file "$WORK/tokens2"
exits 2 hub kiosk-add --stdin --tokens-file "$WORK/tokens2" --token-file "$WORK/t"

echo "hold-add --stdin: a hold for every kiosk"
awk '{ printf "H-%s\t%s\tP-1\tB-%s=Buku %d\tC-%s\n", $1, $1, $1, NR, $1 }' "$WORK/tokens" |
	hub hold-add --stdin --size medium --expires-days 7
[ "$(count holds)" = 1000 ] || fail "$(count holds) holds, not 1000"
[ "$(count hold_items)" = 2000 ] || fail "$(count hold_items) items, not 2000"
printf 'H-new\tk0001\tP-1\tB-x\nH-k0002\tk0002\tP-1\tB-y\n' >"$WORK/holds"
exits 1 hub hold-add --stdin <"$WORK/holds"
printf 'H-new\tnowhere\tP-1\tB-x\n' >"$WORK/holds"
exits 1 hub hold-add --stdin <"$WORK/holds"
printf 'H-new\tk0001\tP-1\n' >"$WORK/holds"
exits 1 hub hold-add --stdin <"$WORK/holds"
[ "$(count holds)" = 1000 ] || fail "a refused bulk add left $(count holds) holds"
exits 2 hub hold-add --stdin --kiosk k0001

echo "a bulk-added kiosk is served with its own token"
"$LOKERHUB" -d "$WORK/hub.db" serve --cert "$WORK/ca/server.pem" --key "$WORK/ca/server.key" \
	--listen 127.0.0.1:0 --port-file "$WORK/port" 2>>"$WORK/hub.log" &
HUB_PID=$!
for _ in $(seq 200); do
	[ -s "$WORK/port" ] && break
	kill -0 "$HUB_PID" 2>/dev/null || fail "lokerhub exited at start"
	sleep 0.05
done
body=$(curl -sS --fail --cacert "$WORK/ca/ca.pem" -m 20 -H 'Lokerbuku-Sync: 1.1' \
	-H "Authorization: Bearer $token" \
	"https://127.0.0.1:$(cat "$WORK/port")/locker-sync/v1/kiosks/$id/changes")
jq -e --arg h "H-$id" '[.holds[].id] == [$h] and .holds[0].size == "medium" and (.holds[0].items | length) == 2 and .settings.pin_required == false' \
	<<<"$body" >/dev/null || fail "changes of $id: $body"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$WORK/ca/ca.pem" -m 20 -H 'Lokerbuku-Sync: 1.1' \
	-H "Authorization: Bearer $token" \
	"https://127.0.0.1:$(cat "$WORK/port")/locker-sync/v1/kiosks/k0001/changes")
[ "$code" = 403 ] || [ "$code" = 401 ] || fail "$id's token served k0001: HTTP $code"
echo "PASS"
