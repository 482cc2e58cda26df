# SPDX-License-Identifier: GPL-2.0-or-later
# The real SLiMS 9.7, installed fresh for one test as a library installs
# it, with the lokerbuku plugin activated in it (integrations/slims/README.md
# step by step):
#
# - the published source tree (../shared/peers/slims-9.7, checked against
#   its sha256) unpacked into DIR/www;
# - a MariaDB of its own (mariadb.sh) on 127.0.0.1, a database user
#   `slims` for SLiMS;
# - Debian's PHP 8.2 in php-fpm (its own configuration, running as the
#   test's user, a socket in DIR) behind nginx (its own configuration and
#   prefix, TLS with a certificate of tools/make-test-ca on a free port of
#   127.0.0.1, keep-alive, the Authorization header passed to PHP);
# - SLiMS's own installer (install/api.php, what its web installer posts):
#   database tables from its SQL, MyISAM as it defaults, an administrator,
#   config/database.php and config/env.php written by it;
# - the tables the README names converted to InnoDB, the plugin copied to
#   plugins/lokerbuku and activated by the request System -> Plugins makes,
#   after a real admin login (CSRF token and all);
# - unless SLIMS_MAIL=none: an SMTP sink on 127.0.0.1 (smtp-sink.py, one
#   file per message in SLIMS_MAIL_DIR) and SLiMS's mail settings pointed
#   at it through System -> Mail settings;
# - the site key made and its path set (slims_admin site-key-file).
#
# Source it with LOKERBUKU_TOP set; then
#
#   slims_need_tools || exit 77   # says loudly what is missing
#   slims_start DIR               # exports SLIMS_URL (the kiosk's [sync]
#       # url), SLIMS_BASE, SLIMS_CA, SLIMS_ROOT, SLIMS_DIR, SLIMS_MAIL_DIR,
#       # SLIMS_FAULT_DIR, SLIMS_SITE_KEY, SLIMS_ADMIN_USER,
#       # SLIMS_ADMIN_PASSWORD and the DB variables of mariadb.sh
#   slims_admin ARGS...           # tests/slims/slims-admin.php in this SLiMS
#   slims_curl ARGS...            # curl with SLiMS's CA and the admin's cookies
#   slims_mails                   # the mails caught so far, as JSON
#   mariadb_sql "SQL"             # in SLiMS's database
#   slims_logs                    # the servers' logs, for a failed test
#   slims_stop
SLIMS_HERE=$LOKERBUKU_TOP/tests/slims
SLIMS_TARBALL=${SLIMS_TARBALL:-$LOKERBUKU_TOP/../shared/peers/slims-9.7/slims9_bulian-9.7.0.tar.xz}
SLIMS_TARBALL_SHA256=018c5a829c1a0362ae464721e33201f1a2eaa2a36cbf51fb5533d2001f04c895
. "$SLIMS_HERE/mariadb.sh"
. "$SLIMS_HERE/webserver.sh"
SLIMS_SMTP_PID='' SLIMS_DIR=''

slims_skip() {
	echo "SKIP: $*" >&2
	return 1
}

slims_need_tools() {
	local t
	for t in php openssl curl jq python3 tar xz sha256sum; do
		command -v "$t" >/dev/null ||
			slims_skip "$t is missing (Debian: php-cli openssl curl jq python3 tar xz-utils coreutils; tools/bootstrap installs them)" ||
			return 1
	done
	webserver_need_tools || return 1
	local ext mods
	mods=$("$(webserver_fpm_bin)" -m 2>/dev/null)
	for ext in mysqli pdo_mysql mbstring gd gettext curl intl zip xml; do
		grep -qix "$ext" <<<"$mods" ||
			slims_skip "php-fpm lacks the PHP extension $ext, which SLiMS 9.7 needs (Debian: php-mysql php-mbstring php-gd php-curl php-intl php-zip php-xml; tools/bootstrap installs them)" ||
			return 1
	done
	[ -f "$SLIMS_TARBALL" ] ||
		slims_skip "SLiMS 9.7 is not at $SLIMS_TARBALL (the shared peers folder beside the checkout; set SLIMS_TARBALL to its path)" ||
		return 1
	mariadb_need_tools
}

