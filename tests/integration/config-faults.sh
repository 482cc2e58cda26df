#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A corrupt or contradictory configuration, through the real lokerd: it
# refuses to start with exit status 78 (lokerd.service does not restart
# on it) and exactly one log line naming the file, the line when there is
# one, and the key; it opens no database and no control socket. One case
# per class of mistake: tests/unit/test-config.c checks every message.
. "$(dirname "$0")/lib.sh"

n_checked=0

# refused NAME PATTERN: lokerd -c $WORK/NAME refuses, in one line matching.
refused() {
	local conf=$WORK/$1 rc=0 out
	out=$(timeout 10 "$BIN/lokerd" -c "$conf" 2>&1) || rc=$?
	[ $rc -eq 78 ] || fail "$1: exit status $rc, not 78: $out"
	[ "$(grep -c '' <<<"$out")" = 1 ] || fail "$1: not one line: $out"
	grep -q ' err: configuration: ' <<<"$out" || fail "$1: not an error line: $out"
	grep -qF -- "$2" <<<"$out" || fail "$1: the line does not say '$2': $out"
	[ ! -e "$WORK/lokerd.db" ] && [ ! -e "$WORK/control.sock" ] ||
		fail "$1: lokerd made its database or socket before refusing"
	# --check-config says the same, on its own, for whoever fixes it.
	rc=0
	out=$("$BIN/lokerd" --check-config -c "$conf" 2>&1) || rc=$?
	[ $rc -eq 78 ] && grep -qF -- "$2" <<<"$out" ||
		fail "$1: --check-config: rc $rc: $out"
	n_checked=$((n_checked + 1))
	echo "  $out" | sed 's/^  [0-9:.]* /  /'
}

# variant NAME SED-SCRIPT [EXTRA TEXT]: the good file, edited, as NAME.
variant() {
	sed -e "$2" "$WORK/lokerd.conf" >"$WORK/$1"
	[ -z "${3:-}" ] || printf '%s\n' "$3" >>"$WORK/$1"
}

kiosk_write_config "$WORK"
"$BIN/lokerd" --check-config -c "$WORK/lokerd.conf" >/dev/null ||
	fail "the good file is refused"

echo "an unknown key (a typo): named with its file and line"
variant typo.conf 's/^pulse_ms = 500$/puls_ms = 500/'
line=$(grep -n '^puls_ms' "$WORK/typo.conf" | cut -d: -f1)
refused typo.conf "typo.conf:$line: [lockers] puls_ms: unknown key"

echo "an unknown section"
variant section.conf '' "[outbx]
max_unsent = 10"
refused section.conf "[outbx] max_unsent: unknown section"

echo "a number that is no number, or out of its range"
variant nan.conf 's/^pulse_ms = 500$/pulse_ms = 5OO/'
refused nan.conf "[lockers] pulse_ms: must be a number 50..10000"
variant range.conf 's/^count = 12$/count = 500/'
refused range.conf "[lockers] count: must be a number 1..128"

echo "contradictions: a locker beyond the count, a pulse outlasting its confirmation"
variant beyond.conf 's/^count = 12$/count = 10/'
refused beyond.conf "beyond.conf:13: locker 12: beyond [lockers] count = 10"
variant pulse.conf 's/^pulse_ms = 500$/pulse_ms = 9000/' "[doors]
confirm_timeout_ms = 8000"
refused pulse.conf "[lockers] pulse_ms: 9000 is not shorter than [doors] confirm_timeout_ms (8000)"

echo "a GPIO pin list that does not match the lockers"
cat >"$WORK/pins.conf" <<CONF
[kiosk]
id = demo-01
site_key_file = $WORK/site.key
database = $WORK/lokerd.db
control_socket = $WORK/control.sock
[lockers]
count = 2
[lockbank]
backend = gpiod
chip = /dev/gpiochip0
[locker.1]
lock = 1
door = 2
[locker.2]
lock = 3
CONF
refused pins.conf "[locker.2] door: missing (backend = gpiod needs the door line of every locker)"
printf 'door = 1\n' >>"$WORK/pins.conf"
refused pins.conf "pins.conf:16: [locker.2] door: the same line as locker 1's lock (on line 12 of this file)"

echo "a required key missing"
variant noid.conf '/^id = /d'
refused noid.conf "[kiosk] id: missing"

echo "a key given twice (the second would silently win)"
variant twice.conf 's/^count = 12$/count = 12\ncount = 8/'
refused twice.conf "[lockers] count: given twice"

echo "the site key file: missing, then readable by others"
variant nokey.conf "s|^site_key_file = .*|site_key_file = $WORK/none.key|"
refused nokey.conf "$WORK/none.key"
chmod 0644 "$WORK/site.key"
refused lokerd.conf "site.key"
chmod 0600 "$WORK/site.key"

echo "no configuration file at all"
refused absent.conf "absent.conf"

echo "integration config-faults: ok ($n_checked refusals checked, each one line, exit 78)"
