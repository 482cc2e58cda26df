// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lokerctl recover: with lokerd stopped, a damaged database is replaced by
 * a new one holding every row that could still be read, above all the
 * events the server has not had; the damaged file is kept beside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "lokerctl.h"
#include "store.h"

/* The -wal and -shm SQLite keeps beside a database. */
static const char *const sidecars[] = { "-wal", "-shm" };

/*
 * Whether a process holds a lock on path, as SQLite's connections do on
 * a database (or its -shm) they have open: its pid, 0, or -errno.
 */
static pid_t lock_holder(const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	pid_t pid = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fcntl(fd, F_GETLK, &fl) < 0)
		pid = -errno;
	else if (fl.l_type != F_UNLCK)
		pid = fl.l_pid > 0 ? fl.l_pid : 1;
	close(fd);
	return pid;
}

/* 0 when nothing uses the database, else says who does and returns 1. */
static int refuse_if_in_use(const char *db, const char *socket)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *reply = NULL;
	char name[PATH_MAX + 8];
	pid_t pid;

	if (req && lokerctl_call(socket, req, &reply, true) == 0) {
		json_decref(req);
		json_decref(reply);
		fprintf(stderr,
			"lokerctl: lokerd is running (it answers at %s): "
			"stop it first (systemctl stop lokerd)\n",
			socket);
		return 1;
	}
	json_decref(req);
	for (int i = -1; i < (int)(sizeof(sidecars) / sizeof(*sidecars)); i++) {
		snprintf(name, sizeof(name), "%s%s", db,
			 i < 0 ? "" : sidecars[i]);
		pid = lock_holder(name);
		if (pid > 0) {
			fprintf(stderr,
				"lokerctl: process %ld has %s open: stop it "
				"first (systemctl stop lokerd)\n",
				(long)pid, name);
			return 1;
		}
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

/* Moves the damaged file and its -wal and -shm to name and name-wal... */
static int keep_damaged(const char *db, const char *kept)
{
	char from[PATH_MAX + 8], to[PATH_MAX + 32];

	/*
	 * A link first: the database's name never stands empty, so lokerd
	 * started meanwhile refuses the damaged file rather than making a
	 * new, empty one.
	 */
	if (link(db, kept) < 0)
		return -errno;
	/*
	 * The -wal must not outlive its database: SQLite would replay it
	 * into the new one.
	 */
	for (size_t i = 0; i < sizeof(sidecars) / sizeof(*sidecars); i++) {
		snprintf(from, sizeof(from), "%s%s", db, sidecars[i]);
		snprintf(to, sizeof(to), "%s%s", kept, sidecars[i]);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

static void print_lost_event(int64_t seq, const char *uuid, void *userdata)
{
	unsigned *n = userdata;

	if (++*n <= 100)
		printf("  lost unsent event %" PRId64 " %s\n", seq,
		       uuid ? uuid : "?");
	else if (*n == 101)
		printf("  (more lost unsent events not listed)\n");
}

static void print_report(const struct store_recover_report *rep)
{
	uint64_t lost = 0;

	printf("%-18s %10s %10s\n", "table", "copied", "lost");
	for (unsigned i = 0; i < STORE_RECOVER_TABLES; i++) {
		const struct store_recover_table *t = &rep->tables[i];

		if (!t->name)
			continue;
		printf("%-18s %10" PRIu64 " %10" PRIu64 "%s\n", t->name,
		       t->copied, t->lost,
		       t->lost_counted || !t->lost ? "" : " (about)");
		lost += t->lost;
	}
	printf("rows lost: %" PRIu64 "\n", lost);
	if (rep->unsent_lost < 0)
		printf("unsent events kept: %" PRIu64
		       "; lost: unknown (their index is damaged too)\n",
		       rep->unsent_kept);
	else
		printf("unsent events kept: %" PRIu64 ", lost: %" PRId64 "\n",
		       rep->unsent_kept, rep->unsent_lost);
}

int recover_run(const struct recover_options *opt)
{
	const char *config_path =
		opt->config ? opt->config : CONFIG_DEFAULT_PATH;
	struct store_recover_report rep;
	char error[CONFIG_ERROR_MAX], stamp[32];
	char tmp[PATH_MAX + 16], kept[PATH_MAX + 32];
	const char *db = opt->database, *socket = opt->socket;
	struct config *config = calloc(1, sizeof(*config));
	unsigned n_lost_events = 0;
	struct stat st;
	struct tm tm;
	time_t now;
	int err, rc = 1;

	if (!config) {
		fprintf(stderr, "lokerctl: out of memory\n");
		return 1;
	}
	/* The configuration names the database and the socket. */
	err = config_load(config_path, config, error);
	if (err < 0 && !db) {
		fprintf(stderr, "lokerctl: %s\n", error);
		goto out;
	}
	if (!db)
		db = config->database;
	if (!socket)
		socket = err < 0 ? "/run/lokerbuku/control.sock" :
				   config->control_socket;

	if (refuse_if_in_use(db, socket))
		goto out;
	if (stat(db, &st) < 0) {
		fprintf(stderr, "lokerctl: database %s: %s\n", db,
			strerror(errno));
		goto out;
	}
	err = store_check_file(db);
	if (err == 0 && !opt->force) {
		printf("database %s is intact (integrity_check ok): nothing to "
		       "recover\n",
		       db);
		rc = 0;
		goto out;
	}
	if (err == 0)
		printf("database %s is intact; copying it all the same "
		       "(--force)\n",
		       db);
	else if (err == -EILSEQ)
		printf("database %s is damaged: %s\n", db, store_open_reason());
	else {
		/* Unreadable for other reasons: not something to copy away. */
		fprintf(stderr, "lokerctl: %s\n", store_open_error());
		goto out;
	}

	if (strlen(db) > PATH_MAX - 64) {
		fprintf(stderr, "lokerctl: %s: name too long\n", db);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.recover-tmp", db);
	for (size_t i = 0; i < 3; i++) {
		char name[PATH_MAX + 24];

		snprintf(name, sizeof(name), "%s%s", tmp,
			 i == 0 ? "" : (i == 1 ? "-wal" : "-shm"));
		if (unlink(name) < 0 && errno != ENOENT) {
			fprintf(stderr, "lokerctl: %s: %s\n", name,
				strerror(errno));
			goto out;
		}
	}
	printf("copying what can be read into a new database...\n");
	err = store_recover(db, tmp, print_lost_event, &n_lost_events, &rep);
	if (err < 0) {
		fprintf(stderr,
			"lokerctl: cannot recover: %s\n"
			"The database is left as it was; restore a backup "
			"(lokerctl backup makes them) if there is one.\n",
			store_open_error());
		goto out;
	}
	/* lokerd's user must own the new file as it did the old one. */
	if (chown(tmp, st.st_uid, st.st_gid) < 0 ||
	    chmod(tmp, st.st_mode & 07777) < 0) {
		fprintf(stderr, "lokerctl: %s: %s\n", tmp, strerror(errno));
		goto out;
	}

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (snprintf(kept, sizeof(kept), "%s.corrupt-%s", db, stamp) >=
	    (int)sizeof(kept))
		err = -ENAMETOOLONG;
	else
		err = keep_damaged(db, kept);
	if (err == 0 && rename(tmp, db) < 0)
		err = -errno;
	if (err == 0)
		err = fsync_dir_of(db);
	if (err < 0) {
		fprintf(stderr,
			"lokerctl: cannot put the new database in "
			"place: %s (the copy is %s)\n",
			strerror(-err), tmp);
		goto out;
	}
	print_report(&rep);
	printf("the damaged file is kept as %s\n"
	       "new database %s (schema %u -> %d); the next sync pulls every "
	       "hold and staff card again\n"
	       "start lokerd again: systemctl start lokerd\n",
	       kept, db, rep.schema_version, STORE_SCHEMA_VERSION);
	rc = 0;
out:
	explicit_bzero(config, sizeof(*config));
	free(config);
	return rc;
}
