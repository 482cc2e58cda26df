# SPDX-License-Identifier: GPL-2.0-or-later
# A throw-away MariaDB server for the SLiMS tests: its own data directory
# under a temporary folder, a UNIX socket (and with MARIADB_PORT set, TCP
# on 127.0.0.1:MARIADB_PORT too, as SLiMS's installer connects; otherwise
# no network), an empty database `slims` (or MARIADB_DB). Durability is
# traded for speed (no fsync): a test server lives for one test. Source
# it; then
#
#   mariadb_need_tools || exit 77     # with the reason on stderr
#   [MARIADB_PORT=N] mariadb_start DIR  # sets MARIADB_SOCKET, exports the
#                                     # LOKERBUKU_SLIMS_DB_* variables
#   mariadb_sql "SELECT ..."          # runs SQL in database slims (or
#                                     # MARIADB_DB) as root
#   mariadb_stop
#
# As root (CI), mariadbd must be told it may run as root (--user=root).

MARIADB_DIR='' MARIADB_PID=''
MARIADB_DB=${MARIADB_DB:-slims}

mariadb_need_tools() {
	local t
	for t in mariadb-install-db mariadbd mariadb mariadb-admin; do
		if ! command -v "$t" >/dev/null && [ ! -x "/usr/sbin/$t" ]; then
			echo "SKIP: $t is missing (Debian: apt-get install mariadb-server; tools/bootstrap installs it)" >&2
			return 1
		fi
	done
}

mariadb_bin() { command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"; }

mariadb_start() {
	MARIADB_DIR=$1
	mkdir -p "$MARIADB_DIR/data"
	local user
	user=$(id -un)
	# Its own tmpdir: a mariadbd starting removes the #sql-* files it
	# finds in its tmpdir, another server's temporary tables too, and
	# the install of two servers at once in /tmp then failed ("Could not
	# remove temporary table", "Installation of system tables failed!").
	if ! "$(mariadb_bin mariadb-install-db)" --no-defaults --datadir="$MARIADB_DIR/data" \
		--user="$user" --auth-root-authentication-method=normal \
		--skip-test-db --tmpdir="$MARIADB_DIR" >"$MARIADB_DIR/install.log" 2>&1; then
		echo "mariadb-install-db failed:" >&2
		grep -E '\[ERROR\]|\[Warning\]|^ERROR' "$MARIADB_DIR/install.log" | head -n 20 >&2
		tail -n 20 "$MARIADB_DIR/install.log" >&2
		return 1
	fi
	MARIADB_SOCKET=$MARIADB_DIR/mysqld.sock
	local net=--skip-networking
	[ -z "${MARIADB_PORT:-}" ] || net="--port=$MARIADB_PORT --bind-address=127.0.0.1"
	# Small buffers and no fsync: a test server, started and stopped in
	# seconds (loading INLISLite's 185 tables takes 4 s instead of 15).
	"$(mariadb_bin mariadbd)" --no-defaults --datadir="$MARIADB_DIR/data" \
		--user="$user" --socket="$MARIADB_SOCKET" $net \
		--pid-file="$MARIADB_DIR/mysqld.pid" --tmpdir="$MARIADB_DIR" \
		--log-error="$MARIADB_DIR/error.log" \
		--innodb-buffer-pool-size=16M --innodb-log-file-size=8M \
		--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
		--innodb-flush-method=nosync \
		--skip-log-bin --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_unicode_ci </dev/null >/dev/null 2>&1 &
	MARIADB_PID=$!
	local i
	for i in $(seq 300); do
		if "$(mariadb_bin mariadb-admin)" --no-defaults --socket="$MARIADB_SOCKET" \
			-uroot ping >/dev/null 2>&1; then
			break
		fi
		if ! kill -0 "$MARIADB_PID" 2>/dev/null; then
			echo "mariadbd exited at start; its log:" >&2
			tail -n 20 "$MARIADB_DIR/error.log" >&2
			MARIADB_PID=''
			return 1
		fi
		sleep 0.1
	done
	if [ "$i" = 300 ]; then
		echo "mariadbd did not answer within 30 s" >&2
		return 1
	fi
	export LOKERBUKU_SLIMS_DB_SOCKET=$MARIADB_SOCKET
	export LOKERBUKU_SLIMS_DB_NAME=$MARIADB_DB
	export LOKERBUKU_SLIMS_DB_USER=root
	export LOKERBUKU_SLIMS_DB_PASSWORD=''
	"$(mariadb_bin mariadb)" --no-defaults --socket="$MARIADB_SOCKET" -uroot \
		-e "CREATE DATABASE \`$MARIADB_DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
}

# mariadb_sql SQL: runs SQL in database MARIADB_DB, tab-separated output, no header.
mariadb_sql() {
	"$(mariadb_bin mariadb)" --no-defaults --socket="$MARIADB_SOCKET" -uroot \
		-N -B "$MARIADB_DB" -e "$1"
}

mariadb_stop() {
	[ -n "$MARIADB_PID" ] || return 0
	kill -TERM "$MARIADB_PID" 2>/dev/null || true
	wait "$MARIADB_PID" 2>/dev/null || true
	MARIADB_PID=''
}
