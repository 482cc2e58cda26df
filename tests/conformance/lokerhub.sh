#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The sync API conformance checks (sync-api.sh) against the reference
# server: a scratch lokerhub with a test CA, two kiosks, a patron, two
# holds for the first kiosk and one for the second, and a staff member,
# served over HTTPS on a free loopback port, with a fault hook that makes
# lokerhub answer the next request to an endpoint with a 503 or 429.
#
#   LOKERHUB=build/bin/lokerhub LOKERBUKU_TOP=. \
#       tests/conformance/lokerhub.sh [sync-api.sh options, e.g. --verbose]
#
# ctest runs it as conformance-sync-api.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${LOKERBUKU_TOP:-$(cd "$HERE/../.." && pwd)}
HUB=${LOKERHUB:-}
if [ -z "$HUB" ] || [ ! -x "$HUB" ]; then
	echo "lokerhub.sh: set LOKERHUB to the lokerhub binary (have: '${HUB}')" >&2
	exit 2
fi
# Every wait of this script ends within this many seconds.
STEP_TIMEOUT=10

WORK=$(mktemp -d /tmp/lokerbuku-conf-hub.XXXXXX)
HUB_PID=''

cleanup() {
	local rc=$?
	if [ -n "$HUB_PID" ]; then
		kill -TERM "$HUB_PID" 2>/dev/null || true
		wait "$HUB_PID" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ] && [ -s "$WORK/hub.log" ]; then
		echo "--- lokerhub's log (last 30 lines):" >&2
		tail -n 30 "$WORK/hub.log" >&2
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
# Signals end the script through exit, so that cleanup runs then too.
trap 'exit 143' TERM
trap 'exit 130' INT

hub() {
	"$HUB" -d "$WORK/hub.db" "$@"
}

umask 077
"$TOP/tools/make-test-ca" "$WORK/ca" >/dev/null
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/site.key"
chmod 600 "$WORK/site.key"

{
	hub init --site-key-file "$WORK/site.key"
	hub kiosk-add conf-01 --token-file "$WORK/token-1"
	hub kiosk-add conf-02 --token-file "$WORK/token-2"
	hub patron-add P-CONF-1 --name Siti --card M0012345 \
		--uid 04A1B2C3D4E5F6 --pin 2468
	hub hold-add H-CONF-1 --kiosk conf-01 --patron P-CONF-1 \
		--item "B-CONF-1=Bumi Manusia" --item "B-CONF-2=Laskar Pelangi" \
		--size small --code 482913 --expires-days 7
	hub hold-add H-CONF-2 --kiosk conf-01 --patron P-CONF-1 \
		--item "B-CONF-3=Ronggeng Dukuh Paruk" --size medium
	hub hold-add H-CONF-3 --kiosk conf-02 --patron P-CONF-1 \
		--item B-CONF-9 --size large
	hub staff-add --card STAFF-CONF-1 --pin 1357
} >"$WORK/setup.log" 2>&1 || {
	echo "lokerhub.sh: setting up the scratch lokerhub failed:" >&2
	cat "$WORK/setup.log" >&2
	exit 1
}

# The fault hook sync-api.sh calls as `HOOK 503|429 ENDPOINT`.
cat >"$WORK/fault-hook" <<HOOK
#!/bin/bash
set -euo pipefail
exec "$HUB" -d "$WORK/hub.db" fault add "\$2" "\$1" --count 1 --retry-after 7 >/dev/null
HOOK
chmod 700 "$WORK/fault-hook"

# Not through hub(): $! must be lokerhub itself, or stopping it would stop
# only a subshell and leave the server running (and holding our stdout).
"$HUB" -d "$WORK/hub.db" serve --cert "$WORK/ca/server.pem" \
	--key "$WORK/ca/server.key" --listen 127.0.0.1:0 \
	--port-file "$WORK/port" >"$WORK/hub.log" 2>&1 </dev/null &
HUB_PID=$!
for _ in $(seq $((STEP_TIMEOUT * 20))); do
	[ -s "$WORK/port" ] && break
	if ! kill -0 "$HUB_PID" 2>/dev/null; then
		wait "$HUB_PID" 2>/dev/null || true
		HUB_PID=''
		echo "lokerhub.sh: lokerhub serve exited at start" >&2
		exit 1
	fi
	sleep 0.05
done
if [ ! -s "$WORK/port" ]; then
	echo "lokerhub.sh: lokerhub did not listen within ${STEP_TIMEOUT} s" >&2
	exit 1
fi
PORT=$(cat "$WORK/port")

set +e
"$HERE/sync-api.sh" --url "https://127.0.0.1:$PORT/locker-sync/v1" \
	--kiosk conf-01 --token-file "$WORK/token-1" --cacert "$WORK/ca/ca.pem" \
	--other-kiosk conf-02 --other-token-file "$WORK/token-2" \
	--item B-CONF-3 --fault-hook "$WORK/fault-hook" \
	${CONFORMANCE_NODE_DIR:+--validate "$CONFORMANCE_NODE_DIR"} "$@"
rc=$?
set -e
if ! kill -0 "$HUB_PID" 2>/dev/null; then
	echo "lokerhub.sh: lokerhub died during the checks" >&2
	rc=1
fi
exit $rc
