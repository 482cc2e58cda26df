#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The SLiMS plugin's PHP tests (phpunit) against a throw-away MariaDB that
# this script starts, holding SLiMS 9.7's own tables: the SQL of its
# installer (install/install.sql.php), unpacked from the published tarball.
#   tests/slims/run-phpunit.sh [phpunit arguments]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/mariadb.sh"

for t in php phpunit; do
	command -v "$t" >/dev/null || {
		echo "SKIP: $t is missing (Debian: php-cli, phpunit; tools/bootstrap installs them)" >&2
		exit 77
	}
done
php -r 'exit(extension_loaded("pdo_mysql") && extension_loaded("mbstring") ? 0 : 1);' || {
	echo "SKIP: PHP lacks pdo_mysql or mbstring (Debian: php-mysql, php-mbstring)" >&2
	exit 77
}
mariadb_need_tools || exit 77
SLIMS_TARBALL=${SLIMS_TARBALL:-$HERE/../../../shared/peers/slims-9.7/slims9_bulian-9.7.0.tar.xz}
[ -f "$SLIMS_TARBALL" ] || {
	echo "SKIP: SLiMS 9.7 is not at $SLIMS_TARBALL (the shared peers folder beside the checkout; set SLIMS_TARBALL)" >&2
	exit 77
}

WORK=$(mktemp -d /tmp/lokerbuku-slims-unit.XXXXXX)
cleanup() {
	local rc=$?
	mariadb_stop
	if [ $rc -ne 0 ] && [ -s "$WORK/db/error.log" ]; then
		echo "--- mariadbd's log (last 20 lines):" >&2
		tail -n 20 "$WORK/db/error.log" >&2
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

tar -xJf "$SLIMS_TARBALL" -C "$WORK" ./install/install.sql.php
export LOKERBUKU_SLIMS_INSTALL_SQL=$WORK/install/install.sql.php
mariadb_start "$WORK/db"
cd "$HERE/phpunit"
phpunit --do-not-cache-result --bootstrap bootstrap.php "$@" .
