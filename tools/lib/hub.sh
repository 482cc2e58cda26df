# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers shared by the demo and the sync tests: a lokerhub over HTTPS
# with a throw-away test CA, and the [sync] section of a kiosk that uses it.
# Source it with BIN set to the folder holding lokerhub and LOKERBUKU_TOP
# (or top) to the source tree.

# hub_setup DIR KIOSK_ID SITE_KEY_FILE: a test CA in DIR/ca, the database
# DIR/hub.db knowing the site key, and a kiosk whose token is DIR/token.
hub_setup() {
	HUB_DIR=$1
	mkdir -p "$HUB_DIR"
	"${LOKERBUKU_TOP:-$top}/tools/make-test-ca" "$HUB_DIR/ca"
	hub init --site-key-file "$3" >/dev/null
	# The demo and the tests tap cards without PINs.
	hub kiosk-add "$2" --token-file "$HUB_DIR/token" --no-pin-required >/dev/null
}

# hub ARGS...: the admin command line on DIR/hub.db.
hub() {
	"$BIN/lokerhub" -d "$HUB_DIR/hub.db" "$@"
}

# hub_start [CERT]: serves on a free port of 127.0.0.1 (or HUB_PORT, to come
# back on the same one) with DIR/ca/CERT.pem (default: server), asking for
# client certificates of the CA HUB_CLIENT_CA when set, with the options in
# HUB_FLEET (the status page) when set, speaking the API version HUB_API
# (1.0 or 1.1, the default) when set, with the further serve options in
# HUB_SERVE_OPTS when set; sets HUB_URL. The log is DIR/hub.log.
hub_start() {
	local cert=${1:-server} i
	rm -f "$HUB_DIR/port"
	# Not through hub(): HUB_PID must be lokerhub itself, not a subshell.
	"$BIN/lokerhub" -d "$HUB_DIR/hub.db" serve --cert "$HUB_DIR/ca/$cert.pem" --key "$HUB_DIR/ca/$cert.key" \
		--listen "127.0.0.1:${HUB_PORT:-0}" --port-file "$HUB_DIR/port" \
		${HUB_CLIENT_CA:+--client-ca "$HUB_CLIENT_CA"} ${HUB_FLEET:-} ${HUB_API:+--api "$HUB_API"} ${HUB_SERVE_OPTS:-} 2>>"$HUB_DIR/hub.log" &
	HUB_PID=$!
	for i in $(seq 200); do
		if [ -s "$HUB_DIR/port" ]; then
			HUB_PORT=$(cat "$HUB_DIR/port")
			HUB_URL=https://127.0.0.1:$HUB_PORT/locker-sync/v1
			return 0
		fi
		if ! kill -0 "$HUB_PID" 2>/dev/null; then
			echo "lokerhub exited at start; its log:" >&2
			tail -n 20 "$HUB_DIR/hub.log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "lokerhub did not listen within 10 s" >&2
	return 1
}

# hub_stop [SIGNAL]: stops the server (SIGTERM unless told).
hub_stop() {
	[ -n "${HUB_PID:-}" ] || return 0
	kill "-${1:-TERM}" "$HUB_PID" 2>/dev/null || true
	wait "$HUB_PID" 2>/dev/null || true
	HUB_PID=
}

# hub_sync_config [CA]: the [sync] section of a kiosk using this hub, for
# kiosk_write_config's extra text; CA defaults to the hub's own test CA.
hub_sync_config() {
	cat <<CONF
[sync]
url = $HUB_URL
token_file = $HUB_DIR/token
ca_file = ${1:-$HUB_DIR/ca/ca.pem}
status_interval_s = 10
pull_interval_s = 10
CONF
}
