// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lokerctl doctor: checks what a kiosk needs, as the user lokerd runs as,
 * and says what to fix. Works with lokerd stopped too.
 */
#include <curl/curl.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "lokerctl.h"

#define GROUPS_MAX	 64
#define DISK_FAIL_BYTES	 (16ull << 20)	/* SQLite's WAL needs room */
#define DISK_WARN_BYTES	 (256ull << 20) /* days of events, and a backup */
#define BACKLOG_WARN	 1000
#define SERVER_TIMEOUT_S 15
#define DOCTOR_BARCODE	 "lokerbuku-doctor" /* no such item: a 404 */

enum verdict {
	VERDICT_OK,
	VERDICT_WARN,
	VERDICT_FAIL,
};

struct doctor {
	const struct doctor_options *opt;
	struct config config;
	bool config_ok;
	bool have_user;
	uid_t uid;
	gid_t groups[GROUPS_MAX];
	int n_groups;
	unsigned n_fail, n_warn;
};

/* One line per check; a second, indented, says what to do about it. */
__attribute__((format(printf, 5, 6))) static void
report(struct doctor *d, enum verdict v, const char *area, const char *fix,
       const char *fmt, ...)
{
	static const char *const tags[] = {
		[VERDICT_OK] = "ok",
		[VERDICT_WARN] = "warn",
		[VERDICT_FAIL] = "FAIL",
	};
	va_list ap;

	printf("%-5s %-9s ", tags[v], area);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (fix && v != VERDICT_OK)
		printf("      fix: %s\n", fix);
	if (v == VERDICT_FAIL)
		d->n_fail++;
	else if (v == VERDICT_WARN)
		d->n_warn++;
}

/* Whether lokerd's user gets want (a mix of R_OK, W_OK, X_OK) on st. */
static bool user_may(const struct doctor *d, const struct stat *st, int want)
{
	unsigned shift = 0;

	if (d->uid == 0)
		return !(want & X_OK) || (st->st_mode & 0111);
	if (st->st_uid == d->uid) {
		shift = 6;
	} else {
		for (int i = 0; i < d->n_groups; i++)
			if (d->groups[i] == st->st_gid)
				shift = 3;
	}
	return (((unsigned)st->st_mode >> shift) & (unsigned)want) ==
	       (unsigned)want;
}

/*
 * Whether lokerd's user reaches path with want: every directory on the
 * way must let it through. 0, or -errno with the part at fault in ret_at.
 */
static int user_access(const struct doctor *d, const char *path, int want,
		       char ret_at[PATH_MAX])
{
	char part[PATH_MAX];
	struct stat st;

	if (path[0] != '/' || strlen(path) >= sizeof(part))
		return -EINVAL;
	for (const char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		snprintf(part, sizeof(part), "%.*s", (int)(p - path), path);
		if (stat(part, &st) < 0) {
			snprintf(ret_at, PATH_MAX, "%s", part);
			return -errno;
		}
		if (!user_may(d, &st, X_OK)) {
			snprintf(ret_at, PATH_MAX, "%s", part);
			return -EACCES;
		}
	}
	snprintf(ret_at, PATH_MAX, "%s", path);
	if (stat(path, &st) < 0)
		return -errno;
	return user_may(d, &st, want) ? 0 : -EACCES;
}

static const char *want_name(int want)
{
	return want == R_OK ? "read" :
	       want == W_OK ? "write" :
			      "read and write";
}

/* A file lokerd must reach: FAIL naming where its user is stopped. */
__attribute__((format(printf, 5, 6))) static bool
check_reach(struct doctor *d, const char *area, const char *path, int want,
	    const char *fix, ...)
{
	char at[PATH_MAX];
	int err;

	char fix_text[256];
	va_list ap;

	if (!d->have_user)
		return true;
	err = user_access(d, path, want, at);
	if (err == 0)
		return true;
	va_start(ap, fix);
	vsnprintf(fix_text, sizeof(fix_text), fix, ap);
	va_end(ap);
	if (strcmp(at, path) == 0)
		report(d, VERDICT_FAIL, area, fix_text,
		       "%s: %s cannot %s it: %s", path, d->opt->user,
		       want_name(want), strerror(-err));
	else
		report(d, VERDICT_FAIL, area,
		       "let it through that directory (chmod o+x, or give it "
		       "to a group of the user)",
		       "%s: %s cannot reach %s: %s", path, d->opt->user, at,
		       strerror(-err));
	return false;
}

