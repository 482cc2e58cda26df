# SPDX-License-Identifier: GPL-2.0-or-later
# Common set-up of the integration tests: a scratch kiosk, lokerctl, checks.
set -euo pipefail
: "${BIN:?BIN must name the folder with lokerd and lokerctl}"
: "${LOKERBUKU_TOP:?LOKERBUKU_TOP must name the source tree}"
# shellcheck source=tools/lib/kiosk.sh
. "$LOKERBUKU_TOP/tools/lib/kiosk.sh"

WORK=$(mktemp -d /tmp/lokerbuku-it.XXXXXX)
export LOKERBUKU_SOCKET=$WORK/control.sock
# A test that starts more than lokerd sets CLEANUP_HOOK to a function that
# stops it; the hook must not fail.
cleanup() {
	local rc=$?
	"${CLEANUP_HOOK:-true}"
	if [ -n "${KIOSK_PID:-}" ]; then
		kill -KILL "$KIOSK_PID" 2>/dev/null || true
		wait "$KIOSK_PID" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ] && [ -f "$WORK/lokerd.log" ]; then
		echo "--- lokerd log (last 40 lines):" >&2
		tail -n 40 "$WORK/lokerd.log" >&2
	fi
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

ctl() { "$BIN/lokerctl" "$@"; }

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect JQ-FILTER JSON
expect() {
	jq -e "$1" >/dev/null <<<"$2" || fail "expected $1 in: $2"
}
