#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The gpiod lock bank against the kernel's gpio-sim, in a qemu VM that boots
# Debian's kernel: locks held locked from the request on, pulses, door edges
# through the fd, busy lines named, everything locked after free.
#
# VM_BINARIES: the programs the VM gets (the first is vm-lockbank-test).
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "$0")/lib.sh"
: "${VM_BINARIES:?VM_BINARIES must list vm-lockbank-test}"

vm_require
vm_prepare
# shellcheck disable=SC2086 # a list of paths
vm_initramfs "$VM_LIB_DIR/gpio.scenario" $VM_BINARIES
vm_boot
