#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The README's demo command on a fresh Debian machine: a clean root made by
# debootstrap, this source tree copied in, `tools/demo --check` run there as
# root. It must install what it needs by itself and play the whole story,
# and reach its first screen within DEMO_FIRST_SCREEN_S (180) seconds, not
# counting the time apt spends downloading (which depends on the mirror,
# not on us; tools/bootstrap --demo times it apart).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?the build tree}
bound_s=${DEMO_FIRST_SCREEN_S:-180}
. "$(dirname "$0")/root.sh"
trap root_cleanup EXIT
root_make "$build/demo-debootstrap.log"

echo "this source tree, as git has it, into the root"
mkdir "$ROOT/src"
git -C "$top" ls-files -z | (cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$ROOT/src"

echo "tools/demo --check in the root"
log=$build/demo-fresh.log
if ! in_root env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root /src/tools/demo --check >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	fail "tools/demo --check failed on a fresh root; the log: $log"
fi
grep -E '^demo: |^bootstrap: (downloaded|installing)' "$log" | sed 's/^/  /'
grep -q '^demo check: all [0-9]* steps passed' "$log" || fail "no passing story in $log"
first=$(sed -n 's/^demo: the first screen is ready after \([0-9]*\) s.*/\1/p' "$log")
[ -n "$first" ] || fail "the demo did not say when its first screen was ready"
download=$(sed -n 's/^bootstrap: downloaded in \([0-9]*\) s$/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
echo "first screen after $first s, of which $download s downloading packages"
[ $((first - download)) -le "$bound_s" ] ||
	fail "the first screen took $((first - download)) s beyond the downloads (bound $bound_s s)"