static void check_user(struct doctor *d)
{
	struct passwd *pw = getpwnam(d->opt->user);
	int n = GROUPS_MAX;

	if (!pw) {
		report(d, VERDICT_FAIL, "user",
		       "install the lokerbuku package (it makes the user), or "
		       "name lokerd's user with --user",
		       "no user %s: its access to files and devices is not "
		       "checked",
		       d->opt->user);
		return;
	}
	if (getgrouplist(pw->pw_name, pw->pw_gid, d->groups, &n) < 0)
		n = GROUPS_MAX; /* the first GROUPS_MAX are filled in */
	d->uid = pw->pw_uid;
	d->n_groups = n;
	d->have_user = true;
	report(d, VERDICT_OK, "user", NULL, "%s (uid %u), in %d groups",
	       pw->pw_name, (unsigned)pw->pw_uid, n);
}

static void check_config(struct doctor *d)
{
	const char *path =
		d->opt->config ? d->opt->config : CONFIG_DEFAULT_PATH;
	char error[CONFIG_ERROR_MAX];
	struct stat st;
	int err;

	err = config_load(path, &d->config, error);
	if (err < 0) {
		report(d, VERDICT_FAIL, "config",
		       err == -EACCES && geteuid() != 0 ?
			       "run lokerctl doctor as root" :
			       "correct it; 'lokerd --check-config' checks it "
			       "again",
		       "%s", error);
		return;
	}
	d->config_ok = true;
	report(d, VERDICT_OK, "config", NULL, "%s: kiosk %s, %u lockers", path,
	       d->config.kiosk_id, d->config.kiosk.n_lockers);
	check_reach(d, "config", path, R_OK, "chgrp %s it and chmod 0640 it",
		    d->opt->user);
	if (stat(path, &st) == 0 && (st.st_mode & 0022))
		report(d, VERDICT_FAIL, "config",
		       "chmod 0640 it: whoever can change it can open lockers",
		       "%s: writable by others than its owner (mode %04o)",
		       path, (unsigned)(st.st_mode & 07777));
}

/* A secret: lokerd reads it, nobody but its owner may change it. */
static void check_secret(struct doctor *d, const char *what, const char *path)
{
	struct stat st;

	if (!path[0])
		return;
	if (!check_reach(d, "secrets", path, R_OK,
			 "chown %s: it and chmod 0600 it", d->opt->user))
		return;
	if (stat(path, &st) < 0)
		return; /* check_reach saw it a moment ago */
	if (st.st_mode & 0077)
		report(d, VERDICT_WARN, "secrets", "chmod 0600 it",
		       "%s %s: mode %04o; a secret is for lokerd's user alone",
		       what, path, (unsigned)(st.st_mode & 07777));
	else
		report(d, VERDICT_OK, "secrets", NULL, "%s %s: mode %04o", what,
		       path, (unsigned)(st.st_mode & 07777));
}

static void dir_of(const char *path, char ret[PATH_MAX])
{
	const char *slash = strrchr(path, '/');

	snprintf(ret, PATH_MAX, "%.*s",
		 slash && slash > path ? (int)(slash - path) : 1, path);
}

static void check_state(struct doctor *d)
{
	const char *db = d->config.database;
	unsigned long long avail, total;
	char dir[PATH_MAX];
	struct statvfs sv;
	struct stat st;

	dir_of(db, dir);
	/* SQLite makes its -wal and -shm files beside the database. */
	if (!check_reach(d, "database", dir, R_OK | W_OK | X_OK,
			 "chown %s: the directory (the unit's "
			 "StateDirectory= does it)",
			 d->opt->user))
		return;
	if (stat(db, &st) < 0)
		report(d, VERDICT_OK, "database", NULL,
		       "%s: not there yet, lokerd makes it", db);
	else if (check_reach(d, "database", db, R_OK | W_OK, "chown %s: it",
			     d->opt->user))
		report(d, VERDICT_OK, "database", NULL, "%s: %lld KiB", db,
		       (long long)st.st_size / 1024);

	if (statvfs(dir, &sv) < 0) {
		report(d, VERDICT_FAIL, "disk", NULL, "%s: %s", dir,
		       strerror(errno));
		return;
	}
	avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
	total = (unsigned long long)sv.f_blocks * sv.f_frsize;
	report(d,
	       avail < DISK_FAIL_BYTES ? VERDICT_FAIL :
	       avail < DISK_WARN_BYTES ? VERDICT_WARN :
					 VERDICT_OK,
	       "disk",
	       "free space on that file system: lokerd opens no door it "
	       "cannot record",
	       "%s: %llu MiB free of %llu MiB", dir, avail >> 20, total >> 20);
}

