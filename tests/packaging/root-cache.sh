#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the debootstrap root that integration-install and
# integration-demo-fresh start from, once, in BUILD/debootstrap-root
# (root.sh), before either of them runs: neither then waits for the other
# to make it, and the next runs find it there.
set -euo pipefail
build=${1:?the build tree}
. "$(dirname "$0")/root.sh"
trap root_cleanup EXIT
ROOT_CACHE_ONLY=1 root_make "$build/debootstrap.log" "$build/debootstrap-root"
