# SPDX-License-Identifier: GPL-2.0-or-later
# INLISLite's real database and the lokerbuku bridge beside it, for one
# test, as a library installs it (integrations/inlislite/README.md):
#
# - a MariaDB of its own (tests/slims/mariadb.sh) holding INLISLite's real
#   3.2 schema (../shared/peers/inlislite-3.2/schema.sql: 185 tables, 16
#   views, 55 routines, the reference rows), in database inlislite_v3; or,
#   with INL_VERSION=3.3, the 3.3-shaped database inlislite_v33 made from
#   it by exactly the differences ../shared/reference/inlislite.md lists
#   (make-33.php);
# - synthetic members, catalogues, items and staff users as rows of
#   INLISLite's tables (no real person's data);
# - the bridge's own MySQL account `lokerbuku` with the grants its
#   bin/grants.php prints, its tables made by bin/install.php, its
#   config.php written;
# - the bridge served over HTTPS by php-fpm and nginx with the test CA
#   (tests/slims/webserver.sh).
#
# Source it with LOKERBUKU_TOP set; then
#
#   inl_need_tools || exit 77     # says loudly what is missing
#   INL_VERSION=3.2|3.3 inl_db_start DIR
#       # only the database: exports INL_DB (its name), INL_SOCKET,
#       # MARIADB_SOCKET; mariadb_sql runs SQL in it as root
#   inl_db_load NAME 3.2|3.3      # one more INLISLite database in that server
#   INL_VERSION=3.2|3.3 inl_start DIR   (INL_COMMON_DIR: another copy of
#                                       # integrations/common to install)
#       # inl_db_start, a staff user, the bridge installed and served;
#       # exports INL_URL (the kiosk's [sync] url), INL_BASE (the bridge's
#       # folder URL, staff pages under it), INL_CA, INL_ROOT (the bridge's
#       # folder), INL_CONFIG, INL_SITE_KEY, INL_FAULT_DIR,
#       # INL_DB_USER/INL_DB_PASSWORD (the bridge's account),
#       # INL_STAFF_USER/INL_STAFF_PASSWORD/INL_STAFF_ID (an INLISLite user,
#       # role LAYANAN, allowed to lend at site 1, the kiosks' CreateBy)
#   inl_member_add MEMBERNO NAME [ENDDATE [JENIS [STATUS [NOHP [EMAIL]]]]]
#       # a member (ENDDATE 2099-12-31, JenisAnggota 2 "Umum": 2 items,
#       # 7 days; StatusAnggota 3 "Aktif"), authorised to borrow at site 1
#       # and in the categories INLISLite's collectioncategorysdefault
#       # gives the member type; prints members.ID
#   inl_item_add BARCODE TITLE [AUTHOR [CATEGORY [WORKSHEET]]]
#       # a catalogue and one copy: Status_id 1 (Tersedia), Rule_id 1
#       # (Dapat dipinjam), Category 7 (Koleksi Umum), worksheet 1
#       # (Monograf), room 466 at site 1; prints collections.ID
#   inl_user_add USERNAME PASSWORD FULLNAME
#       # an INLISLite staff user, allowed to lend at site 1; prints its
#       # id. 3.x: `users` with the SHA-1 password INLISLite checks; 3.3:
#       # a myth/auth account (bcrypt of the base64 SHA-384) in group
#       # 11 layanan
#   inl_holiday_add DATE NAME     # a row of INLISLite's holidays
#   inl_admin ARGS...             # tests/inlislite/inl-admin.php on this bridge
#   inl_curl ARGS...              # curl verifying the test CA
#   mariadb_sql "SQL"             # in INLISLite's database, as root
#   inl_logs                      # the servers' logs, for a failed test
#   inl_stop
#   wait_for DESCRIPTION COMMAND... # as the SLiMS tests (webserver.sh)
INL_HERE=$LOKERBUKU_TOP/tests/inlislite
INL_SCHEMA=${INL_SCHEMA:-$LOKERBUKU_TOP/../shared/peers/inlislite-3.2/schema.sql}
INL_SCHEMA_SHA256=e4f1ffcd5eff384abd69eaf522b1bd48565135ea479618f96d00f8f3ecedcd95
INL_VERSION=${INL_VERSION:-3.2}
if [ "$INL_VERSION" = 3.3 ]; then MARIADB_DB=inlislite_v33; else MARIADB_DB=inlislite_v3; fi
. "$LOKERBUKU_TOP/tests/slims/mariadb.sh"
. "$LOKERBUKU_TOP/tests/slims/webserver.sh"
INL_DIR=''