/* A device node lokerd opens: there, and open to its user. */
static void check_device(struct doctor *d, const char *what, const char *path,
			 int want)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		report(d, VERDICT_FAIL, "devices",
		       "plug it in, or correct the configuration", "%s %s: %s",
		       what, path, strerror(errno));
		return;
	}
	if (!S_ISCHR(st.st_mode)) {
		report(d, VERDICT_FAIL, "devices", "correct the configuration",
		       "%s %s: not a device", what, path);
		return;
	}
	if (check_reach(d, "devices", path, want,
			"the package's udev rules give %s's group the "
			"device: udevadm trigger, or check the group",
			d->opt->user))
		report(d, VERDICT_OK, "devices", NULL, "%s %s", what, path);
}

/* A chip of the bank: by path, checked here; by label, when lokerd starts. */
static void check_chip(struct doctor *d, const char *spec)
{
	if (spec[0] == '/')
		check_device(d, "lock bank", spec, R_OK | W_OK);
	else
		report(d, VERDICT_OK, "devices", NULL,
		       "lock bank chip \"%s\": found by its label when lokerd starts",
		       spec);
}

static void check_devices(struct doctor *d)
{
	const struct config *c = &d->config;
	const char *tty;

	switch (c->reader_backend) {
	case CONFIG_BACKEND_SIM:
	case CONFIG_BACKEND_GPIOD:
	case CONFIG_BACKEND_MODBUS:
		report(d, VERDICT_WARN, "devices",
		       "[reader] backend = nfc on a kiosk",
		       "reader: simulated, no card is read");
		break;
	case CONFIG_BACKEND_NFC:
		/* "pn532_uart:/dev/ttyS0[:115200]"; USB readers have none. */
		tty = strchr(c->reader_connstring, ':');
		if (tty && tty[1] == '/') {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%.*s",
				 (int)strcspn(tty + 1, ":"), tty + 1);
			check_device(d, "reader", path, R_OK | W_OK);
		} else {
			report(d, VERDICT_OK, "devices", NULL,
			       "reader %s: found by libnfc when lokerd starts",
			       c->reader_connstring);
		}
		break;
	}
	switch (c->lockbank_backend) {
	case CONFIG_BACKEND_SIM:
	case CONFIG_BACKEND_NFC:
		report(d, VERDICT_WARN, "devices",
		       "[lockbank] backend = gpiod or modbus on a kiosk",
		       "lock bank: simulated, no door opens");
		break;
	case CONFIG_BACKEND_GPIOD:
		check_chip(d, c->lockbank_chip);
		for (unsigned k = 0; k < c->lockbank_n_more_chips; k++)
			check_chip(d, c->lockbank_more_chips[k].spec);
		break;
	case CONFIG_BACKEND_MODBUS:
		check_device(d, "lock bank", c->modbus.device, R_OK | W_OK);
		break;
	}
	if (c->scanner_device[0])
		check_device(d, "scanner", c->scanner_device, R_OK);
}

static void check_clock(struct doctor *d)
{
	struct timex tx = { 0 };
	time_t now = time(NULL);
	char when[32];

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	if (now < LOKERBUKU_BUILD_EPOCH) {
		report(d, VERDICT_FAIL, "clock",
		       "set the time (timedatectl set-ntp true): the server's "
		       "certificate and the events' times need it",
		       "%s, before this lokerctl was built", when);
		return;
	}
	if (adjtimex(&tx) < 0 || (tx.status & STA_UNSYNC))
		report(d, VERDICT_WARN, "clock",
		       "timedatectl set-ntp true (systemd-timesyncd)",
		       "%s, not synchronised with a time server", when);
	else
		report(d, VERDICT_OK, "clock", NULL,
		       "%s, synchronised (within %ld ms)", when,
		       tx.maxerror / 1000);
}