slims_admin() {
	SLIMS_ROOT=$SLIMS_ROOT php "$SLIMS_HERE/slims-admin.php" "$@"
}

# slims_curl ARGS...: curl against this SLiMS, verifying its certificate,
# with the cookie jar of the admin's session.
slims_curl() {
	curl -sS --fail-with-body --max-time 60 --cacert "$SLIMS_CA" \
		-b "$SLIMS_DIR/admin.cookies" -c "$SLIMS_DIR/admin.cookies" "$@"
}

# slims_installer JSON: one request of SLiMS's web installer (install/api.php).
slims_installer() {
	local out
	out=$(curl -sS --max-time 120 --cacert "$SLIMS_CA" -b "$SLIMS_DIR/install.cookies" \
		-c "$SLIMS_DIR/install.cookies" -H 'Content-Type: application/json' \
		-H 'Accept: application/json' --data-binary "$1" "${SLIMS_BASE}install/api.php") || return 1
	jq -e '.status == true' >/dev/null 2>&1 <<<"$out" || {
		echo "SLiMS's installer refused $(jq -r .action <<<"$1"): $out" >&2
		return 1
	}
}

# slims_login USER PASSWORD: logs in at SLiMS's staff login (index.php?p=login)
# with the form's CSRF token, keeping the session in SLIMS_DIR/admin.cookies.
slims_login() {
	local page name value
	rm -f "$SLIMS_DIR/admin.cookies"
	page=$(slims_curl "${SLIMS_BASE}index.php?p=login") || return 1
	name=$(grep -o 'name="_csrf_token_[0-9a-f]*"' <<<"$page" | head -n1 | cut -d'"' -f2)
	value=$(grep -o "name=\"$name\"[^>]*value=\"[^\"]*\"" <<<"$page" | head -n1 | sed 's/.*value="//; s/"$//')
	[ -n "$name" ] && [ -n "$value" ] || {
		echo "no CSRF token in SLiMS's login form" >&2
		return 1
	}
	slims_curl -o /dev/null --data-urlencode "userName=$1" --data-urlencode "passWord=$2" \
		--data-urlencode "$name=$value" --data-urlencode "logMeIn=Login" \
		"${SLIMS_BASE}index.php?p=login" || return 1
	# The admin shell answers only a logged-in session.
	page=$(slims_curl "${SLIMS_BASE}admin/index.php") || return 1
	grep -q 'logout' <<<"$page" || {
		echo "SLiMS's login as $1 did not reach the admin shell" >&2
		return 1
	}
}

