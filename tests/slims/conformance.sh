#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/conformance/sync-api.sh, the checks every server of the sync API
# must pass, against the SLiMS plugin: two kiosks, a member, three routed
# reservations (two for the first kiosk), a staff member, in the real
# SLiMS 9.7 that lib.sh installs (nginx with TLS, php-fpm, MariaDB), with
# a fault hook arming a 503 or 429 for the next request to an endpoint
# (the plugin reads LOKERBUKU_SLIMS_FAULT_DIR, set in php-fpm's pool).
#   LOKERBUKU_TOP=. tests/slims/conformance.sh [sync-api.sh options]
set -euo pipefail
LOKERBUKU_TOP=${LOKERBUKU_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$LOKERBUKU_TOP/tests/slims/lib.sh"
slims_need_tools || exit 77

WORK=$(mktemp -d /tmp/lokerbuku-slims-conf.XXXXXX)
cleanup() {
	local rc=$?
	[ $rc -eq 0 ] || slims_logs
	slims_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

slims_start "$WORK/slims"
slims_admin kiosk-add conf-01 "$WORK/token-1"
slims_admin kiosk-add conf-02 "$WORK/token-2"
slims_admin member-add M0012345 'Siti Aminah' 2099-12-31 siti@example.org
slims_admin item-add B-CONF-1 'Bumi Manusia' >/dev/null
slims_admin item-add B-CONF-2 'Laskar Pelangi' >/dev/null
slims_admin item-add B-CONF-3 'Ronggeng Dukuh Paruk' >/dev/null
slims_admin item-add B-CONF-9 'Cantik Itu Luka' >/dev/null
r1=$(slims_admin reserve M0012345 B-CONF-1)
r2=$(slims_admin reserve M0012345 B-CONF-2)
r3=$(slims_admin reserve M0012345 B-CONF-3)
r9=$(slims_admin reserve M0012345 B-CONF-9)
H1=$(slims_admin route conf-01 small "$r1" "$r2")
slims_admin route conf-01 medium "$r3" >/dev/null
slims_admin route conf-02 large "$r9" >/dev/null
slims_admin enrol M0012345 04A1B2C3D4E5F6 >/dev/null
slims_admin staff-add card:STAFF-CONF-1 135791 >/dev/null

cat >"$WORK/fault-hook" <<HOOK
#!/bin/bash
# usage: fault-hook STATUS ENDPOINT
echo "\$1" >"$SLIMS_FAULT_DIR/fault-\$2"
HOOK
chmod 700 "$WORK/fault-hook"

# v1.1 in the replies too: a loaded hold (with its locker), commands that
# expire and a resend_events (with from_seq) waiting in every heartbeat.
curl -sS --fail --cacert "$SLIMS_CA" -H "Authorization: Bearer $(cat "$WORK/token-1")" \
	-H 'Content-Type: application/json' -o /dev/null --data-binary "$(jq -cn --arg h "$H1" '{events: [{
		id: "6f0c2d5e-9d3b-4a57-8f0e-6f1b2a9c4d10", seq: 1, type: "hold_loaded",
		at: "2026-11-22T08:15:02.123Z", payload: {hold_id: $h, locker: 3}}]}')" \
	"$SLIMS_URL/kiosks/conf-01/events"
slims_admin command conf-01 open_locker 5 >/dev/null
slims_admin command conf-01 resend_events >/dev/null

# As a kiosk of v1.0 and as one of v1.1: the same checks, every reply
# validated against the OpenAPI file in both.
rc=0
for version in 1.0 1.1; do
	echo "# ---- as a kiosk of sync v$version ----"
	"$LOKERBUKU_TOP/tests/conformance/sync-api.sh" --url "$SLIMS_URL" --sync-version "$version" \
		--kiosk conf-01 --token-file "$WORK/token-1" --cacert "$SLIMS_CA" \
		--other-kiosk conf-02 --other-token-file "$WORK/token-2" \
		--item B-CONF-3 --fault-hook "$WORK/fault-hook" \
		${CONFORMANCE_NODE_DIR:+--validate "$CONFORMANCE_NODE_DIR"} "$@" || rc=$?
done
exit $rc