/* PRAGMA quick_check of a database lokerd is not running on. */
static void check_database_offline(struct doctor *d)
{
	const char *db = d->config.database;
	const char *fix = "stop lokerd and run lokerctl recover";
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	const char *r;
	int rc;

	if (access(db, F_OK) < 0)
		return;
	rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(h, "PRAGMA quick_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		/* Only damage is for recover; the rest is the file's access. */
		bool damaged = (rc & 0xff) == SQLITE_CORRUPT ||
			       (rc & 0xff) == SQLITE_NOTADB;

		report(d, VERDICT_FAIL, "database",
		       damaged ? fix :
				 "not damaged: check the file, its folder and "
				 "its file system are there and readable",
		       "%s: %s", db,
		       h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
	} else {
		r = (const char *)sqlite3_column_text(st, 0);
		if (r && strcmp(r, "ok") == 0)
			report(d, VERDICT_OK, "database", NULL,
			       "%s: quick_check ok", db);
		else
			report(d, VERDICT_FAIL, "database", fix,
			       "%s: damaged: %s", db, r ? r : "?");
	}
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* lokerd's reply to cmd, or NULL when it does not answer. */
static json_t *ask(const char *socket, const char *cmd)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd), *reply = NULL;

	if (!req || lokerctl_call(socket, req, &reply, true) != 0)
		reply = NULL;
	json_decref(req);
	return reply;
}

static void check_lokerd(struct doctor *d)
{
	const char *socket =
		d->opt->socket ? d->opt->socket : d->config.control_socket;
	json_t *status = ask(socket, "status"), *check, *v;
	size_t i, n_faults;
	json_int_t backlog;

	if (!status || !json_is_true(json_object_get(status, "ok"))) {
		report(d, VERDICT_FAIL, "lokerd",
		       "systemctl start lokerd; journalctl -u lokerd says why "
		       "it stopped",
		       "not answering at %s", socket);
		json_decref(status);
		check_database_offline(d);
		return;
	}
	report(d,
	       json_is_true(json_object_get(status, "in_service")) ?
		       VERDICT_OK :
		       VERDICT_FAIL,
	       "lokerd", "journalctl -u lokerd says why", "%s, kiosk %s, %s",
	       json_string_value(json_object_get(status, "version")),
	       json_string_value(json_object_get(status, "kiosk_id")),
	       json_is_true(json_object_get(status, "in_service")) ?
		       "in service" :
		       "OUT OF SERVICE");

	v = json_object_get(status, "reader");
	report(d,
	       json_is_true(json_object_get(v, "ok")) ? VERDICT_OK :
							VERDICT_FAIL,
	       "lokerd", "check the reader's cable; lokerd takes it back",
	       "reader (%s): %s",
	       json_string_value(json_object_get(v, "backend")),
	       json_is_true(json_object_get(v, "ok")) ? "answering" :
							"not answering");
	v = json_object_get(status, "scanner");
	if (json_is_object(v) && !json_is_true(json_object_get(v, "ok")))
		report(d, VERDICT_FAIL, "lokerd",
		       "check the scanner's cable; lokerd takes it back",
		       "scanner %s: not there",
		       json_string_value(json_object_get(v, "device")));

	n_faults = json_array_size(json_object_get(status, "faults"));
	json_array_foreach(json_object_get(status, "faults"), i, v)
	{
		char *text = json_dumps(v, JSON_COMPACT);

		report(d, VERDICT_WARN, "lokerd",
		       "see to the locker, then lokerctl enable N",
		       "fault %zu of %zu: %s", i + 1, n_faults,
		       text ? text : "?");
		free(text);
	}

	backlog = json_integer_value(json_object_get(status, "backlog"));
	v = json_object_get(status, "sync");
	if (json_is_object(v)) {
		bool online = json_is_true(json_object_get(v, "online"));
		const char *err =
			json_string_value(json_object_get(v, "last_error"));

		report(d,
		       online && backlog < BACKLOG_WARN ? VERDICT_OK :
							  VERDICT_WARN,
		       "sync", "see the server check below",
		       "%s, %lld events not yet sent, last sent %s%s%s",
		       online ? "online" : "offline", (long long)backlog,
		       json_string_value(json_object_get(v, "last_ok")) ?:
									  "never",
		       err ? "; last error: " : "", err ? err : "");
	} else {
		report(d, VERDICT_WARN, "sync",
		       "lokerbuku-provision sets [sync] up",
		       "no [sync]: %lld events kept only here",
		       (long long)backlog);
	}
	json_decref(status);

	check = ask(socket, "check");
	if (check && json_is_true(json_object_get(check, "ok")))
		report(d, VERDICT_OK, "database", NULL,
		       "integrity check by lokerd: ok");
	else
		report(d, VERDICT_FAIL, "database",
		       "stop lokerd and run lokerctl recover", "%s",
		       check ? json_string_value(json_object_get(check, "error")) ?:
			       "integrity check failed" :
			       "lokerd did not answer the integrity check");
	json_decref(check);
}

