# SPDX-License-Identifier: GPL-2.0-or-later
# The SLiMS plugin served as a library would run it, for the shell tests:
# a throw-away MariaDB (mariadb.sh) with the SLiMS tables and the plugin's
# migration, PHP's built-in web server running the SLiMS stand-in, and
# haproxy in front of it for HTTPS (a certificate of tools/make-test-ca;
# php -S closes every connection, haproxy keeps the kiosk's open).
# Source it with LOKERBUKU_TOP set; then
#
#   slims_need_tools || exit 77
#   slims_start DIR      # sets SLIMS_URL (the kiosk's [sync] url), SLIMS_CA,
#                        # SLIMS_FAULT_DIR; exports the DB variables
#   slims_admin ARGS...  # tests/slims/slims-admin.php
#   slims_stop
SLIMS_HERE=$LOKERBUKU_TOP/tests/slims
. "$SLIMS_HERE/mariadb.sh"
SLIMS_PHP_PID='' SLIMS_PROXY_PID=''

slims_need_tools() {
	local t
	for t in php haproxy openssl curl jq; do
		command -v "$t" >/dev/null || {
			echo "SKIP: $t is missing (Debian: php-cli haproxy openssl curl jq; tools/bootstrap installs them)" >&2
			return 1
		}
	done
	php -r 'exit(extension_loaded("pdo_mysql") && extension_loaded("mbstring") ? 0 : 1);' || {
		echo "SKIP: PHP lacks pdo_mysql or mbstring (Debian: php-mysql, php-mbstring)" >&2
		return 1
	}
	mariadb_need_tools
}

slims_admin() {
	php "$SLIMS_HERE/slims-admin.php" "$@"
}

# A free TCP port on 127.0.0.1 (free when asked: the race is harmless here).
slims_free_port() {
	php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'
}

# slims_wait_port PORT PID WHAT: until something accepts on PORT.
slims_wait_port() {
	local i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		kill -0 "$2" 2>/dev/null || { echo "$3 exited at start" >&2; return 1; }
		sleep 0.1
	done
	echo "$3 did not listen on port $1 within 10 s" >&2
	return 1
}

slims_start() {
	SLIMS_DIR=$1
	mkdir -p "$SLIMS_DIR"
	mariadb_start "$SLIMS_DIR/db"
	slims_admin schema "$SLIMS_HERE/schema/slims-tables.sql" >/dev/null
	(umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$SLIMS_DIR/site.key")
	slims_admin site-key-file "$SLIMS_DIR/site.key"
	"$LOKERBUKU_TOP/tools/make-test-ca" "$SLIMS_DIR/ca" >/dev/null
	cat "$SLIMS_DIR/ca/server.pem" "$SLIMS_DIR/ca/server.key" >"$SLIMS_DIR/ca/server-haproxy.pem"
	SLIMS_CA=$SLIMS_DIR/ca/ca.pem
	SLIMS_FAULT_DIR=$SLIMS_DIR/faults
	mkdir -p "$SLIMS_FAULT_DIR" "$SLIMS_DIR/mail"

	local php_port tls_port
	php_port=$(slims_free_port)
	LOKERBUKU_SLIMS_FAULT_DIR=$SLIMS_FAULT_DIR LOKERBUKU_SLIMS_MAIL_DIR=$SLIMS_DIR/mail \
		PHP_CLI_SERVER_WORKERS=2 \
		php -S "127.0.0.1:$php_port" -t "$SLIMS_HERE/slims-standin" \
		"$SLIMS_HERE/slims-standin/index.php" >"$SLIMS_DIR/php.log" 2>&1 </dev/null &
	SLIMS_PHP_PID=$!
	slims_wait_port "$php_port" "$SLIMS_PHP_PID" "php -S" || return 1

	tls_port=$(slims_free_port)
	cat >"$SLIMS_DIR/haproxy.cfg" <<CFG
global
	maxconn 64
defaults
	mode http
	timeout connect 5s
	timeout client 90s
	timeout server 60s
	timeout http-keep-alive 90s
	# Keep-alive to the kiosk, one connection per request to php -S.
	option http-server-close
frontend https
	bind 127.0.0.1:$tls_port ssl crt $SLIMS_DIR/ca/server-haproxy.pem
	default_backend slims
backend slims
	server php 127.0.0.1:$php_port
CFG
	haproxy -db -f "$SLIMS_DIR/haproxy.cfg" >"$SLIMS_DIR/haproxy.log" 2>&1 </dev/null &
	SLIMS_PROXY_PID=$!
	slims_wait_port "$tls_port" "$SLIMS_PROXY_PID" haproxy || return 1
	SLIMS_URL="https://127.0.0.1:$tls_port/index.php?p=api/locker/v1"
}

slims_stop() {
	local pid
	for pid in "$SLIMS_PROXY_PID" "$SLIMS_PHP_PID"; do
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	SLIMS_PROXY_PID='' SLIMS_PHP_PID=''
	mariadb_stop
}

# slims_logs: the servers' logs, for a failed test.
slims_logs() {
	local f
	for f in php.log haproxy.log db/error.log; do
		[ -s "$SLIMS_DIR/$f" ] || continue
		echo "--- $f (last 20 lines):" >&2
		tail -n 20 "$SLIMS_DIR/$f" >&2
	done
}
