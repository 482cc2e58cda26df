# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers shared by the demo and the integration tests: write a kiosk
# configuration on simulated hardware, start lokerd, talk to it, stop it.
# Source it with BIN set to the folder holding lokerd and lokerctl.

# kiosk_write_config DIR [EXTRA INI TEXT]
# Sections in the extra text must not be in the file already, but for
# [reader], which replaces the simulated reader.
# A 12-locker bank: 1-6 small, 7-9 medium, 10 large, 11-12 return.
kiosk_write_config() {
	local dir=$1 extra=${2:-}
	mkdir -p "$dir"
	# The site key: 32 random bytes as hex, readable by its owner only.
	(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$dir/site.key")
	cat >"$dir/lokerd.conf" <<CONF
[kiosk]
id = demo-01
site_key_file = $dir/site.key
database = $dir/lokerd.db
control_socket = $dir/control.sock
log_level = info

[lockers]
count = 12
pulse_ms = 500
medium = 7-9
large = 10
return = 11-12

[lockbank]
backend = sim
$extra
CONF
	# The demo and most tests tap a card without a PIN: say so, unless the
	# extra text sets the policy itself (lokerd's default is yes).
	case $extra in
	*pin_required*) ;;
	*) printf '\n[policy]\npin_required = no\n' >>"$dir/lokerd.conf" ;;
	esac
	# The simulated reader, unless the extra text names another.
	case $extra in
	*"[reader]"*) ;;
	*) printf '\n[reader]\nbackend = sim\n' >>"$dir/lokerd.conf" ;;
	esac
}

# kiosk_start DIR: starts lokerd in the background, waits until it answers.
kiosk_start() {
	local dir=$1 i
	"$BIN/lokerd" -c "$dir/lokerd.conf" 2>>"$dir/lokerd.log" &
	KIOSK_PID=$!
	# 30 s: lokerd starts in milliseconds, but a busy machine may not
	# run it for seconds.
	for i in $(seq 600); do
		if LOKERBUKU_SOCKET="$dir/control.sock" "$BIN/lokerctl" status >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$KIOSK_PID" 2>/dev/null; then
			echo "lokerd exited at start; its log:" >&2
			tail -n 20 "$dir/lokerd.log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "lokerd did not answer within 30 s" >&2
	return 1
}

# kiosk_stop: SIGTERM, then wait; returns lokerd's exit status.
kiosk_stop() {
	[ -n "${KIOSK_PID:-}" ] || return 0
	kill -TERM "$KIOSK_PID" 2>/dev/null || true
	local rc=0
	wait "$KIOSK_PID" || rc=$?
	KIOSK_PID=
	return $rc
}