inl_need_tools() {
	local t
	for t in php curl jq sha256sum; do
		command -v "$t" >/dev/null || {
			echo "SKIP: $t is missing (Debian: php-cli curl jq coreutils; tools/bootstrap installs them)" >&2
			return 1
		}
	done
	php -r 'exit(extension_loaded("pdo_mysql") && extension_loaded("mbstring") ? 0 : 1);' || {
		echo "SKIP: PHP lacks pdo_mysql or mbstring (Debian: php-mysql, php-mbstring)" >&2
		return 1
	}
	[ -f "$INL_SCHEMA" ] || {
		echo "SKIP: INLISLite's 3.2 schema is not at $INL_SCHEMA (the shared peers folder beside the checkout; set INL_SCHEMA to its path)" >&2
		return 1
	}
	mariadb_need_tools || return 1
	webserver_need_tools || return 1
	local mods
	mods=$("$(webserver_fpm_bin)" -m 2>/dev/null)
	grep -qix pdo_mysql <<<"$mods" || {
		echo "SKIP: php-fpm lacks pdo_mysql (Debian: php-mysql)" >&2
		return 1
	}
}

inl_random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# inl_root_sql [ARGS]: the mariadb client as root in INLISLite's database
# (INL_SQL_DB, else MARIADB_DB), SQL on stdin or in -e.
inl_root_sql() {
	"$(mariadb_bin mariadb)" --no-defaults --socket="$MARIADB_SOCKET" -uroot -N -B \
		"${INL_SQL_DB:-$MARIADB_DB}" "$@"
}

# inl_db_load NAME VERSION: INLISLite's database NAME in the running
# server, 3.2 as published or 3.3-shaped (empty database NAME first).
inl_db_load() {
	"$(mariadb_bin mariadb)" --no-defaults --socket="$MARIADB_SOCKET" -uroot \
		-e "CREATE DATABASE IF NOT EXISTS \`$1\`" || return 1
	# The dump's own header sets its SQL mode and turns foreign key checks
	# off while it loads; an INLISLite install has them on. 3.3: the
	# schema changed by exactly the documented differences (make-33.php).
	if [ "$2" = 3.3 ]; then
		php "$INL_HERE/make-33.php" <"$INL_SCHEMA" | INL_SQL_DB=$1 inl_root_sql || return 1
	else
		INL_SQL_DB=$1 inl_root_sql <"$INL_SCHEMA" || return 1
	fi
}

inl_db_start() {
	INL_DIR=$(mkdir -p "$1" && cd "$1" && pwd)
	local sum
	sum=$(sha256sum "$INL_SCHEMA" | cut -d' ' -f1)
	[ "$sum" = "$INL_SCHEMA_SHA256" ] || {
		echo "$INL_SCHEMA is not the INLISLite 3.2 schema of ../shared/peers (sha256 $sum)" >&2
		return 1
	}
	mariadb_start "$INL_DIR/db" || return 1
	inl_db_load "$MARIADB_DB" "$INL_VERSION" || return 1
	INL_DB=$MARIADB_DB
	INL_SOCKET=$MARIADB_SOCKET
	export INL_DB INL_SOCKET INL_VERSION MARIADB_SOCKET
}

