# SPDX-License-Identifier: GPL-2.0-or-later
# PHP web applications over real HTTPS for the PHP integrations' tests
# (SLiMS with the plugin, the INLISLite bridge): Debian's PHP 8.2 in
# php-fpm (its own configuration, running as the test's user, a socket in
# DIR) behind nginx (its own configuration and prefix, TLS with a
# certificate of tools/make-test-ca on a free port of 127.0.0.1,
# keep-alive, the Authorization header passed to PHP). Source it with
# LOKERBUKU_TOP set; then
#
#   webserver_need_tools || return 1  # says loudly what is missing
#   WEB_FPM_EXTRA='env[X] = y' webserver_start DIR ROOT
#       # serves ROOT; sets WEB_BASE (https://127.0.0.1:PORT/) and WEB_CA
#       # (DIR/ca/ca.pem); PHP's errors in DIR/php-error.log, sessions
#       # in DIR/sessions
#   webserver_logs                    # the servers' logs, for a failed test
#   webserver_stop
#   slims_free_port                   # a free TCP port of 127.0.0.1
#   slims_wait PID WHAT COMMAND...    # until COMMAND succeeds (10 s)
#   wait_for DESCRIPTION COMMAND...   # the tests' wait (WAIT_FOR_S, 30 s),
#                                     # then the test's fail()
WEB_FPM_PID='' WEB_NGINX_PID='' WEB_DIR=''

webserver_fpm_bin() {
	command -v php-fpm8.2 2>/dev/null || echo /usr/sbin/php-fpm8.2
}
webserver_nginx_bin() {
	command -v nginx 2>/dev/null || echo /usr/sbin/nginx
}

webserver_need_tools() {
	local t
	for t in php openssl curl; do
		command -v "$t" >/dev/null || {
			echo "SKIP: $t is missing (Debian: php-cli openssl curl; tools/bootstrap installs them)" >&2
			return 1
		}
	done
	[ -x "$(webserver_fpm_bin)" ] || {
		echo "SKIP: php-fpm8.2 is missing (Debian: php-fpm; tools/bootstrap installs it)" >&2
		return 1
	}
	[ -x "$(webserver_nginx_bin)" ] || {
		echo "SKIP: nginx is missing (Debian: nginx-light; tools/bootstrap installs it)" >&2
		return 1
	}
	[ -f /etc/nginx/fastcgi_params ] && [ -f /etc/nginx/mime.types ] || {
		echo "SKIP: nginx's fastcgi_params or mime.types is missing (Debian: nginx-common)" >&2
		return 1
	}
}

# A free TCP port on 127.0.0.1 (free when asked: the race is harmless here).
slims_free_port() {
	php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'
}

# slims_wait PID WHAT COMMAND...: until COMMAND succeeds (10 s at most).
slims_wait() {
	local pid=$1 what=$2 _
	shift 2
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || { echo "$what exited at start" >&2; return 1; }
		sleep 0.1
	done
	echo "$what did not come up within 10 s" >&2
	return 1
}
slims_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