# slims_activate_plugin NAME: what System -> Plugins' switch posts.
slims_activate_plugin() {
	local page id out
	page=$(slims_curl "${SLIMS_BASE}admin/modules/system/plugins.php") || return 1
	# The plugin's row: its name, then the switch whose id is the plugin's id.
	id=$(NAME=$1 python3 -c '
import os, re, sys
page = sys.stdin.read()
at = page.find(os.environ["NAME"])
m = re.compile(r"enablePlugin\(event[^>]*id=\"([0-9a-f]+)\"").search(page, at) if at >= 0 else None
print(m.group(1) if m else "")' <<<"$page")
	[ -n "$id" ] || {
		echo "System -> Plugins does not list '$1'" >&2
		return 1
	}
	out=$(slims_curl -H 'Content-Type: application/json' \
		--data-binary "{\"format\":\"json\",\"enable\":true,\"id\":\"$id\",\"runDown\":false}" \
		"${SLIMS_BASE}admin/modules/system/plugin_action.php") || return 1
	jq -e '.status == true' >/dev/null 2>&1 <<<"$out" || {
		echo "SLiMS did not enable the plugin '$1': $out" >&2
		return 1
	}
}

# slims_mail_settings HOST PORT USER PASSWORD: System -> Mail settings.
slims_mail_settings() {
	slims_curl -o "$SLIMS_DIR/mailsetting.html" \
		--data-urlencode debug=0 --data-urlencode SMTPSecure= \
		--data-urlencode "server=$1" --data-urlencode "serverport=$2" \
		--data-urlencode "authusername=$3" --data-urlencode "authpassword=$4" \
		--data-urlencode from=perpustakaan@perpus.example.org \
		--data-urlencode 'fromname=Perpustakaan Contoh' --data-urlencode withreplyto=0 \
		--data-urlencode replyto= --data-urlencode replytoname= \
		--data-urlencode 'saveData=Save Settings' \
		"${SLIMS_BASE}admin/modules/system/mailsetting.php" || return 1
	[ -f "$SLIMS_ROOT/config/mail.php" ] || {
		echo "SLiMS's mail settings did not write config/mail.php" >&2
		return 1
	}
}

slims_random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

slims_start() {
	SLIMS_DIR=$(mkdir -p "$1" && cd "$1" && pwd)
	SLIMS_ROOT=$SLIMS_DIR/www
	SLIMS_FAULT_DIR=$SLIMS_DIR/faults
	SLIMS_MAIL_DIR=$SLIMS_DIR/mail
	SLIMS_CA=$SLIMS_DIR/ca/ca.pem
	SLIMS_ADMIN_USER='admin'
	SLIMS_ADMIN_PASSWORD=$(slims_random 12)
	export SLIMS_DIR SLIMS_ROOT SLIMS_FAULT_DIR SLIMS_MAIL_DIR SLIMS_CA \
		SLIMS_ADMIN_USER SLIMS_ADMIN_PASSWORD
	mkdir -p "$SLIMS_ROOT" "$SLIMS_FAULT_DIR" "$SLIMS_MAIL_DIR"

	# The published tree, as downloaded.
	local sum
	sum=$(sha256sum "$SLIMS_TARBALL" | cut -d' ' -f1)
	[ "$sum" = "$SLIMS_TARBALL_SHA256" ] || {
		echo "$SLIMS_TARBALL is not SLiMS 9.7.0 as published (sha256 $sum)" >&2
		return 1
	}
	tar -xJf "$SLIMS_TARBALL" -C "$SLIMS_ROOT"

	# MariaDB on loopback, a database user for SLiMS.
	local db_port db_pass
	db_port=$(slims_free_port)
	db_pass=$(slims_random 12)
	MARIADB_PORT=$db_port mariadb_start "$SLIMS_DIR/db" || return 1
	mariadb_sql "CREATE USER 'slims'@'127.0.0.1' IDENTIFIED BY '$db_pass';
		GRANT ALL ON slims.* TO 'slims'@'127.0.0.1'" || return 1

	# php-fpm and nginx with TLS (webserver.sh), the fault directory
	# in php-fpm's pool.
	WEB_FPM_EXTRA="env[LOKERBUKU_SLIMS_FAULT_DIR] = $SLIMS_FAULT_DIR" \
		webserver_start "$SLIMS_DIR" "$SLIMS_ROOT" || return 1
	SLIMS_BASE=$WEB_BASE
	SLIMS_URL="${SLIMS_BASE}index.php?p=api/locker/v1"
	export SLIMS_BASE SLIMS_URL

	# SLiMS's installer, as its web pages drive it: MyISAM, no sample data.
	slims_installer "$(jq -nc --arg port "$db_port" --arg pass "$db_pass" \
		'{action: "test-connection", host: "127.0.0.1", port: $port, name: "slims",
		  user: "slims", pass: $pass}')" || return 1
	slims_installer "$(jq -nc --arg u "$SLIMS_ADMIN_USER" --arg p "$SLIMS_ADMIN_PASSWORD" \
		'{action: "do-install", username: $u, passwd: $p, confirmPasswd: $p,
		  sampleData: false, engine: "MyISAM"}')" || return 1
	[ -f "$SLIMS_ROOT/config/database.php" ] || {
		echo "SLiMS's installer wrote no config/database.php" >&2
		return 1
	}

	# README, Install step 1: the tables kiosk events change, InnoDB.
	mariadb_sql 'ALTER TABLE loan ENGINE=InnoDB; ALTER TABLE reserve ENGINE=InnoDB;
		ALTER TABLE fines ENGINE=InnoDB; ALTER TABLE item ENGINE=InnoDB;
		ALTER TABLE member ENGINE=InnoDB;' || return 1

	# Steps 2 and 3: the plugin folder as tools/package-integrations
	# assembles it (the shared sync server inside), copied, activated in
	# System -> Plugins. SLIMS_PLUGIN_DIR: another, whole copy of the
	# plugin (an older one, to see a test fail without a fix).
	local plugin=${SLIMS_PLUGIN_DIR:-}
	if [ -z "$plugin" ]; then
		"$LOKERBUKU_TOP/tools/package-integrations" "$SLIMS_DIR/dist" >/dev/null || return 1
		plugin=$SLIMS_DIR/dist/slims/lokerbuku
	fi
	cp -R "$plugin" "$SLIMS_ROOT/plugins/lokerbuku"
	slims_login "$SLIMS_ADMIN_USER" "$SLIMS_ADMIN_PASSWORD" || return 1
	slims_activate_plugin 'lokerbuku book lockers' || return 1

	# Mail: System -> Mail settings, pointed at our sink.
	if [ "${SLIMS_MAIL:-}" != none ]; then
		local smtp_pass
		smtp_pass=$(slims_random 8)
		python3 "$SLIMS_HERE/smtp-sink.py" "$SLIMS_MAIL_DIR" "$SLIMS_DIR/smtp.port" \
			perpustakaan "$smtp_pass" </dev/null >"$SLIMS_DIR/smtp.log" 2>&1 &
		SLIMS_SMTP_PID=$!
		slims_wait "$SLIMS_SMTP_PID" smtp-sink.py test -s "$SLIMS_DIR/smtp.port" || return 1
		slims_mail_settings 127.0.0.1 "$(cat "$SLIMS_DIR/smtp.port")" perpustakaan "$smtp_pass" ||
			return 1
	fi

	# Step 4: the site key, outside the web root.
	SLIMS_SITE_KEY=$SLIMS_DIR/site.key
	export SLIMS_SITE_KEY
	(umask 077 && slims_random 32 >"$SLIMS_SITE_KEY")
	slims_admin site-key-file "$SLIMS_SITE_KEY"
}

