#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A unit against systemd's own security review: prints the exposure score
# and fails above MAX (10 is unprotected). Skipped, loudly, where
# systemd-analyze cannot review a unit file offline (before v250).
#
#   systemd-unit.sh UNIT-FILE [MAX]   MAX: 2.0 unless given
set -euo pipefail
unit=${1:?the unit file}
max=${2:-2.0}
if ! systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	echo "SKIPPED: systemd-analyze here cannot review unit files offline (needs systemd 250)" >&2
	exit 77
fi
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || {
	echo "FAIL: no score from systemd-analyze:" >&2
	echo "$out" >&2
	exit 1
}
echo "systemd-analyze security $(basename "$unit"): exposure $score ($max or better required)"
grep '✗' <<<"$out" | sed 's/  \+/  /g' | cut -c1-120
awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }' || {
	echo "FAIL: exposure $score is above $max" >&2
	exit 1
}