# inl_q VALUE: VALUE as an SQL string literal.
inl_q() {
	local v=${1//\\/\\\\}
	printf "'%s'" "${v//\'/\'\'}"
}

inl_member_add() {
	local no=$1 name=$2 end=${3:-2099-12-31} jenis=${4:-2} status=${5:-3}
	local hp=${6:-} email=${7:-}
	inl_root_sql <<SQL
INSERT INTO members (MemberNo, Fullname, RegisterDate, EndDate, JenisAnggota_id,
	StatusAnggota_id, NoHp, Email, CreateDate, CreateTerminal)
VALUES ($(inl_q "$no"), $(inl_q "$name"), NOW(), $(inl_q "$end"), $jenis, $status,
	$([ -n "$hp" ] && inl_q "$hp" || echo NULL), $([ -n "$email" ] && inl_q "$email" || echo NULL),
	NOW(), '127.0.0.1');
SET @m = LAST_INSERT_ID();
INSERT INTO memberloanauthorizelocation (Member_id, LocationLoan_id, CreateDate) VALUES (@m, 1, NOW());
INSERT INTO memberloanauthorizecategory (Member_id, CategoryLoan_id, CreateDate)
	SELECT @m, CollectionCategory_id, NOW() FROM collectioncategorysdefault
	WHERE JenisAnggota_id = $jenis AND CollectionCategory_id IS NOT NULL;
SELECT @m;
SQL
}

inl_item_add() {
	local code=$1 title=$2 author=${3:-} category=${4:-7} worksheet=${5:-1}
	inl_root_sql <<SQL
INSERT INTO catalogs (ControlNumber, BIBID, Title, Author, Worksheet_id, IsOPAC, CreateDate)
VALUES (CONCAT('LB-', $(inl_q "$code")), CONCAT('0010-', $(inl_q "$code")), $(inl_q "$title"),
	$([ -n "$author" ] && inl_q "$author" || echo NULL), $worksheet, 1, NOW());
SET @c = LAST_INSERT_ID();
INSERT INTO collections (NomorBarcode, NoInduk, Catalog_id, Location_id, Location_Library_id,
	Rule_id, Category_id, Status_id, Media_id, Source_id, TanggalPengadaan, CreateDate)
VALUES ($(inl_q "$code"), $(inl_q "$code"), @c, 466, 1, 1, $category, 1, NULL, NULL, NOW(), NOW());
SELECT LAST_INSERT_ID();
SQL
}

inl_user_add() {
	local user=$1 pass=$2 name=$3 hash
	if [ "$INL_VERSION" = 3.3 ]; then
		hash=$(php -r 'echo password_hash(base64_encode(hash("sha384", $argv[1], true)), PASSWORD_DEFAULT);' -- "$pass") ||
			return 1
		inl_root_sql <<SQL
INSERT INTO users (email, username, password_hash, active, created_at)
VALUES ($(inl_q "$user@perpustakaan.example"), $(inl_q "$user"), $(inl_q "$hash"), 1, NOW());
SET @u = LAST_INSERT_ID();
INSERT INTO auth_groups_users (group_id, user_id) VALUES (11, @u);
SELECT @u;
SQL
		return
	fi
	inl_root_sql <<SQL
INSERT INTO users (username, password, Fullname, IsActive, Role_id, status, CreateDate)
VALUES ($(inl_q "$user"), UPPER(SHA1($(inl_q "$pass"))), $(inl_q "$name"), b'1', 3, 10, NOW());
SET @u = LAST_INSERT_ID();
INSERT INTO userloclibforloan (User_id, LocLib_id, CreateDate) VALUES (@u, 1, NOW());
SELECT @u;
SQL
}

inl_holiday_add() {
	inl_root_sql -e "INSERT INTO holidays (Dates, Names, CreateDate) VALUES ($(inl_q "$1"), $(inl_q "$2"), NOW())"
}

inl_admin() {
	INL_CONFIG=$INL_CONFIG php "$INL_HERE/inl-admin.php" "$@"
}

inl_curl() {
	curl -sS --max-time 60 --cacert "$INL_CA" "$@"
}

inl_start() {
	inl_db_start "$1" || return 1
	INL_ROOT=$INL_DIR/www/lokerbuku
	INL_FAULT_DIR=$INL_DIR/faults
	INL_SITE_KEY=$INL_DIR/site.key
	INL_CONFIG=$INL_ROOT/config.php
	mkdir -p "$INL_DIR/www" "$INL_FAULT_DIR"
	(umask 077 && inl_random 32 >"$INL_SITE_KEY")

	# README, install step 1: the bridge's folder beside INLISLite, with
	# the shared server code inside as common/ (as tools/package-integrations
	# assembles it).
	cp -R "$LOKERBUKU_TOP/integrations/inlislite" "$INL_ROOT"
	rm -rf "$INL_ROOT/common"
	cp -R "${INL_COMMON_DIR:-$LOKERBUKU_TOP/integrations/common}" "$INL_ROOT/common"

	# Step 2: a staff user of INLISLite's whom the kiosks' loans are made by.
	INL_STAFF_USER=petugas
	INL_STAFF_PASSWORD=$(inl_random 8)
	INL_STAFF_ID=$(inl_user_add "$INL_STAFF_USER" "$INL_STAFF_PASSWORD" 'Petugas Sirkulasi') || return 1

	# Step 3: the bridge's own MySQL account and its grants.
	INL_DB_USER=lokerbuku
	INL_DB_PASSWORD=$(inl_random 12)
	inl_root_sql -e "CREATE USER 'lokerbuku'@'localhost' IDENTIFIED BY '$INL_DB_PASSWORD'" || return 1
	php "$INL_ROOT/bin/grants.php" --database "$INL_DB" --user "'lokerbuku'@'localhost'" \
		--version "$INL_VERSION" |
		inl_root_sql || return 1

	# Step 4: config.php (from config.sample.php's settings).
	cat >"$INL_CONFIG" <<PHP
<?php
return [
    'db_dsn' => 'mysql:unix_socket=$MARIADB_SOCKET;dbname=$INL_DB;charset=utf8mb4',
    'db_user' => '$INL_DB_USER',
    'db_password' => '$INL_DB_PASSWORD',
    'version' => '$INL_VERSION',
    'location_library_id' => 1,
    'branch_id' => null,
    'create_by' => $INL_STAFF_ID,
    'loan_id_prefix' => '',
    'timezone' => 'Asia/Jakarta',
    'site_key_file' => '$INL_SITE_KEY',
    // SMS through INLISLite's Gammu outbox, sent at once.
    'notify' => ['sms' => true, 'gather_s' => 0],
];
PHP
	# Step 5: the bridge's tables, by its own account.
	php "$INL_ROOT/bin/install.php" >"$INL_DIR/install.log" 2>&1 || {
		cat "$INL_DIR/install.log" >&2
		return 1
	}

	WEB_FPM_EXTRA="env[LOKERBUKU_INL_FAULT_DIR] = $INL_FAULT_DIR" \
		webserver_start "$INL_DIR" "$INL_DIR/www" || return 1
	INL_CA=$WEB_CA
	INL_BASE=${WEB_BASE}lokerbuku/
	INL_URL=${INL_BASE}index.php/api/locker/v1
	export INL_DIR INL_ROOT INL_FAULT_DIR INL_SITE_KEY INL_CONFIG INL_CA INL_BASE INL_URL \
		INL_STAFF_USER INL_STAFF_PASSWORD INL_STAFF_ID INL_DB_USER INL_DB_PASSWORD
}

inl_logs() {
	[ -n "$INL_DIR" ] || return 0
	webserver_logs
	if [ -s "$INL_DIR/db/error.log" ]; then
		echo "--- db/error.log (last 20 lines):" >&2
		tail -n 20 "$INL_DIR/db/error.log" >&2
	fi
}

inl_stop() {
	webserver_stop
	mariadb_stop
}