# slims_mails: every message the sink caught, oldest first, as a JSON array
# of {file, envelope_to: [...], to, subject, body} (headers and the text
# part decoded by python3's email package).
slims_mails() {
	python3 - "$SLIMS_MAIL_DIR" <<'PY'
import email, email.policy, glob, json, os, sys
out = []
files = glob.glob(os.path.join(sys.argv[1], "*.json"))
for f in sorted(files, key=lambda p: int(os.path.basename(p).split(".")[0])):
    m = json.load(open(f))
    msg = email.message_from_string(m["data"], policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain", "html"))
    out.append({"file": os.path.basename(f), "envelope_to": m["to"],
                "to": str(msg["To"] or ""), "cc": str(msg["Cc"] or ""),
                "subject": str(msg["Subject"] or ""),
                "body": part.get_content() if part else ""})
print(json.dumps(out))
PY
}

slims_stop() {
	if [ -n "$SLIMS_SMTP_PID" ]; then
		kill -TERM "$SLIMS_SMTP_PID" 2>/dev/null || true
		wait "$SLIMS_SMTP_PID" 2>/dev/null || true
	fi
	SLIMS_SMTP_PID=''
	webserver_stop
	mariadb_stop
}

# slims_logs: the servers' logs, for a failed test.
slims_logs() {
	local f
	[ -n "$SLIMS_DIR" ] || return 0
	webserver_logs
	for f in smtp.log db/error.log; do
		[ -s "$SLIMS_DIR/$f" ] || continue
		echo "--- $f (last 20 lines):" >&2
		tail -n 20 "$SLIMS_DIR/$f" >&2
	done
}
