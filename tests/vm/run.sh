#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs one VM test: boots Debian's kernel in qemu with gpio-sim, evdev and
# uinput, and the given programs, and runs SCENARIO (a shell script /init
# sources) inside; its checks are printed, its status is the result.
#
#   run.sh SCENARIO    with VM_BINARIES: the programs the VM gets
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
[ $# = 1 ] || { echo "usage: run.sh SCENARIO" >&2; exit 2; }
: "${VM_BINARIES:?VM_BINARIES must list the programs the scenario runs}"

vm_require
vm_prepare
# shellcheck disable=SC2086 # a list of paths
vm_initramfs "$1" $VM_BINARIES
vm_boot
