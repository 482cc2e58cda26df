#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every configuration docs/hardware.md shows (its ```ini blocks) is one
# `lokerd --check-config` takes, as a technician would copy it: the
# 12-door bank on the Pi's pins, the 24-door one on expanders and the
# 16-door one on a Modbus RTU board (issue 23). Only the site key's path is
# changed, to a key of the test's own.
. "$(dirname "$0")/lib.sh"
doc=$LOKERBUKU_TOP/docs/hardware.md
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/site.key")
awk -v dir="$WORK" '/^```ini$/ { n++; f = dir "/doc-" n ".conf"; next }
	/^```/ { f = ""; next }
	f { print > f }' "$doc"
n=0
for conf in "$WORK"/doc-*.conf; do
	[ -e "$conf" ] || break
	sed -i "s#^site_key_file = .*#site_key_file = $WORK/site.key#" "$conf"
	out=$("$BIN/lokerd" --check-config -c "$conf" 2>&1) ||
		fail "docs/hardware.md's configuration $(basename "$conf") is refused: $out"
	n=$((n + 1))
	echo "  $(basename "$conf"): $(grep -c '^\[locker\.' "$conf") lockers, accepted"
done
[ "$n" -ge 3 ] || fail "only $n configurations in docs/hardware.md"
echo "integration-doc-configs: $n configurations of docs/hardware.md pass --check-config"