static size_t discard(char *p, size_t size, size_t n, void *userdata)
{
	(void)p;
	(void)userdata;
	return size * n;
}

/*
 * The server with lokerd's own TLS settings and token: asking it for an
 * item nobody has changes nothing, and a 404 proves both.
 */
static void check_server(struct doctor *d)
{
	const struct config *c = &d->config;
	char url[CONFIG_URL_MAX + CONFIG_KIOSK_ID_MAX + 64];
	char auth[CONFIG_TOKEN_MAX + 32], error[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	long code = 0;
	double secs = 0;
	CURLcode rc;
	CURL *h;

	if (!c->sync.url[0])
		return;
	snprintf(url, sizeof(url), "%s/kiosks/%s/items/%s", c->sync.url,
		 c->kiosk_id, DOCTOR_BARCODE);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->sync.token);
	h = curl_easy_init();
	headers = curl_slist_append(NULL, auth);
	if (!h || !headers) {
		report(d, VERDICT_FAIL, "server", NULL, "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)SERVER_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (c->sync.ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->sync.ca_file);
	if (c->sync.pinned_public_key[0])
		curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY,
				 c->sync.pinned_public_key);
	if (c->sync.client_cert[0]) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->sync.client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->sync.client_key);
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &secs);
	if (rc != CURLE_OK)
		report(d, VERDICT_FAIL, "server",
		       rc == CURLE_PEER_FAILED_VERIFICATION ||
				       rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ?
			       "[sync] ca_file or pinned_public_key must name "
			       "this server's CA or key" :
			       "check the network, the address and the "
			       "server",
		       "%s: %s", c->sync.url,
		       error[0] ? error : curl_easy_strerror(rc));
	else if (code == 401 || code == 403)
		report(d, VERDICT_FAIL, "server",
		       "get this kiosk's token from the server; "
		       "lokerbuku-provision --token-file takes it",
		       "%s: refuses this kiosk's token (HTTP %ld)", c->sync.url,
		       code);
	else if (code == 404 || code == 200)
		report(d, VERDICT_OK, "server", NULL,
		       "%s: answers this kiosk (%.0f ms)", c->sync.url,
		       secs * 1000);
	else
		report(d, VERDICT_WARN, "server", "see the server's log",
		       "%s: HTTP %ld to a test request", c->sync.url, code);
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
}

int doctor_run(const struct doctor_options *opt)
{
	struct doctor d = { .opt = opt };

	if (geteuid() != 0)
		printf("(not root: files only root can read are not checked)\n");
	check_user(&d);
	check_config(&d);
	check_clock(&d);
	if (d.config_ok) {
		check_secret(&d, "site key", d.config.site_key_file);
		check_secret(&d, "sync token", d.config.sync.token_file);
		check_secret(&d, "client key", d.config.sync.client_key);
		check_state(&d);
		check_devices(&d);
		check_lokerd(&d);
		check_server(&d);
	}
	printf("%u to fix, %u to look at\n", d.n_fail, d.n_warn);
	return d.n_fail ? 1 : 0;
}
