// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lokerctl recover: with lokerd stopped, a damaged database is replaced by
 * a new one holding every row that could still be read, above all the
 * events the server has not had; the damaged file is kept beside it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
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
#define N_SIDECARS (sizeof(sidecars) / sizeof(*sidecars))

/* 0 when nothing uses the database, else says who does and returns 1. */
static int refuse_if_in_use(const char *db, const char *socket)
{
	char names[1 + N_SIDECARS][PATH_MAX + 8], *paths[1 + N_SIDECARS];

	for (unsigned i = 0; i < 1 + N_SIDECARS; i++) {
		snprintf(names[i], sizeof(names[i]), "%s%s", db,
			 i ? sidecars[i - 1] : "");
		paths[i] = names[i];
	}
	return lokerctl_refuse_if_in_use(
		socket, paths, 1 + N_SIDECARS,
		"stop it first (systemctl stop lokerd)");
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags), r = 0;

	if (fd < 0 || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	return r;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int r;

	if (!copy)
		return -ENOMEM;
	r = fsync_path(dirname(copy), O_DIRECTORY);
	free(copy);
	return r;
}

/*
 * A test hook (tests/integration/db-faults.sh): when this environment
 * variable is N, recover stops dead at its step N, as a power cut would.
 * Unset, nothing happens.
 */
#define RECOVER_CRASH_ENV    "LOKERBUKU_TEST_RECOVER_CRASH_AT"
#define RECOVER_CRASH_STATUS 99

/* The steps of putting the copy in place, for the hook. */
enum recover_step {
	RECOVER_STEP_COPIED = 1,    /* the copy is complete, not yet marked */
	RECOVER_STEP_MARKED,	    /* renamed to .recovered, folder synced */
	RECOVER_STEP_KEPT_MAIN,	    /* the damaged file linked as .corrupt- */
	RECOVER_STEP_KEPT_WAL,	    /* its -wal linked too, not its -shm */
	RECOVER_STEP_KEPT,	    /* all three linked, folder synced */
	RECOVER_STEP_WAL_REMOVED,   /* the database's -wal unlinked */
	RECOVER_STEP_SIDECARS_GONE, /* -wal and -shm unlinked, folder synced */
	RECOVER_STEP_SWAPPED,	    /* the copy renamed over the database */
};

static void crash_point(enum recover_step step)
{
	const char *e = getenv(RECOVER_CRASH_ENV);

	if (!e || atoi(e) != (int)step)
		return;
	fflush(stdout);
	fprintf(stderr, "lokerctl: test hook %s: stopping at step %d\n",
		RECOVER_CRASH_ENV, (int)step);
	_exit(RECOVER_CRASH_STATUS);
}

/*
 * A second name for from: 0, also when to is that file already (a run
 * that was interrupted made it) or when there is no from (a -wal or -shm
 * that never was, or was removed after being kept).
 */
static int link_kept(const char *from, const char *to)
{
	struct stat a, b;

	if (link(from, to) == 0 || errno == ENOENT)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(from, &a) < 0 || stat(to, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino ? 0 : -EEXIST;
}

/*
 * The name an interrupted run kept the damaged file under: a
 * db.corrupt-<time> that is the same file as db. 1 and its path in
 * ret, or 0.
 */
static int find_kept(const char *db, char *ret, size_t size)
{
	char *copy = strdup(db), *copy2 = strdup(db), *dir, *base;
	struct stat st, k;
	struct dirent *de;
	size_t len;
	DIR *d = NULL;
	int found = 0;

	if (!copy || !copy2 || stat(db, &st) < 0)
		goto out;
	dir = dirname(copy);
	base = basename(copy2);
	len = strlen(base);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		const char *n = de->d_name;

		if (strncmp(n, base, len) != 0 ||
		    strncmp(n + len, ".corrupt-", 9) != 0 ||
		    (int)snprintf(ret, size, "%s/%s", dir, n) >= (int)size)
			continue;
		if (stat(ret, &k) == 0 && k.st_dev == st.st_dev &&
		    k.st_ino == st.st_ino) {
			found = 1;
			break;
		}
	}
out:
	if (d)
		closedir(d);
	free(copy);
	free(copy2);
	return found;
}

/*
 * Puts the complete copy done in db's place, keeping the damaged file and
 * its -wal and -shm as kept. Every step leaves the old database whole
 * (under db, or under kept with its -wal) and the copy whole (done, or
 * db), each name synced before the next step, so a run started again
 * after a crash anywhere here finishes it.
 */
