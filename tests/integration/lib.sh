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

# wait_for WHAT COMMAND...: until COMMAND succeeds (its output dropped), for
# up to WAIT_FOR_S (30) seconds by the clock, generous on a busy machine;
# then fails, saying what it waited for. (The tests that wait on a filter
# of lokerctl status define their own wait_for.)
wait_for() {
	local what=$1 bound_s=${WAIT_FOR_S:-30} start=$SECONDS
	shift
	until "$@" >/dev/null 2>&1; do
		[ $((SECONDS - start)) -lt "$bound_s" ] || fail "waited $bound_s s for: $what"
		sleep 0.1
	done
}

# The sync tests, with tools/lib/hub.sh: events on each side, and
# drained [SECONDS]: the kiosk has nothing unsent and the server has it all.
kiosk_count() { ctl --json events --limit 1000 | jq '.events | length'; }
hub_count() { hub events --kiosk demo-01 --json | jq length; }
drained() {
	local i
	for i in $(seq $((${1:-20} * 10))); do
		if [ "$(ctl --json status | jq .backlog)" = 0 ] &&
			[ "$(hub_count)" = "$(kiosk_count)" ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "not drained: backlog $(ctl --json status | jq .backlog), kiosk $(kiosk_count), server $(hub_count)"
}
same_ids() {
	local k h
	k=$(ctl --json events --limit 1000 | jq -c '[.events[].uuid] | sort')
	h=$(hub events --kiosk demo-01 --json | jq -c '[.[].id] | sort')
	[ "$k" = "$h" ] || fail "kiosk and server event ids differ"
}

# sim_stop: ends the pn532-sim a test started as SIM_PID (its CLEANUP_HOOK).
sim_stop() {
	[ -n "${SIM_PID:-}" ] || return 0
	kill -KILL "$SIM_PID" 2>/dev/null || true
	wait "$SIM_PID" 2>/dev/null || true
}
