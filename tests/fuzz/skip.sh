#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Stands in for a fuzz target that cannot be built here: says why, loudly,
# and exits 77 so CTest counts it as skipped, not passed.
# Usage: skip.sh TEST REASON
{
	echo "################################################################"
	echo "## SKIPPED: $1: $2"
	echo "## (tools/bootstrap installs clang and libclang-rt-dev;"
	echo "## tools/test builds the fuzz targets in build-fuzz with CC=clang)"
	echo "################################################################"
} >&2
exit 77