static int swap_in(const char *db, const char *done, const char *kept)
{
	char from[PATH_MAX + 8], to[PATH_MAX + 40];
	int err;

	/*
	 * Links, not renames: the database's name never stands empty, so
	 * lokerd started meanwhile refuses the damaged file rather than
	 * making a new, empty one.
	 */
	err = link_kept(db, kept);
	crash_point(RECOVER_STEP_KEPT_MAIN);
	for (size_t i = 0; err == 0 && i < N_SIDECARS; i++) {
		snprintf(from, sizeof(from), "%s%s", db, sidecars[i]);
		snprintf(to, sizeof(to), "%s%s", kept, sidecars[i]);
		err = link_kept(from, to);
		if (i == 0)
			crash_point(RECOVER_STEP_KEPT_WAL);
	}
	if (err == 0)
		err = fsync_dir_of(db);
	if (err < 0)
		return err;
	crash_point(RECOVER_STEP_KEPT);
	/*
	 * The -wal must be gone before the copy takes the name: SQLite
	 * would replay it into the new file. Kept above, it is not lost.
	 */
	for (size_t i = 0; i < N_SIDECARS; i++) {
		snprintf(from, sizeof(from), "%s%s", db, sidecars[i]);
		if (unlink(from) < 0 && errno != ENOENT)
			return -errno;
		if (i == 0)
			crash_point(RECOVER_STEP_WAL_REMOVED);
	}
	err = fsync_dir_of(db);
	if (err < 0)
		return err;
	crash_point(RECOVER_STEP_SIDECARS_GONE);
	if (rename(done, db) < 0)
		return -errno;
	crash_point(RECOVER_STEP_SWAPPED);
	return fsync_dir_of(db);
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

/*
 * Whether the database or its -wal was written after the copy was made
 * (lokerd started between a crash and this run): the copy is older then.
 */
static bool written_since(const char *db, const struct stat *copy)
{
	char name[PATH_MAX + 8];
	struct stat st;

	for (int i = -1; i < (int)N_SIDECARS - 1; i++) {
		snprintf(name, sizeof(name), "%s%s", db,
			 i < 0 ? "" : sidecars[i]);
		if (stat(name, &st) == 0 &&
		    (st.st_mtim.tv_sec > copy->st_mtim.tv_sec ||
		     (st.st_mtim.tv_sec == copy->st_mtim.tv_sec &&
		      st.st_mtim.tv_nsec > copy->st_mtim.tv_nsec)))
			return true;
	}
	return false;
}

/* The copy's -wal and -shm: none may be left beside it, nor stale ones. */
static int remove_sidecars_of(const char *path)
{
	char name[PATH_MAX + 24];

	for (size_t i = 0; i < N_SIDECARS; i++) {
		snprintf(name, sizeof(name), "%s%s", path, sidecars[i]);
		if (unlink(name) < 0 && errno != ENOENT) {
			fprintf(stderr, "lokerctl: %s: %s\n", name,
				strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * Makes the copy: into tmp, then, complete and synced, renamed to done
 * (its folder synced): done exists only complete. The report is printed
 * before, so that a crash after it leaves nothing unsaid. 0, or 1.
 */
static int make_copy(const char *db, const char *tmp, const char *done,
		     const struct stat *st)
{
	struct store_recover_report rep;
	unsigned n_lost_events = 0;
	int err;

	/* A copy a crash cut short: the damaged file is still all there. */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		fprintf(stderr, "lokerctl: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	if (remove_sidecars_of(tmp) < 0)
		return 1;
	printf("copying what can be read into a new database...\n");
	err = store_recover(db, tmp, print_lost_event, &n_lost_events, &rep);
	if (err < 0) {
		fprintf(stderr,
			"lokerctl: cannot recover: %s\n"
			"The database is left as it was; restore a backup "
			"(lokerctl backup makes them) if there is one.\n",
			store_open_error());
		return 1;
	}
	/* lokerd's user must own the new file as it did the old one. */
	if (chown(tmp, st->st_uid, st->st_gid) < 0 ||
	    chmod(tmp, st->st_mode & 07777) < 0) {
		fprintf(stderr, "lokerctl: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	if (remove_sidecars_of(tmp) < 0)
		return 1;
	/* Its owner and mode on the disk too, before it counts as done. */
	err = fsync_path(tmp, 0);
	if (err < 0) {
		fprintf(stderr, "lokerctl: %s: %s\n", tmp, strerror(-err));
		return 1;
	}
	print_report(&rep);
	printf("new database (schema %u -> %d); the next sync pulls every "
	       "hold and staff card again\n",
	       rep.schema_version, STORE_SCHEMA_VERSION);
	fflush(stdout);
	crash_point(RECOVER_STEP_COPIED);
	err = rename(tmp, done) < 0 ? -errno : fsync_dir_of(done);
	if (err < 0) {
		fprintf(stderr, "lokerctl: %s: %s\n", done, strerror(-err));
		return 1;
	}
	crash_point(RECOVER_STEP_MARKED);
	return 0;
}

int recover_run(const struct recover_options *opt)
{
	const char *config_path =
		opt->config ? opt->config : CONFIG_DEFAULT_PATH;
	char error[CONFIG_ERROR_MAX], stamp[32];
	char tmp[PATH_MAX + 16], done[PATH_MAX + 16], kept[PATH_MAX + 32];
	const char *db = opt->database, *socket = opt->socket;
	struct config *config = calloc(1, sizeof(*config));
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
	if (strlen(db) > PATH_MAX - 64) {
		fprintf(stderr, "lokerctl: %s: name too long\n", db);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.recover-tmp", db);
	snprintf(done, sizeof(done), "%s.recovered", db);

	if (access(done, F_OK) == 0) {
		/*
		 * A run stopped after its copy was complete: the copy is
		 * the good one, and is put in place, never made again.
		 */
		printf("finishing a recover that was interrupted: %s is its "
		       "complete copy (its report was printed then)\n",
		       done);
		if (stat(done, &st) < 0 || written_since(db, &st)) {
			fprintf(stderr,
				"lokerctl: %s was written after the interrupted "
				"recover made %s: keep it by removing %s, or "
				"move it away and run lokerctl recover again\n",
				db, done, done);
			goto out;
		}
		err = store_check_file(done);
		if (err < 0) {
			fprintf(stderr,
				"lokerctl: the copy is damaged too: %s\n"
				"Everything is left as it is.\n",
				store_open_error());
			goto out;
		}
		/* The check may leave an empty -wal and -shm: not the copy's. */
		if (remove_sidecars_of(done) < 0)
			goto out;
	} else {
		if (stat(db, &st) < 0) {
			fprintf(stderr, "lokerctl: database %s: %s\n", db,
				strerror(errno));
			goto out;
		}
		err = store_check_file(db);
		if (err == 0 && !opt->force) {
			printf("database %s is intact (integrity_check ok): "
			       "nothing to recover\n",
			       db);
			rc = 0;
			goto out;
		}
		if (err == 0)
			printf("database %s is intact; copying it all the same "
			       "(--force)\n",
			       db);
		else if (err == -EILSEQ)
			printf("database %s is damaged: %s\n", db,
			       store_open_reason());
		else {
			/* Unreadable for other reasons: not one to copy. */
			fprintf(stderr, "lokerctl: %s\n", store_open_error());
			goto out;
		}
		if (make_copy(db, tmp, done, &st))
			goto out;
	}

	if (!find_kept(db, kept, sizeof(kept))) {
		now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		/*
		 * Cannot be cut short: db was checked against PATH_MAX. A
		 * file kept by another recover in the same second keeps its
		 * name: this one takes the next free one.
		 */
		int n = snprintf(kept, sizeof(kept), "%s.corrupt-%s", db,
				 stamp);

		for (unsigned i = 2;
		     n < (int)sizeof(kept) && access(kept, F_OK) == 0; i++)
			n = snprintf(kept, sizeof(kept), "%s.corrupt-%s-%u", db,
				     stamp, i);
		if (n >= (int)sizeof(kept))
			goto out;
	}
	err = swap_in(db, done, kept);
	if (err < 0) {
		fprintf(stderr,
			"lokerctl: cannot put the new database in place: %s\n"
			"The complete copy is %s; run lokerctl recover again "
			"to finish.\n",
			strerror(-err), done);
		goto out;
	}
	printf("the damaged file is kept as %s\n"
	       "new database %s in place\n"
	       "start lokerd again: systemctl start lokerd\n",
	       kept, db);
	rc = 0;
out:
	explicit_bzero(config, sizeof(*config));
	free(config);
	return rc;
}