webserver_start() {
	WEB_DIR=$1
	local root=$2
	mkdir -p "$WEB_DIR/sessions" "$WEB_DIR/nginx/tmp"
	"$LOKERBUKU_TOP/tools/make-test-ca" "$WEB_DIR/ca" >/dev/null
	WEB_CA=$WEB_DIR/ca/ca.pem

	# php-fpm as the test's user (root in CI: -R lets it), its socket in DIR.
	local root_flag=''
	[ "$(id -u)" != 0 ] || root_flag=-R
	cat >"$WEB_DIR/php-fpm.conf" <<CONF
[global]
pid = $WEB_DIR/php-fpm.pid
error_log = $WEB_DIR/php-fpm.log
daemonize = no

[www]
$([ "$(id -u)" = 0 ] && printf 'user = root\ngroup = root')
listen = $WEB_DIR/php-fpm.sock
listen.mode = 0600
pm = static
pm.max_children = 4
catch_workers_output = yes
php_admin_flag[log_errors] = on
php_admin_value[error_log] = $WEB_DIR/php-error.log
php_admin_value[session.save_path] = $WEB_DIR/sessions
${WEB_FPM_EXTRA:-}
CONF
	"$(webserver_fpm_bin)" $root_flag --nodaemonize -y "$WEB_DIR/php-fpm.conf" \
		</dev/null >>"$WEB_DIR/php-fpm.log" 2>&1 &
	WEB_FPM_PID=$!
	slims_wait "$WEB_FPM_PID" php-fpm test -S "$WEB_DIR/php-fpm.sock" || return 1

	# nginx in front: TLS, keep-alive, Authorization passed to PHP.
	local port
	port=$(slims_free_port)
	cat >"$WEB_DIR/nginx/nginx.conf" <<CONF
$([ "$(id -u)" = 0 ] && echo 'user root root;')
worker_processes 1;
pid $WEB_DIR/nginx/nginx.pid;
error_log $WEB_DIR/nginx/error.log warn;
events { worker_connections 256; }
http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	access_log $WEB_DIR/nginx/access.log;
	client_body_temp_path $WEB_DIR/nginx/tmp/body;
	fastcgi_temp_path $WEB_DIR/nginx/tmp/fastcgi;
	proxy_temp_path $WEB_DIR/nginx/tmp/proxy;
	uwsgi_temp_path $WEB_DIR/nginx/tmp/uwsgi;
	scgi_temp_path $WEB_DIR/nginx/tmp/scgi;
	keepalive_timeout 90s;
	keepalive_requests 10000;
	client_max_body_size 16m;
	server {
		listen 127.0.0.1:$port ssl;
		server_name 127.0.0.1 localhost;
		ssl_certificate $WEB_DIR/ca/server.pem;
		ssl_certificate_key $WEB_DIR/ca/server.key;
		root $root;
		index index.php index.html;
		location ~ [^/]\.php(/|\$) {
			fastcgi_split_path_info ^(.+?\.php)(/.*)\$;
			if (!-f \$document_root\$fastcgi_script_name) { return 404; }
			include /etc/nginx/fastcgi_params;
			fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
			fastcgi_param PATH_INFO \$fastcgi_path_info;
			fastcgi_param HTTP_AUTHORIZATION \$http_authorization;
			fastcgi_read_timeout 120s;
			fastcgi_pass unix:$WEB_DIR/php-fpm.sock;
		}
	}
}
CONF
	"$(webserver_nginx_bin)" -p "$WEB_DIR/nginx/" -e "$WEB_DIR/nginx/error.log" \
		-c "$WEB_DIR/nginx/nginx.conf" -g 'daemon off;' </dev/null \
		>>"$WEB_DIR/nginx/stderr.log" 2>&1 &
	WEB_NGINX_PID=$!
	slims_wait "$WEB_NGINX_PID" nginx slims_port_open "$port" || return 1
	WEB_BASE="https://127.0.0.1:$port/"
	export WEB_BASE WEB_CA
}

webserver_stop() {
	local pid
	for pid in "$WEB_NGINX_PID" "$WEB_FPM_PID"; do
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	WEB_NGINX_PID='' WEB_FPM_PID=''
}

webserver_logs() {
	local f
	[ -n "$WEB_DIR" ] || return 0
	for f in php-error.log php-fpm.log nginx/error.log nginx/stderr.log; do
		[ -s "$WEB_DIR/$f" ] || continue
		echo "--- $f (last 20 lines):" >&2
		tail -n 20 "$WEB_DIR/$f" >&2
	done
	echo "--- nginx/access.log (last 10 lines):" >&2
	tail -n 10 "$WEB_DIR/nginx/access.log" >&2 2>/dev/null || true
}

# wait_for DESCRIPTION COMMAND...: up to WAIT_FOR_S (30) seconds for
# COMMAND to succeed; the test's fail() otherwise.
wait_for() {
	local what=$1 limit=${WAIT_FOR_S:-30} _
	shift
	for _ in $(seq $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "waited $limit s for: $what"
}
