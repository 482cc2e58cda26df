#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The bridge's rules and circulation writes in PHPUnit (tests/inlislite/
# phpunit) against INLISLite's real 3.2 schema and the 3.3 shape made from
# it, both in one throw-away MariaDB this script starts (lib.sh).
#   tests/inlislite/run-phpunit.sh [phpunit arguments]
set -euo pipefail
LOKERBUKU_TOP=${LOKERBUKU_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
INL_VERSION=3.2
. "$LOKERBUKU_TOP/tests/inlislite/lib.sh"
command -v phpunit >/dev/null || {
	echo "SKIP: phpunit is missing (Debian: phpunit; tools/bootstrap installs it)" >&2
	exit 77
}
inl_need_tools || exit 77

WORK=$(mktemp -d /tmp/lokerbuku-inl-unit.XXXXXX)
cleanup() {
	local rc=$?
	[ $rc -eq 0 ] || inl_logs
	inl_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

inl_db_start "$WORK"
inl_db_load inlislite_v33 3.3
export LOKERBUKU_INL_DB_SOCKET=$MARIADB_SOCKET
cd "$LOKERBUKU_TOP/tests/inlislite/phpunit"
phpunit --do-not-cache-result --bootstrap bootstrap.php "$@" .
