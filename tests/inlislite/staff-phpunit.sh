#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The INLISLite bridge's staff side in PHPUnit (tests/inlislite/staff):
# the notification queue and its channels (Gammu outbox, SMTP, WhatsApp
# hook) and the staff login, against a throw-away MariaDB holding the
# real INLISLite 3.2 schema (../shared/peers/inlislite-3.2/schema.sql),
# loaded by lib.sh's inl_db_start.
#   tests/inlislite/staff-phpunit.sh [phpunit arguments]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LOKERBUKU_TOP=${LOKERBUKU_TOP:-$(cd "$HERE/../.." && pwd)}
. "$HERE/lib.sh"

for t in php phpunit python3; do
	command -v "$t" >/dev/null || {
		echo "SKIP: $t is missing (Debian: php-cli, phpunit, python3; tools/bootstrap installs them)" >&2
		exit 77
	}
done
php -r 'exit(extension_loaded("pdo_mysql") && extension_loaded("mbstring") && extension_loaded("curl") ? 0 : 1);' || {
	echo "SKIP: PHP lacks pdo_mysql, mbstring or curl (Debian: php-mysql, php-mbstring, php-curl)" >&2
	exit 77
}
mariadb_need_tools || exit 77
[ -f "$INL_SCHEMA" ] || {
	echo "SKIP: INLISLite's 3.2 schema is not at $INL_SCHEMA (the shared peers folder beside the checkout; set INL_SCHEMA to its path)" >&2
	exit 77
}

WORK=$(mktemp -d /tmp/lokerbuku-inl-staff.XXXXXX)
cleanup() {
	local rc=$?
	[ $rc -eq 0 ] || inl_logs
	mariadb_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

INL_VERSION=3.2 inl_db_start "$WORK/inl"
# INLISLite 3.3's staff accounts: myth/auth's tables as make-33.php puts
# them into the 3.3 shape (the rest of 3.3 is not needed here).
"$(mariadb_bin mariadb)" --no-defaults --socket="$MARIADB_SOCKET" -uroot \
	-e "CREATE DATABASE inlislite_v33 CHARACTER SET utf8mb3"
"$(mariadb_bin mariadb)" --no-defaults --socket="$MARIADB_SOCKET" -uroot inlislite_v33 <"$HERE/auth-33.sql"
export LOKERBUKU_INL_DB_SOCKET=$MARIADB_SOCKET LOKERBUKU_INL_DB_NAME=$INL_DB
export LOKERBUKU_SMTP_SINK=$HERE/../slims/smtp-sink.py LOKERBUKU_TEST_TMP=$WORK
cd "$HERE/staff"
phpunit --do-not-cache-result --bootstrap bootstrap.php "$@" .
