// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests of the SQLite store, each in a fresh temporary directory. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "credential.h"
#include "kiosk.h"
#include "store.h"

#define TEST_LOCKERS 8

struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	struct store *s;
};

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s/test-store-XXXXXX",
		 tmp && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/kiosk.db", f->dir);
	f->s = store_open(f->path, NULL);
	if (!f->s)
		print_error("store_open: %s\n", store_open_error());
	assert_non_null(f->s);
	assert_int_equal(store_ensure_lockers(f->s, TEST_LOCKERS), 0);
	*state = f;
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s);
	nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Closes and reopens the fixture's store with these options. */
static void reopen(struct fixture *f, const struct store_options *opt)
{
	store_free(f->s);
	f->s = store_open(f->path, opt);
	if (!f->s)
		print_error("store_open: %s\n", store_open_error());
	assert_non_null(f->s);
}

/* A well-formed HMAC: 64 times the hex digit c. */
static void fake_hmac(char ret[CREDENTIAL_HMAC_HEX_LEN + 1], char c)
{
	memset(ret, c, CREDENTIAL_HMAC_HEX_LEN);
	ret[CREDENTIAL_HMAC_HEX_LEN] = '\0';
}

/* A pending hold with one card, two items and an expiry. */
static void make_hold(struct store_hold *h, const char *id, char card)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->hold.id, sizeof(h->hold.id), "%s", id);
	h->hold.state = KIOSK_HOLD_STATE_PENDING;
	h->hold.size = KIOSK_SIZE_MEDIUM;
	snprintf(h->hold.patron_name, sizeof(h->hold.patron_name), "Siti");
	h->hold.n_credentials = 1;
	fake_hmac(h->hold.credential_hmacs[0], card);
	h->hold.expires_at_usec = 9000000;
	h->n_items = 2;
	snprintf(h->items[0].barcode, sizeof(h->items[0].barcode), "B0001");
	snprintf(h->items[0].title, sizeof(h->items[0].title), "Bumi Manusia");
	snprintf(h->items[1].barcode, sizeof(h->items[1].barcode), "B0002");
	snprintf(h->items[1].title, sizeof(h->items[1].title),
		 "Laskar Pelangi \xe2\x80\x94 Andrea Hirata");
}

static void add_hold(struct fixture *f, const char *id, char card)
{
	struct store_hold h;

	make_hold(&h, id, card);
	assert_int_equal(store_add_hold(f->s, &h), 0);
}

static struct kiosk_record make_record(enum kiosk_record_type type,
				       const char *hold_id, unsigned locker)
{
	struct kiosk_record rec = { .type = type, .locker = locker };

	snprintf(rec.hold_id, sizeof(rec.hold_id), "%s", hold_id);
	return rec;
}

static int record(struct fixture *f, enum kiosk_record_type type,
		  const char *hold_id, unsigned locker, int64_t wall_usec)
{
	struct kiosk_record rec = make_record(type, hold_id, locker);

	return store_record(f->s, &rec, wall_usec, NULL);
}

/*
 * Prunes in steps of max_rows until the store says it is done; returns
 * the steps it took.
 */
static unsigned prune_all(struct fixture *f, unsigned max_rows,
			  int64_t wall_usec)
{
	unsigned steps = 0;
	int r;

	do {
		r = store_prune_step(f->s, max_rows, wall_usec);
		assert_true(r >= 0);
		assert_true(++steps < 100000);
	} while (r > 0);
	assert_false(store_prune_due(f->s));
	return steps;
}

/* One integer from the database, through a second, read-only connection. */
static int64_t db_int(struct fixture *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(
		sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Runs sql on a second connection; returns SQLite's result code. */
static int db_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

#define EVENTS_MAX 300

struct events {
	unsigned n;
	int64_t seq[EVENTS_MAX];
	char uuid[EVENTS_MAX][STORE_UUID_LEN + 1];
	char type[EVENTS_MAX][32];
	int64_t at_usec[EVENTS_MAX];
	char *payload[EVENTS_MAX];
	bool sent[EVENTS_MAX];
	int stop_after; /* return 7 after this many, 0 = never */
};

static int collect_event(const struct store_event *e, void *userdata)
{
	struct events *ev = userdata;
	unsigned i = ev->n++;

	assert_true(i < EVENTS_MAX);
	ev->seq[i] = e->seq;
	memcpy(ev->uuid[i], e->uuid, sizeof(ev->uuid[i]));
	snprintf(ev->type[i], sizeof(ev->type[i]), "%s", e->type);
	ev->at_usec[i] = e->at_usec;
	ev->payload[i] = strdup(e->payload);
	ev->sent[i] = e->sent;
	if (ev->stop_after && ev->n == (unsigned)ev->stop_after)
		return 7;
	return 0;
}

static void events_clear(struct events *ev)
{
	for (unsigned i = 0; i < ev->n; i++)
		free(ev->payload[i]);
	memset(ev, 0, sizeof(*ev));
}

/* Every event in the outbox, oldest first; the caller clears ev. */
static void all_events(struct fixture *f, struct events *ev)
{
	memset(ev, 0, sizeof(*ev));
	assert_int_equal(
		store_foreach_event(f->s, EVENTS_MAX, collect_event, ev), 0);
}

static unsigned count_events(struct fixture *f)
{
	struct events *ev = calloc(1, sizeof(*ev));
	unsigned n;

	assert_non_null(ev);
	all_events(f, ev);
	n = ev->n;
	events_clear(ev);
	free(ev);
	return n;
}

static uint64_t unsent(struct fixture *f)
{
	uint64_t n;

	assert_int_equal(store_count_unsent(f->s, &n), 0);
	return n;
}

static enum kiosk_hold_state hold_state(struct fixture *f, const char *id)
{
	struct store_hold h;

	assert_int_equal(store_get_hold(f->s, id, &h), 0);
	return h.hold.state;
}

static void creates_and_migrates_a_fresh_database(void **state)
{
	struct fixture *f = *state;
	struct store_info info;

	assert_int_equal(store_get_info(f->s, &info), 0);
	assert_int_equal(info.schema_version, STORE_SCHEMA_VERSION);
	assert_true(info.wal);
	assert_int_equal(info.synchronous, 2);
	assert_true(info.foreign_keys);
	/* What the file itself says, seen from another connection. */
	assert_int_equal(db_int(f, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(db_int(f, "SELECT count(*) FROM pragma_journal_mode"
				   " WHERE journal_mode = 'wal'"),
			 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_schema"
				   " WHERE type = 'table' AND name IN"
				   " ('lockers', 'holds', 'hold_credentials',"
				   " 'hold_items', 'staff', 'outbox')"),
			 6);
	assert_int_equal(db_int(f, "SELECT count(*) FROM lockers"),
			 TEST_LOCKERS);
	assert_int_equal(unsent(f), 0);
	assert_string_equal(store_open_error(), "");
}

static void reopening_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct store_info info;
	struct store_hold h;

	add_hold(f, "h1", 'a');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 2, 1000), 0);
	reopen(f, NULL);

	assert_int_equal(store_get_info(f->s, &info), 0);
	assert_int_equal(info.schema_version, STORE_SCHEMA_VERSION);
	assert_int_equal(store_get_hold(f->s, "h1", &h), 0);
	assert_int_equal(h.hold.state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(h.hold.locker, 2);
	assert_int_equal(h.n_items, 2);
	assert_int_equal(unsent(f), 1);
	assert_int_equal(count_events(f), 1);
}

static void refuses_a_database_from_a_newer_schema(void **state)
{
	struct fixture *f = *state;
	char sql[64];

	store_free(f->s);
	f->s = NULL;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 STORE_SCHEMA_VERSION + 1);
	assert_int_equal(db_exec(f->path, sql), SQLITE_OK);

	errno = 0;
	assert_null(store_open(f->path, NULL));
	assert_int_equal(errno, EILSEQ);
	assert_non_null(strstr(store_open_error(), "newer"));
	assert_int_equal(store_open_failure(), STORE_OPEN_FAILURE_NEWER);
	/* Refusing must not have touched the file. */
	assert_int_equal(db_int(f, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION + 1);
}

/* A kiosk updated in the field: its version 1 file is brought forward. */
static void migrates_a_version_1_database_keeping_its_data(void **state)
{
	struct fixture *f = *state;

	add_hold(f, "h1", 'a');
	store_free(f->s);
	f->s = NULL;
	/* What version 1 was: without migrations 2 to 8. */
	assert_int_equal(db_exec(f->path,
				 "ALTER TABLE hold_items DROP COLUMN due;"
				 "ALTER TABLE holds DROP COLUMN needs_low;"
				 "DROP TABLE refusals;"
				 "DROP TRIGGER hold_wipe;"
				 "DROP INDEX holds_unwiped;"
				 "ALTER TABLE holds DROP COLUMN wiped;"
				 "DROP TABLE guard;"
				 "DROP INDEX outbox_sent;"
				 "DROP INDEX hold_items_barcode;"
				 "DROP TABLE sync_state;"
				 "DROP TABLE full_seen;"
				 "DROP TABLE commands;"
				 "ALTER TABLE outbox DROP COLUMN rejected;"
				 "PRAGMA user_version = 1"),
			 SQLITE_OK);
	reopen(f, NULL);
	assert_int_equal(db_int(f, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(db_int(f,
				"SELECT count(*) FROM sqlite_schema WHERE"
				" name IN ('hold_items_barcode', 'sync_state',"
				" 'full_seen', 'commands', 'outbox_sent',"
				" 'guard')"),
			 6);
	assert_int_equal(db_int(f, "SELECT value FROM sync_state"
				   " WHERE key = 'rejected_events'"),
			 0);
	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(store_check_integrity(f->s), 0);
}

static void refuses_a_file_that_is_not_a_database(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 16];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/notes.txt", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("locker 3: this is not a database\n", fp);
	fclose(fp);

	errno = 0;
	assert_null(store_open(path, NULL));
	assert_int_equal(errno, EILSEQ);
	assert_string_not_equal(store_open_error(), "");
}

static void refuses_a_database_of_another_application(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(db_exec(path, "CREATE TABLE songs (title TEXT)"),
			 SQLITE_OK);
	errno = 0;
	assert_null(store_open(path, NULL));
	assert_int_equal(errno, EILSEQ);

	assert_int_equal(db_exec(path, "PRAGMA application_id = 42;"
				       "PRAGMA user_version = 1"),
			 SQLITE_OK);
	errno = 0;
	assert_null(store_open(path, NULL));
	assert_int_equal(errno, EILSEQ);
}

/* 0 when opening path is refused as unwritable; run as a user without rights. */
static int open_is_refused(const char *path)
{
	struct store *s;

	errno = 0;
	s = store_open(path, NULL);
	if (s) {
		store_free(s);
		return 1;
	}
	if (errno != EACCES && errno != EROFS)
		return 2;
	/* Read-only, not corrupt: the fix is a permission, not a recovery. */
	return store_open_failure() == STORE_OPEN_FAILURE_READ_ONLY ? 0 : 4;
}

static void refuses_a_database_it_cannot_write(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid;

	store_free(f->s);
	f->s = NULL;
	assert_int_equal(chmod(f->path, 0444), 0);
	if (geteuid() != 0) {
		assert_int_equal(open_is_refused(f->path), 0);
		return;
	}
	/* File modes do not stop root: try as nobody, in a child. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(3);
		_exit(open_is_refused(f->path));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * Overwrites the middle one of the outbox's table pages (not its indexes)
 * with garbage, as a failing disk might; returns how many it has.
 */
static int damage_an_outbox_page(const char *path)
{
	int64_t pages[512], size = 0;
	sqlite3_stmt *st;
	unsigned n = 0;
	char garbage[65536];
	sqlite3 *db;
	FILE *fp;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT pageno, pgsize FROM dbstat"
					    " WHERE name = 'outbox'"
					    " AND pagetype = 'leaf'"
					    " ORDER BY pageno",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < 512) {
		pages[n++] = sqlite3_column_int64(st, 0);
		size = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(n >= 3 && size > 0 && size <= (int64_t)sizeof(garbage));

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(0xa5 ^ (i * 7));
	fp = fopen(path, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, (pages[n / 2] - 1) * size, SEEK_SET), 0);
	assert_int_equal(fwrite(garbage, (size_t)size, 1, fp), 1);
	assert_int_equal(fclose(fp), 0);
	return (int)n;
}

struct lost_events {
	unsigned n;
	int64_t seq[EVENTS_MAX];
	char uuid[EVENTS_MAX][STORE_UUID_LEN + 1];
};

static void collect_lost(int64_t seq, const char *uuid, void *userdata)
{
	struct lost_events *lost = userdata;

	assert_true(lost->n < EVENTS_MAX);
	lost->seq[lost->n] = seq;
	snprintf(lost->uuid[lost->n], sizeof(lost->uuid[0]), "%s", uuid);
	lost->n++;
}

static bool was_lost(const struct lost_events *lost, const char *uuid)
{
	for (unsigned i = 0; i < lost->n; i++)
		if (strcmp(lost->uuid[i], uuid) == 0)
			return true;
	return false;
}

static void
recovery_keeps_every_readable_event_and_names_the_unsent_ones_lost(void **state)
{
	struct fixture *f = *state;
	struct events *before = calloc(1, sizeof(*before));
	struct events *after = calloc(1, sizeof(*after));
	struct lost_events *lost = calloc(1, sizeof(*lost));
	struct store_recover_report rep;
	char damaged[PATH_MAX + 32];
	struct store_hold h;
	unsigned i, j, n_sent = 40;
	uint64_t outbox_lost = 0, outbox_copied = 0;
	char uuid[STORE_UUID_LEN + 1];
	struct store_options opt = { .quick_check = true };
	struct kiosk_record rec;

	assert_non_null(before);
	assert_non_null(after);
	assert_non_null(lost);
	add_hold(f, "h1", 'a');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 2, 1000), 0);
	for (i = 0; i < 260; i++)
		assert_int_equal(record(f,
					i % 2 ? KIOSK_RECORD_LOCKER_ENABLED :
						KIOSK_RECORD_LOCKER_DISABLED,
					"", 5, 2000 + i),
				 0);
	all_events(f, before);
	assert_int_equal(before->n, 261);
	/* The server has had the oldest. */
	assert_int_equal(store_mark_sent(f->s, before->seq[n_sent - 1]), 0);
	store_free(f->s);
	f->s = NULL;

	snprintf(damaged, sizeof(damaged), "%s/damaged.db", f->dir);
	assert_int_equal(rename(f->path, damaged), 0);
	assert_true(damage_an_outbox_page(damaged) >= 3);

	/* Opening alone reads too little to notice; quick_check does. */
	f->s = store_open(damaged, NULL);
	assert_non_null(f->s);
	store_free(f->s);
	f->s = store_open(damaged, &opt);
	assert_null(f->s);
	assert_int_equal(errno, EILSEQ);
	assert_int_equal(store_open_failure(), STORE_OPEN_FAILURE_CORRUPT);
	assert_int_equal(store_check_file(damaged), -EILSEQ);

	assert_int_equal(
		store_recover(damaged, f->path, collect_lost, lost, &rep), 0);
	assert_int_equal(rep.schema_version, STORE_SCHEMA_VERSION);
	for (i = 0; i < STORE_RECOVER_TABLES; i++) {
		if (rep.tables[i].name &&
		    strcmp(rep.tables[i].name, "outbox") == 0) {
			outbox_copied = rep.tables[i].copied;
			outbox_lost = rep.tables[i].lost;
			assert_true(rep.tables[i].lost_counted);
		} else if (rep.tables[i].name) {
			assert_int_equal(rep.tables[i].lost, 0);
		}
	}
	/* One page of events lost, not those after it. */
	assert_true(outbox_lost > 0 && outbox_lost < before->n / 3);
	assert_int_equal(outbox_copied + outbox_lost, before->n);
	assert_int_equal(rep.unsent_lost, lost->n);
	assert_int_equal(rep.unsent_kept + lost->n, before->n - n_sent);

	f->s = store_open(f->path, &opt);
	assert_non_null(f->s);
	assert_int_equal(store_check_integrity(f->s), 0);
	assert_int_equal(unsent(f), rep.unsent_kept);
	all_events(f, after);
	assert_int_equal(after->n, outbox_copied);
	/* The same events, in the same order, less those on the lost page. */
	for (i = 0, j = 0; i < before->n; i++) {
		if (j < after->n && after->seq[j] == before->seq[i]) {
			assert_string_equal(after->uuid[j], before->uuid[i]);
			assert_string_equal(after->payload[j],
					    before->payload[i]);
			assert_int_equal(after->sent[j], i < n_sent);
			j++;
		} else if (i >= n_sent) {
			assert_true(was_lost(lost, before->uuid[i]));
		}
	}
	assert_int_equal(j, after->n);
	assert_int_equal(after->seq[after->n - 1], before->seq[before->n - 1]);
	assert_int_equal(store_get_hold(f->s, "h1", &h), 0);
	assert_int_equal(h.hold.state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(h.n_items, 2);

	/* Numbering goes on past every seq the damaged file gave. */
	rec = make_record(KIOSK_RECORD_LOCKER_DISABLED, "", 6);
	assert_int_equal(store_record(f->s, &rec, 9000, uuid), 0);
	events_clear(after);
	all_events(f, after);
	assert_string_equal(after->uuid[after->n - 1], uuid);
	assert_true(after->seq[after->n - 1] > before->seq[before->n - 1]);

	events_clear(before);
	events_clear(after);
	free(before);
	free(after);
	free(lost);
}

static void recovery_refuses_a_newer_schema_and_an_existing_file(void **state)
{
	struct fixture *f = *state;
	struct store_recover_report rep;
	char other[PATH_MAX + 32], sql[64];

	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	store_free(f->s);
	f->s = NULL;
	/* Nothing is written over. */
	assert_int_equal(store_recover(f->path, f->path, NULL, NULL, &rep),
			 -EEXIST);
	assert_int_equal(store_check_file(f->path), 0);

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 STORE_SCHEMA_VERSION + 1);
	assert_int_equal(db_exec(f->path, sql), SQLITE_OK);
	assert_int_equal(store_recover(f->path, other, NULL, NULL, &rep),
			 -ENOTSUP);
	assert_non_null(strstr(store_open_error(), "newer"));
	assert_int_equal(access(other, F_OK), -1);
}

static void
record_applies_the_state_change_and_appends_the_outbox_in_one_transaction(
	void **state)
{
	struct fixture *f = *state;
	struct events ev;
	struct store_hold h;
	char uuid[STORE_UUID_LEN + 1];
	struct kiosk_record rec =
		make_record(KIOSK_RECORD_HOLD_LOADED, "h1", 3);

	add_hold(f, "h1", 'a');
	assert_int_equal(store_record(f->s, &rec, 1000, uuid), 0);

	assert_int_equal(store_get_hold(f->s, "h1", &h), 0);
	assert_int_equal(h.hold.state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(h.hold.locker, 3);
	assert_int_equal(h.hold.loaded_at_usec, 1000);
	all_events(f, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.type[0], "hold_loaded");
	assert_string_equal(ev.uuid[0], uuid);
	assert_int_equal(ev.at_usec[0], 1000);
	assert_false(ev.sent[0]);
	events_clear(&ev);
	assert_int_equal(unsent(f), 1);

	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h1", 3, 2000),
			 0);
	assert_int_equal(store_get_hold(f->s, "h1", &h), 0);
	assert_int_equal(h.hold.state, KIOSK_HOLD_STATE_PICKED_UP);
	assert_int_equal(h.hold.locker, 0);
	assert_int_equal(db_int(f, "SELECT finished_at_usec FROM holds"
				   " WHERE id = 'h1'"),
			 2000);
	all_events(f, &ev);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.type[1], "hold_picked_up");
	events_clear(&ev);
	/* The locker is free again for the next hold. */
	add_hold(f, "h2", 'b');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h2", 3, 3000), 0);
}

static void every_record_type_changes_what_it_describes(void **state)
{
	struct fixture *f = *state;
	struct kiosk_record rec;
	unsigned n = 0;

	add_hold(f, "h1", 'a');
	add_hold(f, "h2", 'b');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 1, 10), 0);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_EXPIRED, "h1", 1, 20), 0);
	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_EXPIRED);
	assert_int_equal(db_int(f, "SELECT locker FROM holds WHERE id = 'h1'"),
			 1);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_UNLOADED, "h1", 1, 30), 0);
	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_UNLOADED);
	assert_int_equal(db_int(f, "SELECT locker IS NULL AND"
				   " finished_at_usec = 30 FROM holds"
				   " WHERE id = 'h1'"),
			 1);
	n += 3;

	assert_int_equal(record(f, KIOSK_RECORD_RETURN_DEPOSITED, "", 8, 40),
			 0);
	assert_int_equal(record(f, KIOSK_RECORD_RETURN_DEPOSITED, "", 8, 41),
			 0);
	assert_int_equal(db_int(f, "SELECT returns FROM lockers"
				   " WHERE number = 8"),
			 2);
	assert_int_equal(record(f, KIOSK_RECORD_RETURNS_COLLECTED, "", 8, 42),
			 0);
	assert_int_equal(db_int(f, "SELECT returns FROM lockers"
				   " WHERE number = 8"),
			 0);
	n += 3;

	rec = make_record(KIOSK_RECORD_LOCKER_FAULT, "", 4);
	rec.fault = KIOSK_FAULT_NOT_OPENED;
	assert_int_equal(store_record(f->s, &rec, 50, NULL), 0);
	assert_int_equal(db_int(f, "SELECT fault = 'not_opened' FROM lockers"
				   " WHERE number = 4"),
			 1);
	assert_int_equal(record(f, KIOSK_RECORD_LOCKER_DISABLED, "", 4, 51), 0);
	assert_int_equal(db_int(f, "SELECT disabled FROM lockers"
				   " WHERE number = 4"),
			 1);
	assert_int_equal(record(f, KIOSK_RECORD_LOCKER_ENABLED, "", 4, 52), 0);
	assert_int_equal(db_int(f, "SELECT disabled = 0 AND fault = 'none'"
				   " FROM lockers WHERE number = 4"),
			 1);
	n += 3;

	/* These only tell the server. */
	rec = make_record(KIOSK_RECORD_LOCKER_UNLOCKED, "", 5);
	rec.purpose = KIOSK_PURPOSE_MAINTENANCE;
	rec.attempt = 1;
	assert_int_equal(store_record(f->s, &rec, 60, NULL), 0);
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_FORCED_OPEN, "", 5, 61),
			 0);
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_LEFT_OPEN, "", 5, 62), 0);
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 5, 63), 0);
	rec = make_record(KIOSK_RECORD_PIN_LOCKOUT, "", 0);
	snprintf(rec.actor, sizeof(rec.actor), "service");
	assert_int_equal(store_record(f->s, &rec, 64, NULL), 0);
	n += 5;
	assert_int_equal(db_int(f, "SELECT count(*) FROM lockers WHERE"
				   " disabled <> 0 OR fault <> 'none'"
				   " OR returns <> 0"),
			 0);
	assert_int_equal(hold_state(f, "h2"), KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(count_events(f), n);
	assert_int_equal(unsent(f), n);
}

static void a_failing_record_writes_nothing(void **state)
{
	struct fixture *f = *state;
	char uuid[STORE_UUID_LEN + 1] = "untouched";
	struct kiosk_record rec;

	add_hold(f, "h1", 'a');
	add_hold(f, "h2", 'b');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 3, 10), 0);

	rec = make_record(KIOSK_RECORD_HOLD_PICKED_UP, "nope", 3);
	assert_int_equal(store_record(f->s, &rec, 20, uuid), -EINVAL);
	assert_string_equal(uuid, "untouched");
	assert_string_not_equal(store_last_error(f->s), "");
	/* Out of range: no such locker. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h2", 99, 20),
			 -EINVAL);
	assert_int_equal(record(f, KIOSK_RECORD_LOCKER_DISABLED, "", 9, 20),
			 -EINVAL);
	assert_int_equal(record(f, KIOSK_RECORD_RETURN_DEPOSITED, "", 0, 20),
			 -EINVAL);
	/* The state change itself fails: locker 3 is occupied by h1. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h2", 3, 20),
			 -EINVAL);
	/* A hold is picked up only from the locker it is in, and only once. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h1", 4, 20),
			 -EINVAL);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h2", 3, 20),
			 -EINVAL);
	/* A pending hold is in no locker, so it cannot expire there. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_EXPIRED, "h2", 0, 20),
			 -EINVAL);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "", 3, 20),
			 -EINVAL);
	rec = make_record(KIOSK_RECORD_LOCKER_UNLOCKED, "", 3);
	rec.purpose = KIOSK_PURPOSE_PICKUP;
	rec.attempt = 0;
	assert_int_equal(store_record(f->s, &rec, 20, NULL), -EINVAL);
	rec = make_record((enum kiosk_record_type)999, "", 3);
	assert_int_equal(store_record(f->s, &rec, 20, NULL), -EINVAL);

	assert_int_equal(count_events(f), 1);
	assert_int_equal(unsent(f), 1);
	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(hold_state(f, "h2"), KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(db_int(f, "SELECT locker IS NULL FROM holds"
				   " WHERE id = 'h2'"),
			 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM lockers"
				   " WHERE disabled <> 0"),
			 0);
	/* Failures leave the store usable. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h1", 3, 30),
			 0);
	assert_int_equal(count_events(f), 2);
}

static int record_unlock(struct fixture *f, int64_t at)
{
	struct kiosk_record rec =
		make_record(KIOSK_RECORD_LOCKER_UNLOCKED, "", 1);

	rec.purpose = KIOSK_PURPOSE_MAINTENANCE;
	rec.attempt = 1;
	return store_record(f->s, &rec, at, NULL);
}

static void the_outbox_bound_refuses_unlocks_and_keeps_facts(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .max_unsent = 3 };

	reopen(f, &opt);
	for (int i = 0; i < 3; i++)
		assert_int_equal(record_unlock(f, i), 0);
	assert_int_equal(record_unlock(f, 3), -ENOSPC);
	assert_int_equal(count_events(f), 3);
	assert_int_equal(unsent(f), 3);
	/* What already happened is still written down. */
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, 4), 0);
	assert_int_equal(unsent(f), 4);

	/* The server took the first three; room again for two unlocks. */
	assert_int_equal(store_mark_sent(f->s, 3), 0);
	assert_int_equal(unsent(f), 1);
	assert_int_equal(record_unlock(f, 5), 0);
	assert_int_equal(record_unlock(f, 6), 0);
	assert_int_equal(record_unlock(f, 7), -ENOSPC);
	/* The count survives a restart. */
	reopen(f, &opt);
	assert_int_equal(unsent(f), 3);
	assert_int_equal(record_unlock(f, 8), -ENOSPC);
}

static void facts_past_the_bound_stop_at_the_headroom(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .max_unsent = 1 };
	int r = 0;
	int i;

	reopen(f, &opt);
	for (i = 0; i < STORE_FACTS_HEADROOM + 2 && r == 0; i++)
		r = record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, i);
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(i, STORE_FACTS_HEADROOM + 2);
	assert_int_equal(unsent(f), STORE_FACTS_HEADROOM + 1);
}

static void uuid_is_well_formed(const char *u)
{
	assert_int_equal(strlen(u), STORE_UUID_LEN);
	for (int i = 0; i < STORE_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", u[i]));
	}
	assert_int_equal(u[14], '4');
	assert_non_null(strchr("89ab", u[19]));
}

static void uuids_are_unique_and_well_formed(void **state)
{
	struct fixture *f = *state;
	static char uuids[100][STORE_UUID_LEN + 1];
	struct kiosk_record rec = make_record(KIOSK_RECORD_DOOR_CLOSED, "", 2);
	struct events *ev = calloc(1, sizeof(*ev));

	assert_non_null(ev);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(store_record(f->s, &rec, i, uuids[i]), 0);
		uuid_is_well_formed(uuids[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(uuids[i], uuids[j]);
	}
	all_events(f, ev);
	assert_int_equal(ev->n, 100);
	for (int i = 0; i < 100; i++)
		assert_string_equal(ev->uuid[i], uuids[i]);
	events_clear(ev);
	free(ev);
}

/* The newest event's payload, parsed; the caller decrefs it. */
static json_t *last_payload(struct fixture *f, char *ret_text, size_t n)
{
	struct events ev = { 0 };
	json_error_t err;
	json_t *o;

	assert_int_equal(store_foreach_event(f->s, 1, collect_event, &ev), 0);
	assert_int_equal(ev.n, 1);
	snprintf(ret_text, n, "%s", ev.payload[0]);
	o = json_loads(ev.payload[0], 0, &err);
	events_clear(&ev);
	assert_non_null(o);
	assert_true(json_is_object(o));
	return o;
}

static void payloads_have_the_right_fields(void **state)
{
	struct fixture *f = *state;
	char text[1024], want[1024], actor[KIOSK_ACTOR_MAX + 1];
	struct kiosk_record rec;
	json_t *o, *items;

	add_hold(f, "h1", 'a');
	snprintf(actor, sizeof(actor), "patron:%064d", 0);

	/* Compact, keys sorted: the same record always reads the same. */
	rec = make_record(KIOSK_RECORD_LOCKER_UNLOCKED, "h1", 3);
	rec.purpose = KIOSK_PURPOSE_PICKUP;
	rec.attempt = 2;
	snprintf(rec.actor, sizeof(rec.actor), "%s", actor);
	assert_int_equal(store_record(f->s, &rec, 1, NULL), 0);
	o = last_payload(f, text, sizeof(text));
	snprintf(want, sizeof(want),
		 "{\"actor\":\"%s\",\"attempt\":2,\"hold_id\":\"h1\","
		 "\"locker\":3,\"purpose\":\"%s\"}",
		 actor, kiosk_purpose_to_string(KIOSK_PURPOSE_PICKUP));
	assert_string_equal(text, want);
	json_decref(o);

	rec = make_record(KIOSK_RECORD_LOCKER_FAULT, "", 2);
	rec.fault = KIOSK_FAULT_NOT_OPENED;
	assert_int_equal(store_record(f->s, &rec, 2, NULL), 0);
	o = last_payload(f, text, sizeof(text));
	assert_int_equal(json_object_size(o), 2);
	assert_string_equal(json_string_value(json_object_get(o, "fault")),
			    kiosk_fault_to_string(KIOSK_FAULT_NOT_OPENED));
	assert_int_equal(json_integer_value(json_object_get(o, "locker")), 2);
	json_decref(o);

	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 3, 3), 0);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h1", 3, 4), 0);
	o = last_payload(f, text, sizeof(text));
	assert_int_equal(json_object_size(o), 3);
	assert_string_equal(json_string_value(json_object_get(o, "hold_id")),
			    "h1");
	assert_int_equal(json_integer_value(json_object_get(o, "locker")), 3);
	items = json_object_get(o, "items");
	assert_true(json_is_array(items));
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(items, 0), "barcode")),
			    "B0001");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(items, 1), "barcode")),
			    "B0002");
	/* Titles stay on the kiosk; the server knows its own catalogue. */
	assert_int_equal(json_object_size(json_array_get(items, 0)), 1);
	json_decref(o);

	rec = make_record(KIOSK_RECORD_PIN_LOCKOUT, "", 0);
	snprintf(rec.actor, sizeof(rec.actor), "%s", actor);
	assert_int_equal(store_record(f->s, &rec, 5, NULL), 0);
	o = last_payload(f, text, sizeof(text));
	snprintf(want, sizeof(want), "{\"actor\":\"%s\"}", actor);
	assert_string_equal(text, want);
	json_decref(o);

	assert_int_equal(record(f, KIOSK_RECORD_RETURNS_COLLECTED, "", 8, 6),
			 0);
	o = last_payload(f, text, sizeof(text));
	assert_string_equal(text, "{\"locker\":8}");
	json_decref(o);
}

/* v1.1: a partial pickup names the books taken and left, keeps the rest. */
static void a_partial_pickup_keeps_the_hold_with_the_books_left(void **state)
{
	struct fixture *f = *state;
	char text[1024];
	char left[1][KIOSK_BARCODE_MAX + 1] = { "B0002" };
	char stranger[1][KIOSK_BARCODE_MAX + 1] = { "B9999" };
	char both[2][KIOSK_BARCODE_MAX + 1] = { "B0001", "B0002" };
	struct kiosk_record rec;
	struct store_hold got;

	add_hold(f, "h1", 'a');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 3, 3), 0);
	/* Refused, nothing written: a book not of the hold, or all of them. */
	rec = make_record(KIOSK_RECORD_HOLD_PICKED_UP, "h1", 3);
	rec.left = (const char(*)[KIOSK_BARCODE_MAX + 1]) stranger;
	rec.n_left = 1;
	assert_int_equal(store_record(f->s, &rec, 4, NULL), -EINVAL);
	rec.left = (const char(*)[KIOSK_BARCODE_MAX + 1]) both;
	rec.n_left = 2;
	assert_int_equal(store_record(f->s, &rec, 4, NULL), -EINVAL);
	/* Nor from a locker the hold is not in. */
	rec.locker = 4;
	rec.left = (const char(*)[KIOSK_BARCODE_MAX + 1]) left;
	rec.n_left = 1;
	assert_int_equal(store_record(f->s, &rec, 4, NULL), -EINVAL);
	assert_int_equal(store_get_hold(f->s, "h1", &got), 0);
	assert_int_equal(got.n_items, 2);

	rec.locker = 3;
	rec.left = (const char(*)[KIOSK_BARCODE_MAX + 1]) left;
	rec.n_left = 1;
	assert_int_equal(store_record(f->s, &rec, 4, NULL), 0);
	json_decref(last_payload(f, text, sizeof(text)));
	assert_string_equal(text, "{\"hold_id\":\"h1\","
				  "\"items\":[{\"barcode\":\"B0001\"}],"
				  "\"left\":[{\"barcode\":\"B0002\"}],"
				  "\"locker\":3}");
	assert_int_equal(store_get_hold(f->s, "h1", &got), 0);
	assert_int_equal(got.hold.state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(got.hold.locker, 3);
	assert_int_equal(got.n_items, 1);
	assert_int_equal(got.hold.n_items, 1);
	assert_string_equal(got.items[0].barcode, "B0002");

	/* The last book: the hold is finished, as in v1. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h1", 3, 5), 0);
	json_decref(last_payload(f, text, sizeof(text)));
	assert_string_equal(text, "{\"hold_id\":\"h1\","
				  "\"items\":[{\"barcode\":\"B0002\"}],"
				  "\"locker\":3}");
	assert_int_equal(store_get_hold(f->s, "h1", &got), 0);
	assert_int_equal(got.hold.state, KIOSK_HOLD_STATE_PICKED_UP);
}

static void add_hold_refuses_a_duplicate_id(void **state)
{
	struct fixture *f = *state;
	struct store_hold h;

	add_hold(f, "h1", 'a');
	make_hold(&h, "h1", 'b');
	snprintf(h.hold.patron_name, sizeof(h.hold.patron_name), "Budi");
	assert_int_equal(store_add_hold(f->s, &h), -EEXIST);
	assert_int_equal(store_get_hold(f->s, "h1", &h), 0);
	assert_string_equal(h.hold.patron_name, "Siti");
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_credentials"), 1);
}

static void add_hold_refuses_bad_values(void **state)
{
	struct fixture *f = *state;
	struct store_hold h, got;

	make_hold(&h, "h1", 'a');
	h.hold.credential_hmacs[0][5] = 'A';
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	h.hold.credential_hmacs[0][63] = '\0';
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	snprintf(h.hold.code_hmac, sizeof(h.hold.code_hmac), "code:1234");
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	h.hold.n_credentials = 2;
	fake_hmac(h.hold.credential_hmacs[1], 'a');
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	h.hold.n_credentials = KIOSK_HOLD_CREDENTIALS_MAX + 1;
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	h.n_items = STORE_ITEMS_MAX + 1;
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	h.items[1].barcode[0] = '\0';
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	snprintf(h.items[1].title, sizeof(h.items[1].title), "bad \xc3(");
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	h.hold.size = (enum kiosk_size)7;
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);

	make_hold(&h, "", 'a');
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h 1", 'a');
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);

	/* A hold is in a locker exactly while loaded or expired. */
	make_hold(&h, "h1", 'a');
	h.hold.locker = 2;
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	make_hold(&h, "h1", 'a');
	h.hold.state = KIOSK_HOLD_STATE_LOADED;
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
	h.hold.locker = TEST_LOCKERS + 1;
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);

	assert_int_equal(store_get_hold(f->s, "h1", &got), -ENOENT);
	assert_int_equal(db_int(f, "SELECT (SELECT count(*) FROM holds) +"
				   " (SELECT count(*) FROM hold_credentials) +"
				   " (SELECT count(*) FROM hold_items)"),
			 0);

	/* And a loaded hold with a free locker of its own is fine. */
	h.hold.locker = 2;
	assert_int_equal(store_add_hold(f->s, &h), 0);
	make_hold(&h, "h2", 'b');
	h.hold.state = KIOSK_HOLD_STATE_EXPIRED;
	h.hold.locker = 2;
	assert_int_equal(store_add_hold(f->s, &h), -EINVAL);
}

static void get_hold_returns_items_and_credentials(void **state)
{
	struct fixture *f = *state;
	struct store_hold h, got;

	make_hold(&h, "SLiMS-4711", 'c');
	h.hold.n_credentials = 2;
	fake_hmac(h.hold.credential_hmacs[1], '1');
	fake_hmac(h.hold.code_hmac, 'e');
	snprintf(h.hold.pin_hash, sizeof(h.hold.pin_hash),
		 "pbkdf2-sha256$1000$00$11");
	h.hold.size = KIOSK_SIZE_LARGE;
	h.n_items = 3;
	h.hold.n_items = 3;
	snprintf(h.items[2].barcode, sizeof(h.items[2].barcode), "B0003");
	snprintf(h.items[0].due, sizeof(h.items[0].due), "2026-12-13");
	h.hold.needs_low = true;
	assert_int_equal(store_add_hold(f->s, &h), 0);

	memset(&got, 0xff, sizeof(got));
	assert_int_equal(store_get_hold(f->s, "SLiMS-4711", &got), 0);
	assert_memory_equal(&got.hold, &h.hold, sizeof(h.hold));
	assert_int_equal(got.n_items, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_string_equal(got.items[i].barcode, h.items[i].barcode);
		assert_string_equal(got.items[i].title, h.items[i].title);
		assert_string_equal(got.items[i].due, h.items[i].due);
	}

	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(store_get_hold(f->s, "nope", &got), -ENOENT);
	assert_int_equal(got.n_items, 0x5a5a5a5a);
}

static void a_scanned_item_finds_its_pending_hold(void **state)
{
	struct fixture *f = *state;
	char id[KIOSK_HOLD_ID_MAX + 1] = "";

	/* Both list B0001 and B0002: the older hold comes first. */
	add_hold(f, "h2", 'a');
	add_hold(f, "h1", 'b');
	assert_int_equal(store_find_pending_hold_by_item(f->s, "B0002", id), 0);
	assert_string_equal(id, "h2");
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h2", 2, 1000), 0);
	assert_int_equal(store_find_pending_hold_by_item(f->s, "B0002", id), 0);
	assert_string_equal(id, "h1");
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 3, 1000), 0);
	assert_int_equal(store_find_pending_hold_by_item(f->s, "B0002", id),
			 -ENOENT);
	/* What was scanned may be a member number: never in the message. */
	assert_null(strstr(store_last_error(f->s), "B0002"));
	assert_int_equal(store_find_pending_hold_by_item(f->s, "B9", id),
			 -ENOENT);
}

struct hold_list {
	unsigned n, stop_after;
	char ids[8][KIOSK_HOLD_ID_MAX + 1];
};

static int collect_hold(const struct store_hold *h, void *userdata)
{
	struct hold_list *l = userdata;

	assert_true(l->n < 8);
	snprintf(l->ids[l->n++], sizeof(l->ids[0]), "%s", h->hold.id);
	assert_int_equal(h->n_items, 2);
	return l->stop_after && l->n == l->stop_after ? 9 : 0;
}

static void holds_are_listed_newest_first_up_to_the_limit(void **state)
{
	struct fixture *f = *state;
	struct hold_list l = { 0 };

	add_hold(f, "h1", 'a');
	add_hold(f, "h2", 'b');
	add_hold(f, "h3", 'c');
	add_hold(f, "h4", 'd');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h2", 1, 5), 0);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h2", 1, 6), 0);

	assert_int_equal(store_foreach_hold(f->s, 3, collect_hold, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.ids[0], "h4");
	assert_string_equal(l.ids[1], "h3");
	assert_string_equal(l.ids[2], "h2");

	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(store_foreach_hold(f->s, 10, collect_hold, &l), 9);
	assert_int_equal(l.n, 2);
	/* A stopped walk leaves no transaction open. */
	add_hold(f, "h5", 'e');
}

static void events_are_listed_oldest_first_up_to_the_limit(void **state)
{
	struct fixture *f = *state;
	struct events ev = { 0 };
	int64_t oldest = -1, newest = -1;

	for (int i = 1; i <= 5; i++)
		assert_int_equal(
			record(f, KIOSK_RECORD_DOOR_LEFT_OPEN, "", 1, i * 100),
			0);
	assert_int_equal(store_foreach_event(f->s, 3, collect_event, &ev), 0);
	assert_int_equal(ev.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ev.seq[i], i + 3);
		assert_int_equal(ev.at_usec[i], (i + 3) * 100);
	}
	events_clear(&ev);

	assert_int_equal(store_foreach_event(f->s, 0, collect_event, &ev), 0);
	assert_int_equal(ev.n, 0);

	ev.stop_after = 2;
	assert_int_equal(store_foreach_event(f->s, 5, collect_event, &ev), 7);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.seq[0], 1);
	events_clear(&ev);

	/* Unsent events come oldest first, from where the server stopped. */
	assert_int_equal(store_mark_sent(f->s, 2), 0);
	assert_int_equal(store_foreach_unsent(f->s, 2, collect_event, &ev), 0);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.seq[0], 3);
	assert_int_equal(ev.seq[1], 4);
	assert_false(ev.sent[0]);
	events_clear(&ev);
	assert_int_equal(store_foreach_event(f->s, 5, collect_event, &ev), 0);
	assert_true(ev.sent[0] && ev.sent[1] && !ev.sent[2]);
	events_clear(&ev);

	/* resend_events: sent ones only, in a range, oldest first. */
	assert_int_equal(store_get_sent_range(f->s, &oldest, &newest), 0);
	assert_int_equal(oldest, 1);
	assert_int_equal(newest, 2);
	assert_int_equal(
		store_foreach_sent_between(f->s, 2, 5, 10, collect_event, &ev),
		0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.seq[0], 2);
	assert_true(ev.sent[0]);
	events_clear(&ev);
	assert_int_equal(
		store_foreach_sent_between(f->s, 1, 2, 1, collect_event, &ev),
		0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.seq[0], 1);
	events_clear(&ev);
}

static void sent_events_older_than_the_retention_are_pruned(void **state)
{
	struct fixture *f = *state;
	const int64_t day_usec = 86400LL * 1000000LL;
	struct store_options opt = { .sent_keep_usec = 30 * day_usec };
	int64_t seq = 0, t0 = 1000 * day_usec;

	reopen(f, &opt);
	/*
	 * 100 events 40 days old, 90 of 20 days, then 10 more stamped 40
	 * days ago (a clock that jumped), the server having the first 190.
	 */
	while (seq < 100)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1,
					t0 - 40 * day_usec + ++seq),
				 0);
	while (seq < 190)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1,
					t0 - 20 * day_usec + ++seq),
				 0);
	assert_int_equal(store_mark_sent(f->s, 190), 0);
	while (seq < 200)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1,
					t0 - 40 * day_usec + ++seq),
				 0);
	while (seq < 255)
		assert_int_equal(
			record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, t0 + ++seq),
			0);
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, t0 + 256),
			 0);
	assert_int_equal(count_events(f), 256);
	/* Old and sent go, old unsent ones stay. */
	prune_all(f, 7, t0 + 256);
	assert_int_equal(count_events(f), 256 - 100);
	assert_int_equal(db_int(f, "SELECT min(seq) FROM outbox"), 101);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox WHERE sent = 0"
				   " AND seq BETWEEN 191 AND 200"),
			 10);
}

static void pruning_keeps_unsent_rows(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .sent_keep = 10 };
	struct events *ev = calloc(1, sizeof(*ev));
	int64_t seq = 0;

	assert_non_null(ev);
	reopen(f, &opt);
	while (seq < 200)
		assert_int_equal(
			record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, ++seq), 0);
	assert_int_equal(store_mark_sent(f->s, 150), 0);
	while (seq < 255)
		assert_int_equal(
			record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, ++seq), 0);
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, ++seq), 0);
	prune_all(f, 16, seq);

	all_events(f, ev);
	assert_int_equal(ev->n, 10 + 106);
	for (unsigned i = 0; i < ev->n; i++) {
		assert_int_equal(ev->seq[i], 141 + i);
		assert_int_equal(ev->sent[i], ev->seq[i] <= 150);
	}
	events_clear(ev);
	free(ev);
	assert_int_equal(unsent(f), 106);
	/* Seqs are never reused after pruning. */
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, ++seq), 0);
	assert_int_equal(db_int(f, "SELECT max(seq) FROM outbox"), 257);
}

static void finished_holds_past_the_retention_are_wiped_in_steps(void **state)
{
	struct fixture *f = *state;
	const int64_t day = 86400LL * 1000000LL;
	struct store_options opt = { .finished_keep_usec = 30 * day };
	enum store_put_result res;
	struct store_hold h;
	char id[8];

	reopen(f, &opt);
	/* h1-h3 picked up 40 days ago, h4 10 days ago, h5 still loaded. */
	for (unsigned i = 1; i <= 5; i++) {
		snprintf(id, sizeof(id), "h%u", i);
		add_hold(f, id, (char)('a' + i));
		assert_int_equal(
			record(f, KIOSK_RECORD_HOLD_LOADED, id, i, day), 0);
		if (i < 5)
			assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP,
						id, i,
						(i < 4 ? 20 : 50) * day + i),
					 0);
	}
	/* Two holds a step: h1 and h2, then h3; h4 and h5 are kept whole. */
	assert_int_equal(store_prune_step(f->s, 2, 60 * day), 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM holds WHERE wiped"),
			 2);
	prune_all(f, 2, 60 * day);
	assert_int_equal(db_int(f, "SELECT count(*) FROM holds WHERE wiped"),
			 3);
	for (unsigned i = 1; i <= 5; i++) {
		snprintf(id, sizeof(id), "h%u", i);
		assert_int_equal(store_get_hold(f->s, id, &h), 0);
		if (i <= 3) {
			/* Nothing of the patron or the books is left... */
			assert_int_equal(h.hold.n_credentials, 0);
			assert_int_equal(h.n_items, 0);
			assert_string_equal(h.hold.patron_name, "");
			assert_string_equal(h.hold.code_hmac, "");
			assert_string_equal(h.hold.pin_hash, "");
			/* ...but the hold is still known as picked up. */
			assert_int_equal(h.hold.state,
					 KIOSK_HOLD_STATE_PICKED_UP);
		} else {
			assert_int_equal(h.hold.n_credentials, 1);
			assert_int_equal(h.n_items, 2);
		}
	}
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_credentials"), 2);
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_items"), 4);
	/* The server sends a wiped hold again: still refused as finished. */
	make_hold(&h, "h1", 'f');
	assert_int_equal(store_put_hold(f->s, &h, &res), 0);
	assert_int_equal(res, STORE_PUT_KEPT);
	/* Without a retention in days nothing is wiped. */
	reopen(f, NULL);
	prune_all(f, 100, 600 * day);
	assert_int_equal(db_int(f, "SELECT count(*) FROM holds WHERE wiped"),
			 3);
	assert_int_equal(store_check_integrity(f->s), 0);
}

static void finished_holds_are_pruned_beyond_the_newest(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .finished_keep = 2 };
	char id[8];
	int64_t seq = 0;

	reopen(f, &opt);
	for (unsigned i = 1; i <= 5; i++) {
		snprintf(id, sizeof(id), "h%u", i);
		add_hold(f, id, (char)('a' + i));
		assert_int_equal(
			record(f, KIOSK_RECORD_HOLD_LOADED, id, i, 1000), 0);
		/* h3 was picked up last, after h4 and h5. */
		assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, id, i,
					i == 3 ? 9000 : 2000 + i),
				 0);
		seq += 2;
	}
	add_hold(f, "h6", '9');
	while (seq < 255)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1,
					3000 + ++seq),
				 0);
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, 4000), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM holds"), 6);
	/* One hold a step: the oldest beyond the newest two go first. */
	assert_int_equal(prune_all(f, 1, 4000), 4);
	assert_int_equal(db_int(f, "SELECT count(*) FROM holds"), 3);
	assert_int_equal(hold_state(f, "h3"), KIOSK_HOLD_STATE_PICKED_UP);
	assert_int_equal(hold_state(f, "h5"), KIOSK_HOLD_STATE_PICKED_UP);
	assert_int_equal(hold_state(f, "h6"), KIOSK_HOLD_STATE_PENDING);
	/* Their items and credentials went with them. */
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_items"), 6);
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_credentials"), 3);
	assert_int_equal(store_check_integrity(f->s), 0);
}

/*
 * Transactions committed to the database's WAL so far: its commit frames
 * of the current salt. A commit is what costs an fsync.
 */
static unsigned wal_commits(struct fixture *f)
{
	char path[PATH_MAX + 32];
	unsigned char hdr[32], frame[24];
	uint32_t page_size;
	unsigned n = 0;
	FILE *wal;

	snprintf(path, sizeof(path), "%s-wal", f->path);
	wal = fopen(path, "rb");
	if (!wal)
		return 0;
	assert_int_equal(fread(hdr, 1, sizeof(hdr), wal), sizeof(hdr));
	page_size =
		(uint32_t)hdr[8] << 24 | hdr[9] << 16 | hdr[10] << 8 | hdr[11];
	while (fread(frame, 1, sizeof(frame), wal) == sizeof(frame)) {
		/* A frame of an earlier generation of the file ends the log. */
		if (memcmp(frame + 8, hdr + 16, 8) != 0)
			break;
		/* Bytes 4-7: the database's size after a commit, else 0. */
		if (frame[4] | frame[5] | frame[6] | frame[7])
			n++;
		if (fseek(wal, page_size, SEEK_CUR) != 0)
			break;
	}
	fclose(wal);
	return n;
}

static void recording_never_prunes_on_the_way_to_a_pulse(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .sent_keep = 10 };

	reopen(f, &opt);
	/* Due at open: a kiosk back after a while prunes what aged. */
	assert_true(store_prune_due(f->s));
	prune_all(f, 100, 1);
	for (int i = 1; i <= 300; i++)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, i),
				 0);
	assert_int_equal(store_mark_sent(f->s, 300), 0);
	assert_true(store_prune_due(f->s));
	/* However many are due, a record (an unlock's too) deletes none. */
	for (int i = 301; i <= 600; i++)
		assert_int_equal(
			record(f, KIOSK_RECORD_LOCKER_UNLOCKED, "", 1, i),
			-EINVAL); /* no purpose: refused, writes nothing */
	for (int i = 301; i <= 600; i++)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, i),
				 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"), 600);
	prune_all(f, 1000, 601);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"), 10 + 300);
}

static void a_prune_step_deletes_no_more_than_asked(void **state)
{
	struct fixture *f = *state;
	struct store_options opt = { .sent_keep = 100, .finished_keep = 1 };
	int64_t left;
	int r;

	reopen(f, &opt);
	prune_all(f, 100, 1);
	assert_int_equal(
		db_exec(f->path,
			"WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL"
			"  SELECT n + 1 FROM i WHERE n < 5000)"
			" INSERT INTO outbox (uuid, type, at_usec, payload, sent)"
			"  SELECT printf('00000000-0000-4000-8000-%012d', n),"
			"  'door_closed', n, '{}', n <= 4000 FROM i;"),
		SQLITE_OK);
	reopen(f, &opt);
	/* 3,900 sent beyond the newest 100: 39 steps of 100 delete them. */
	left = 5000;
	for (int step = 1; step <= 39; step++) {
		r = store_prune_step(f->s, 100, 6000);
		assert_int_equal(r, 1);
		left -= 100;
		assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"),
				 left);
		/* The oldest first, never an unsent one. */
		assert_int_equal(db_int(f, "SELECT min(seq) FROM outbox"),
				 100 * step + 1);
	}
	assert_int_equal(store_prune_step(f->s, 100, 6000), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"), 1100);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"
				   " WHERE sent = 0"),
			 1000);
	assert_int_equal(unsent(f), 1000);
	assert_false(store_prune_due(f->s));
	assert_int_equal(store_prune_step(f->s, 0, 6000), -EINVAL);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_prune_step(f->s, 100, 6000), -EBUSY);
	store_rollback(f->s);
	assert_int_equal(store_check_integrity(f->s), 0);
}

static void a_sessions_unlocks_are_recorded_in_one_transaction(void **state)
{
	struct fixture *f = *state;
	struct kiosk_record recs[TEST_LOCKERS];
	const struct kiosk_record *ptrs[TEST_LOCKERS];
	char uuids[TEST_LOCKERS][STORE_UUID_LEN + 1];
	int errs[TEST_LOCKERS];
	unsigned commits;

	for (unsigned i = 0; i < TEST_LOCKERS; i++) {
		recs[i] = make_record(KIOSK_RECORD_LOCKER_UNLOCKED, "", i + 1);
		recs[i].purpose = KIOSK_PURPOSE_MAINTENANCE;
		recs[i].attempt = 1;
		ptrs[i] = &recs[i];
	}
	commits = wal_commits(f);
	assert_int_equal(
		store_record_batch(f->s, ptrs, TEST_LOCKERS, 77, uuids, errs),
		0);
	assert_int_equal(wal_commits(f), commits + 1);
	for (unsigned i = 0; i < TEST_LOCKERS; i++) {
		assert_int_equal(errs[i], 0);
		assert_int_equal(strlen(uuids[i]), STORE_UUID_LEN);
	}
	assert_int_equal(count_events(f), TEST_LOCKERS);
	assert_int_equal(unsent(f), TEST_LOCKERS);
	/* In the order given. */
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox o"
				   " WHERE json_extract(payload, '$.locker')"
				   " <> seq"),
			 0);

	/* One by one, each is a commit (and an fsync) of its own. */
	commits = wal_commits(f);
	for (unsigned i = 0; i < TEST_LOCKERS; i++)
		assert_int_equal(store_record(f->s, &recs[i], 78, NULL), 0);
	assert_int_equal(wal_commits(f), commits + TEST_LOCKERS);
}

static void a_refused_record_in_a_batch_writes_nothing_of_its_own(void **state)
{
	struct fixture *f = *state;
	struct kiosk_record recs[4];
	const struct kiosk_record *ptrs[4] = { &recs[0], &recs[1], &recs[2],
					       &recs[3] };
	char uuids[4][STORE_UUID_LEN + 1];
	int errs[4];
	unsigned commits;

	add_hold(f, "h1", 'a');
	recs[0] = make_record(KIOSK_RECORD_HOLD_LOADED, "h1", 2);
	/* A server command's, for a hold in no locker: refused by the schema
	 * after its command was noted, which must go too. */
	recs[1] = make_record(KIOSK_RECORD_HOLD_UNLOADED, "h1", 5);
	snprintf(recs[1].command, sizeof(recs[1].command), "c-1");
	/* Refused before any writing: no locker. */
	recs[2] = make_record(KIOSK_RECORD_DOOR_CLOSED, "", 0);
	recs[3] = make_record(KIOSK_RECORD_DOOR_CLOSED, "", 2);
	commits = wal_commits(f);
	assert_int_equal(store_record_batch(f->s, ptrs, 4, 90, uuids, errs), 0);
	assert_int_equal(wal_commits(f), commits + 1);
	assert_int_equal(errs[0], 0);
	assert_int_equal(errs[1], -EINVAL);
	assert_int_equal(errs[2], -EINVAL);
	assert_int_equal(errs[3], 0);
	assert_int_equal(count_events(f), 2);
	assert_int_equal(unsent(f), 2);
	assert_int_equal(store_command_is_done(f->s, "c-1"), 0);
	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_LOADED);
	/* The first refusal is the one told. */
	assert_non_null(strstr(store_last_error(f->s), "hold_unloaded"));

	/* All refused: no transaction committed at all. */
	commits = wal_commits(f);
	assert_int_equal(store_record_batch(f->s, &ptrs[2], 1, 91, uuids, errs),
			 0);
	assert_int_equal(errs[0], -EINVAL);
	assert_int_equal(wal_commits(f), commits);
	assert_int_equal(count_events(f), 2);
}

/* Waits for a job's thread; its result. */
static int job_wait(struct store_job *j, const char **ret_error)
{
	struct pollfd p = { .fd = store_job_get_fd(j), .events = POLLIN };
	int r;

	assert_int_equal(poll(&p, 1, 60000), 1);
	r = store_job_result(j, ret_error);
	assert_int_not_equal(r, -EINPROGRESS);
	return r;
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void checks_copies_and_checkpoints_run_on_a_thread(void **state)
{
	struct fixture *f = *state;
	char copy[PATH_MAX + 32], id[16];
	const char *why = NULL;
	struct store_job *j;
	struct store_hold h;
	off_t before;

	/* A few MB in one commit: SQLite would checkpoint in the commit. */
	before = file_size(f->path);
	assert_int_equal(store_begin(f->s), 0);
	for (unsigned i = 0; i < 8000; i++) {
		snprintf(id, sizeof(id), "h%u", i);
		make_hold(&h, id, 'a');
		memset(h.items[0].title, 'x', STORE_TITLE_MAX);
		h.items[0].title[STORE_TITLE_MAX] = '\0';
		assert_int_equal(store_add_hold(f->s, &h), 0);
	}
	assert_int_equal(store_commit(f->s), 0);
	assert_true(store_checkpoint_due(f->s));
	/* Still all in the WAL: nothing was copied on the caller's thread. */
	assert_int_equal(file_size(f->path), before);

	j = store_job_start(f->s, STORE_JOB_CHECKPOINT, NULL);
	assert_non_null(j);
	assert_int_equal(job_wait(j, &why), 0);
	store_job_free(j);
	assert_true(file_size(f->path) > before + 8000 * 256);
	/* Done: not due again before the WAL grows again. */
	assert_false(store_checkpoint_due(f->s));

	j = store_job_start(f->s, STORE_JOB_CHECK, NULL);
	assert_non_null(j);
	assert_int_equal(job_wait(j, &why), 0);
	store_job_free(j);

	snprintf(copy, sizeof(copy), "%s/copy.db", f->dir);
	j = store_job_start(f->s, STORE_JOB_BACKUP, copy);
	assert_non_null(j);
	/* The writer goes on while the copy is taken: WAL. */
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, 5), 0);
	assert_int_equal(job_wait(j, &why), 0);
	store_job_free(j);
	assert_int_equal(db_exec(copy, "PRAGMA quick_check"), SQLITE_OK);

	/* Never over a file. */
	j = store_job_start(f->s, STORE_JOB_BACKUP, copy);
	assert_non_null(j);
	assert_int_equal(job_wait(j, &why), -EEXIST);
	assert_non_null(strstr(why, "exists"));
	store_job_free(j);
	assert_null(store_job_start(f->s, STORE_JOB_BACKUP, NULL));
	assert_int_equal(errno, EINVAL);
	/* Freed before it is done: stopped, and nothing is left behind. */
	unlink(copy);
	j = store_job_start(f->s, STORE_JOB_BACKUP, copy);
	assert_non_null(j);
	store_job_free(j);
	store_job_free(NULL);
}

static void the_outbox_refuses_changes_to_recorded_events(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, 1), 0);
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, 2), 0);
	assert_int_equal(store_mark_sent(f->s, 1), 0);

	assert_int_not_equal(db_exec(f->path, "UPDATE outbox"
					      " SET payload = '{}'"),
			     SQLITE_OK);
	assert_int_not_equal(db_exec(f->path, "DELETE FROM outbox"
					      " WHERE seq = 2"),
			     SQLITE_OK);
	assert_int_not_equal(db_exec(f->path, "UPDATE outbox SET sent = 0"),
			     SQLITE_OK);
	assert_int_not_equal(db_exec(f->path,
				     "INSERT INTO outbox (uuid, type, at_usec,"
				     " payload) VALUES ('x', 'door_closed', 3,"
				     " '[]')"),
			     SQLITE_OK);
	/* Sent events may go. */
	assert_int_equal(db_exec(f->path, "DELETE FROM outbox WHERE seq = 1"),
			 SQLITE_OK);
	assert_int_equal(count_events(f), 1);
}

static void staff_are_replaced_and_checked(void **state)
{
	struct fixture *f = *state;
	struct kiosk_staff st = { .role = KIOSK_STAFF_ROLE_STAFF };

	fake_hmac(st.credential_hmac, '7');
	snprintf(st.pin_hash, sizeof(st.pin_hash), "pbkdf2-sha256$1$00$aa");
	assert_int_equal(store_put_staff(f->s, &st), 0);
	st.role = KIOSK_STAFF_ROLE_ADMIN;
	snprintf(st.pin_hash, sizeof(st.pin_hash), "pbkdf2-sha256$1$00$bb");
	assert_int_equal(store_put_staff(f->s, &st), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM staff"
				   " WHERE role = 'admin'"
				   " AND pin_hash LIKE '%$bb'"),
			 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM staff"), 1);

	st.credential_hmac[0] = 'X';
	assert_int_equal(store_put_staff(f->s, &st), -EINVAL);
	fake_hmac(st.credential_hmac, '8');
	st.pin_hash[0] = '\0';
	assert_int_equal(store_put_staff(f->s, &st), -EINVAL);
	snprintf(st.pin_hash, sizeof(st.pin_hash), "pbkdf2-sha256$1$00$cc");
	fake_hmac(st.credential_hmac, '8');
	st.role = (enum kiosk_staff_role)5;
	assert_int_equal(store_put_staff(f->s, &st), -EINVAL);
	assert_int_equal(db_int(f, "SELECT count(*) FROM staff"), 1);
}

static void lockers_are_ensured_once_and_bounded(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_ensure_lockers(f->s, 0), -EINVAL);
	assert_int_equal(store_ensure_lockers(f->s, KIOSK_LOCKERS_MAX + 1),
			 -EINVAL);
	assert_int_equal(record(f, KIOSK_RECORD_LOCKER_DISABLED, "", 2, 1), 0);
	assert_int_equal(store_ensure_lockers(f->s, TEST_LOCKERS), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM lockers"),
			 TEST_LOCKERS);
	/* Existing rows keep their state. */
	assert_int_equal(db_int(f, "SELECT disabled FROM lockers"
				   " WHERE number = 2"),
			 1);
	assert_int_equal(store_ensure_lockers(f->s, 12), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM lockers"), 12);
}

static void load_restores_holds_staff_and_lockers_into_a_core(void **state)
{
	struct fixture *f = *state;
	static const uint8_t key[32] = { 1, 2, 3 };
	struct kiosk_locker_config lockers[4];
	struct kiosk_config config = {
		.site_key = key,
		.site_key_len = sizeof(key),
		.n_lockers = 4,
		.lockers = lockers,
		.pin_max_attempts = 3,
		.pin_lockout_usec = 60000000,
		.session_timeout_usec = 30000000,
		.staff_session_timeout_usec = 120000000,
		.door_confirm_timeout_usec = 10000000,
		.door_left_open_usec = 60000000,
		.max_holds = 64,
	};
	struct kiosk_staff staff = { .role = KIOSK_STAFF_ROLE_STAFF };
	const struct kiosk_hold *kh;
	struct kiosk_locker_info info;
	struct kiosk_record rec;
	struct kiosk *k;

	for (unsigned i = 0; i < 4; i++)
		lockers[i] = (struct kiosk_locker_config){
			.size = KIOSK_SIZE_LARGE,
			.kind = i == 3 ? KIOSK_LOCKER_KIND_RETURN :
					 KIOSK_LOCKER_KIND_HOLD,
			.pulse_ms = 500,
		};
	add_hold(f, "h1", 'a');
	add_hold(f, "h2", 'b');
	add_hold(f, "h3", 'c');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 1, 100), 0);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h3", 2, 110), 0);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h3", 2, 120),
			 0);
	rec = make_record(KIOSK_RECORD_LOCKER_FAULT, "", 2);
	rec.fault = KIOSK_FAULT_NOT_OPENED;
	assert_int_equal(store_record(f->s, &rec, 130, NULL), 0);
	assert_int_equal(record(f, KIOSK_RECORD_LOCKER_DISABLED, "", 3, 140),
			 0);
	assert_int_equal(record(f, KIOSK_RECORD_RETURN_DEPOSITED, "", 4, 150),
			 0);
	assert_int_equal(credential_hmac(key, sizeof(key), "card:S-1",
					 staff.credential_hmac),
			 0);
	snprintf(staff.pin_hash, sizeof(staff.pin_hash),
		 "pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$"
		 "0011223344556677889900112233445566778899001122334455667788990"
		 "011");
	assert_int_equal(store_put_staff(f->s, &staff), 0);
	/* The guessing defence's state: h1's wrong PINs, the staff card's
	 * lock-out, the code budget, and rows of a finished hold (h3) and a
	 * hold forgotten since (h9), which load skips and pruning deletes. */
	{
		struct kiosk_guard g[] = {
			{ KIOSK_GUARD_KIND_HOLD, "h1", 2, 0 },
			{ KIOSK_GUARD_KIND_STAFF, "", 0, 5000 },
			{ KIOSK_GUARD_KIND_CODES, "", 0, 7000 },
			{ KIOSK_GUARD_KIND_HOLD, "h3", 1, 0 },
			{ KIOSK_GUARD_KIND_HOLD, "h9", 1, 0 },
			{ KIOSK_GUARD_KIND_HOLD, "h2", 1, 0 },
		};

		strcpy(g[1].key, staff.credential_hmac);
		for (unsigned i = 0; i < sizeof(g) / sizeof(g[0]); i++)
			assert_int_equal(store_put_guard(f->s, &g[i]), 0);
		/* Nothing to keep: the row goes. */
		g[5].failures = 0;
		assert_int_equal(store_put_guard(f->s, &g[5]), 0);
		g[0].failures = 1001;
		assert_int_equal(store_put_guard(f->s, &g[0]), -EINVAL);
	}
	assert_int_equal(db_int(f, "SELECT count(*) FROM guard"), 5);
	reopen(f, NULL);

	k = kiosk_new(&config);
	assert_non_null(k);
	assert_int_equal(store_load(f->s, k), 0);
	assert_int_equal(kiosk_get_hold(k, "h1")->pin_failures, 2);
	assert_int_equal(kiosk_get_hold(k, "h2")->pin_failures, 0);
	prune_all(f, 100, 1000);
	assert_int_equal(db_int(f, "SELECT count(*) FROM guard"), 3);
	assert_int_equal(db_int(f, "SELECT count(*) FROM guard WHERE"
				   " key IN ('h3', 'h9')"),
			 0);

	kh = kiosk_get_hold(k, "h1");
	assert_non_null(kh);
	assert_int_equal(kh->state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(kh->locker, 1);
	assert_int_equal(kh->loaded_at_usec, 100);
	assert_int_equal(kh->n_credentials, 1);
	kh = kiosk_get_hold(k, "h2");
	assert_non_null(kh);
	assert_int_equal(kh->state, KIOSK_HOLD_STATE_PENDING);
	assert_null(kiosk_get_hold(k, "h3"));

	assert_int_equal(kiosk_get_locker(k, 1, &info), 0);
	assert_string_equal(info.hold_id, "h1");
	assert_false(info.disabled);
	assert_int_equal(kiosk_get_locker(k, 2, &info), 0);
	assert_string_equal(info.hold_id, "");
	assert_int_equal(info.fault, KIOSK_FAULT_NOT_OPENED);
	assert_int_equal(kiosk_get_locker(k, 3, &info), 0);
	assert_true(info.disabled);
	assert_int_equal(kiosk_get_locker(k, 4, &info), 0);
	assert_int_equal(info.returns, 1);
	/* The core knows the staff card: a tap asks for the staff PIN. */
	{
		struct kiosk_actions *acts = calloc(1, sizeof(*acts));
		struct kiosk_input in = { .type = KIOSK_INPUT_START };

		assert_non_null(acts);
		assert_int_equal(kiosk_handle(k, &in, acts), 0);
		acts->n = 0;
		in.type = KIOSK_INPUT_CREDENTIAL;
		in.credential = "card:S-1";
		/* Locked out until 5000, as saved. */
		in.wall_usec = 4999;
		assert_int_equal(kiosk_handle(k, &in, acts), 0);
		assert_int_equal(kiosk_get_screen(k)->screen,
				 KIOSK_SCREEN_LOCKED_OUT);
		acts->n = 0;
		in.wall_usec = 5000;
		assert_int_equal(kiosk_handle(k, &in, acts), 0);
		assert_int_equal(kiosk_get_screen(k)->screen,
				 KIOSK_SCREEN_STAFF_PIN);
		free(acts);
	}
	kiosk_free(k);
}

/*
 * Feeds one input to the core and makes every RECORD it returns durable,
 * as lokerd does; returns the locker of the last UNLOCK, or 0.
 */
static unsigned feed(struct fixture *f, struct kiosk *k, struct kiosk_input *in,
		     unsigned *n_records)
{
	static struct kiosk_actions actions;
	unsigned unlocked = 0;

	in->now_usec += 1000;
	in->wall_usec += 1000;
	actions.n = 0;
	assert_int_equal(kiosk_handle(k, in, &actions), 0);
	for (unsigned i = 0; i < actions.n; i++) {
		const struct kiosk_action *a = &actions.a[i];

		switch (a->type) {
		case KIOSK_ACTION_RECORD:
			if (store_record(f->s, &a->record, in->wall_usec,
					 NULL) < 0)
				fail_msg("%s: %s",
					 kiosk_record_type_to_string(
						 a->record.type),
					 store_last_error(f->s));
			(*n_records)++;
			break;
		case KIOSK_ACTION_UNLOCK:
			unlocked = a->locker;
			break;
		case KIOSK_ACTION_GUARD:
			assert_int_equal(store_put_guard(f->s, &a->guard), 0);
			break;
		case KIOSK_ACTION_TIMER_ARM:
		case KIOSK_ACTION_TIMER_DISARM:
		case KIOSK_ACTION_SCREEN:
		case KIOSK_ACTION_PIN_CHECK:
		case KIOSK_ACTION_OPENING_DROPPED:
			break;
		}
	}
	return unlocked;
}

static void records_from_the_core_are_accepted_and_applied(void **state)
{
	struct fixture *f = *state;
	static const uint8_t key[] = "site key of the test kiosk";
	struct kiosk_locker_config lockers[2] = {
		{ KIOSK_SIZE_MEDIUM, KIOSK_LOCKER_KIND_HOLD, 500, false },
		{ KIOSK_SIZE_LARGE, KIOSK_LOCKER_KIND_HOLD, 500, false },
	};
	struct kiosk_config config = {
		.site_key = key,
		.site_key_len = sizeof(key) - 1,
		.n_lockers = 2,
		.lockers = lockers,
		.pin_max_attempts = 3,
		.pin_lockout_usec = 60000000,
		.session_timeout_usec = 30000000,
		.staff_session_timeout_usec = 120000000,
		.door_confirm_timeout_usec = 10000000,
		.door_left_open_usec = 60000000,
		.max_holds = 16,
	};
	struct kiosk_input in = { .wall_usec = 1700000000000000 };
	struct store_hold h;
	struct events ev;
	unsigned n = 0, locker;
	struct kiosk *k;

	make_hold(&h, "h1", 'a');
	h.hold.expires_at_usec = in.wall_usec + 86400000000;
	assert_int_equal(credential_hmac(key, sizeof(key) - 1, "card:12345",
					 h.hold.credential_hmacs[0]),
			 0);
	assert_int_equal(store_add_hold(f->s, &h), 0);
	k = kiosk_new(&config);
	assert_non_null(k);
	assert_int_equal(store_load(f->s, k), 0);
	in.type = KIOSK_INPUT_START;
	feed(f, k, &in, &n);

	/* Staff load it through the service path. */
	in = (struct kiosk_input){ .type = KIOSK_INPUT_LOAD,
				   .now_usec = in.now_usec,
				   .wall_usec = in.wall_usec,
				   .service = true,
				   .hold_id = "h1" };
	locker = feed(f, k, &in, &n);
	assert_int_not_equal(locker, 0);
	in = (struct kiosk_input){ .type = KIOSK_INPUT_DOOR,
				   .now_usec = in.now_usec,
				   .wall_usec = in.wall_usec,
				   .locker = locker,
				   .door_open = true };
	feed(f, k, &in, &n);
	in.door_open = false;
	feed(f, k, &in, &n);
	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_LOADED);

	/* The patron taps the card and takes the books. */
	in = (struct kiosk_input){ .type = KIOSK_INPUT_CREDENTIAL,
				   .now_usec = in.now_usec,
				   .wall_usec = in.wall_usec,
				   .credential = "card:12345" };
	assert_int_equal(feed(f, k, &in, &n), locker);
	in = (struct kiosk_input){ .type = KIOSK_INPUT_DOOR,
				   .now_usec = in.now_usec,
				   .wall_usec = in.wall_usec,
				   .locker = locker,
				   .door_open = true };
	feed(f, k, &in, &n);
	in.door_open = false;
	feed(f, k, &in, &n);
	kiosk_free(k);

	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_PICKED_UP);
	all_events(f, &ev);
	assert_int_equal(ev.n, n);
	assert_true(n >= 4);
	assert_string_equal(ev.type[0], "locker_unlocked");
	assert_string_equal(ev.type[1], "hold_loaded");
	assert_string_equal(ev.type[2], "locker_unlocked");
	assert_string_equal(ev.type[3], "hold_picked_up");
	assert_non_null(strstr(ev.payload[2], "\"purpose\":\"pickup\""));
	assert_non_null(strstr(ev.payload[3], "\"barcode\":\"B0001\""));
	events_clear(&ev);
}

static void integrity_check_passes_on_a_healthy_database(void **state)
{
	struct fixture *f = *state;

	add_hold(f, "h1", 'a');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 1, 1), 0);
	assert_int_equal(store_check_integrity(f->s), 0);
}

static void free_accepts_null(void **state)
{
	store_free(NULL);
}

/* ---- sync with the library's server ---- */

static void
the_servers_copy_replaces_a_pending_hold_and_only_dates_a_loaded_one(
	void **state)
{
	struct fixture *f = *state;
	enum store_put_result res;
	struct store_hold h, got;

	make_hold(&h, "h1", 'a');
	assert_int_equal(store_put_hold(f->s, &h, &res), 0);
	assert_int_equal(res, STORE_PUT_ADDED);

	/* Sent again, changed: one item, another card, a code, no name. */
	h.n_items = 1;
	snprintf(h.items[0].barcode, sizeof(h.items[0].barcode), "B0009");
	fake_hmac(h.hold.credential_hmacs[0], 'b');
	fake_hmac(h.hold.code_hmac, 'c');
	h.hold.patron_name[0] = '\0';
	h.hold.size = KIOSK_SIZE_LARGE;
	assert_int_equal(store_put_hold(f->s, &h, &res), 0);
	assert_int_equal(res, STORE_PUT_REPLACED);
	assert_int_equal(store_get_hold(f->s, "h1", &got), 0);
	assert_int_equal(got.n_items, 1);
	assert_string_equal(got.items[0].barcode, "B0009");
	assert_int_equal(got.hold.n_credentials, 1);
	assert_int_equal(got.hold.credential_hmacs[0][0], 'b');
	assert_int_equal(got.hold.code_hmac[0], 'c');
	assert_string_equal(got.hold.patron_name, "");
	assert_int_equal(got.hold.size, KIOSK_SIZE_LARGE);
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_items"), 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_credentials"), 1);

	/* Loaded: the kiosk's state stands, only the expiry moves. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 2, 100), 0);
	h.hold.expires_at_usec = 123456789;
	h.n_items = 2;
	assert_int_equal(store_put_hold(f->s, &h, &res), 0);
	assert_int_equal(res, STORE_PUT_EXPIRY_UPDATED);
	assert_int_equal(store_get_hold(f->s, "h1", &got), 0);
	assert_int_equal(got.hold.state, KIOSK_HOLD_STATE_LOADED);
	assert_int_equal(got.hold.locker, 2);
	assert_int_equal(got.n_items, 1);
	assert_int_equal(got.hold.expires_at_usec, 123456789);

	/* Picked up: the server's late copy is ignored. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_PICKED_UP, "h1", 2, 200),
			 0);
	assert_int_equal(store_put_hold(f->s, &h, &res), 0);
	assert_int_equal(res, STORE_PUT_KEPT);
	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_PICKED_UP);

	/* Only pending copies come from a server. */
	h.hold.state = KIOSK_HOLD_STATE_LOADED;
	h.hold.locker = 3;
	assert_int_equal(store_put_hold(f->s, &h, &res), -EINVAL);
}

static void only_pending_holds_and_known_staff_are_removed(void **state)
{
	struct fixture *f = *state;
	struct kiosk_staff st = { .role = KIOSK_STAFF_ROLE_STAFF };

	add_hold(f, "h1", 'a');
	add_hold(f, "h2", 'b');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h2", 1, 100), 0);
	assert_int_equal(store_remove_pending_hold(f->s, "h1"), 0);
	assert_int_equal(store_remove_pending_hold(f->s, "h1"), -ENOENT);
	assert_int_equal(store_remove_pending_hold(f->s, "h2"), -EBUSY);
	assert_int_equal(hold_state(f, "h2"), KIOSK_HOLD_STATE_LOADED);
	/* Its items and credentials went with it. */
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_items"
				   " WHERE hold_id = 'h1'"),
			 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_credentials"
				   " WHERE hold_id = 'h1'"),
			 0);

	fake_hmac(st.credential_hmac, 'e');
	assert_int_equal(credential_pin_hash("1357", 1000, st.pin_hash), 0);
	assert_int_equal(store_put_staff(f->s, &st), 0);
	assert_int_equal(store_remove_staff(f->s, st.credential_hmac), 0);
	assert_int_equal(store_remove_staff(f->s, st.credential_hmac), -ENOENT);
}

static void sync_values_keep_the_cursor_across_reopening(void **state)
{
	struct fixture *f = *state;
	char v[16] = "untouched";

	assert_int_equal(store_get_sync_value(f->s, "cursor", v, sizeof(v)),
			 -ENOENT);
	assert_int_equal(store_set_sync_value(f->s, "cursor", "s:41:ab"), 0);
	assert_int_equal(store_set_sync_value(f->s, "cursor", "s:42:ab"), 0);
	reopen(f, NULL);
	assert_int_equal(store_get_sync_value(f->s, "cursor", v, sizeof(v)), 0);
	assert_string_equal(v, "s:42:ab");
	assert_int_equal(store_get_sync_value(f->s, "cursor", v, 4), -ENOBUFS);
	assert_string_equal(v, "s:42:ab");
	assert_int_equal(store_set_sync_value(f->s, "Cursor!", "x"), -EINVAL);
	assert_int_equal(store_delete_sync_value(f->s, "cursor"), 0);
	assert_int_equal(store_delete_sync_value(f->s, "cursor"), -ENOENT);
}

static int collect_id(const char *id, void *userdata)
{
	char *all = userdata;

	strcat(all, id);
	strcat(all, " ");
	return 0;
}

static void a_full_set_finds_the_pending_holds_and_staff_it_lacks(void **state)
{
	struct fixture *f = *state;
	struct kiosk_staff st = { .role = KIOSK_STAFF_ROLE_STAFF };
	char hmac_e[CREDENTIAL_HMAC_HEX_LEN + 1], all[512] = "";

	add_hold(f, "h1", 'a');
	add_hold(f, "h2", 'a');
	add_hold(f, "h3", 'a');
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h3", 1, 100), 0);
	fake_hmac(st.credential_hmac, 'e');
	memcpy(hmac_e, st.credential_hmac, sizeof(hmac_e));
	assert_int_equal(credential_pin_hash("1357", 1000, st.pin_hash), 0);
	assert_int_equal(store_put_staff(f->s, &st), 0);
	fake_hmac(st.credential_hmac, 'f');
	assert_int_equal(store_put_staff(f->s, &st), 0);

	assert_int_equal(store_full_seen_clear(f->s), 0);
	assert_int_equal(store_full_seen_add(f->s, STORE_KIND_HOLD, "h2"), 0);
	assert_int_equal(store_full_seen_add(f->s, STORE_KIND_HOLD, "h2"), 0);
	assert_int_equal(store_full_seen_add(f->s, STORE_KIND_STAFF, hmac_e),
			 0);
	/* h3 is loaded: a full set does not take it away. */
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_HOLD, "", 100,
					      collect_id, all),
			 0);
	assert_string_equal(all, "h1 ");
	all[0] = '\0';
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_STAFF, "", 100,
					      collect_id, all),
			 0);
	assert_int_equal(strlen(all), CREDENTIAL_HMAC_HEX_LEN + 1);
	assert_int_equal(all[0], 'f');
	assert_int_equal(store_full_seen_clear(f->s), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM full_seen"), 0);
}

static void a_transaction_applies_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	struct store_hold h;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_begin(f->s), -EBUSY);
	make_hold(&h, "h1", 'a');
	assert_int_equal(store_put_hold(f->s, &h, NULL), 0);
	assert_int_equal(store_set_sync_value(f->s, "cursor", "c1"), 0);
	/* Recording an event would escape the transaction: refused. */
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, 1), -EBUSY);
	store_rollback(f->s);
	assert_int_equal(db_int(f, "SELECT count(*) FROM holds"), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM sync_state"
				   " WHERE key = 'cursor'"),
			 0);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_put_hold(f->s, &h, NULL), 0);
	assert_int_equal(store_set_sync_value(f->s, "cursor", "c1"), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM holds"), 1);
	assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, 1), 0);
}

struct refusals {
	unsigned n;
	struct store_refusal first;
};

static int count_refusal(const struct store_refusal *r, void *userdata)
{
	struct refusals *rs = userdata;

	if (rs->n++ == 0)
		rs->first = *r;
	return 0;
}

/* v1.1: accepted, refused by the library system: kept, bounded, counted. */
static void refusals_are_kept_for_staff(void **state)
{
	struct fixture *f = *state;
	struct store_sent_mark mark;
	struct refusals rs = { 0 };
	struct events ev;
	uint64_t refused = 99, gen;
	const unsigned n = STORE_REFUSALS_MAX + 6;

	for (unsigned i = 0; i < n; i++)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, i),
				 0);
	all_events(f, &ev);
	assert_int_equal(ev.n, n);
	assert_int_equal(store_count_refused(f->s, &refused), 0);
	assert_int_equal(refused, 0);
	/* A plain answer changes nothing anyone shows; a refusal does. */
	gen = store_get_generation(f->s);
	mark = (struct store_sent_mark){ .uuid = ev.uuid[0] };
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL), 0);
	assert_int_equal(store_get_generation(f->s), gen);
	mark = (struct store_sent_mark){ .uuid = ev.uuid[1],
					 .refused_code = "Loan limit" };
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL), -EINVAL);
	mark = (struct store_sent_mark){ .uuid = ev.uuid[1],
					 .refused_code = "loan_limit",
					 .refused_text = "Batas pinjam" };
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL), 0);
	assert_true(store_get_generation(f->s) != gen);
	/* Again (an answer repeated): nothing counted twice. */
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL), 0);
	assert_int_equal(store_count_refused(f->s, &refused), 0);
	assert_int_equal(refused, 1);
	assert_int_equal(store_foreach_refusal(f->s, count_refusal, &rs), 0);
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.first.uuid, ev.uuid[1]);
	assert_string_equal(rs.first.type, "door_closed");
	assert_string_equal(rs.first.hold_id, "");
	assert_string_equal(rs.first.code, "loan_limit");
	assert_string_equal(rs.first.text, "Batas pinjam");
	assert_true(rs.first.event_seq > 0);
	assert_true(rs.first.at_usec > 0);
	/* The newest STORE_REFUSALS_MAX are kept; all are counted. */
	for (unsigned i = 2; i < n; i++) {
		mark = (struct store_sent_mark){ .uuid = ev.uuid[i],
						 .refused_code =
							 "member_expired" };
		assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL),
				 0);
	}
	assert_int_equal(store_count_refused(f->s, &refused), 0);
	assert_int_equal(refused, n - 1);
	rs.n = 0;
	assert_int_equal(store_foreach_refusal(f->s, count_refusal, &rs), 0);
	assert_int_equal(rs.n, STORE_REFUSALS_MAX);
	assert_string_equal(rs.first.uuid, ev.uuid[n - 1]);
	assert_string_equal(rs.first.text, "");
	/* The count and the refusals outlive a reopen. */
	reopen(f, NULL);
	assert_int_equal(store_count_refused(f->s, &refused), 0);
	assert_int_equal(refused, n - 1);
	events_clear(&ev);
}

static void the_servers_answers_mark_events_one_by_one(void **state)
{
	struct fixture *f = *state;
	struct events ev;
	struct store_sent_mark marks[4];
	uint64_t rejected = 99;
	unsigned marked = 99;

	for (int i = 0; i < 4; i++)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, i),
				 0);
	all_events(f, &ev);
	assert_int_equal(ev.n, 4);
	/* The second is accepted, the fourth rejected; the rest unanswered. */
	marks[0] = (struct store_sent_mark){ .uuid = ev.uuid[1],
					     .rejected = NULL };
	marks[1] = (struct store_sent_mark){ .uuid = ev.uuid[3],
					     .rejected = "unknown_hold" };
	marks[2] = (struct store_sent_mark){
		.uuid = "00000000-0000-4000-8000-000000000000", .rejected = NULL
	};
	assert_int_equal(store_mark_events_sent(f->s, marks, 3, &marked), 0);
	assert_int_equal(marked, 2);
	assert_int_equal(unsent(f), 2);
	assert_int_equal(store_count_rejected(f->s, &rejected), 0);
	assert_int_equal(rejected, 1);
	/* Again: nothing changes twice. */
	assert_int_equal(store_mark_events_sent(f->s, marks, 2, &marked), 0);
	assert_int_equal(marked, 0);
	assert_int_equal(store_count_rejected(f->s, &rejected), 0);
	assert_int_equal(rejected, 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox WHERE"
				   " rejected = 'unknown_hold' AND sent = 1"),
			 1);
	marks[3] =
		(struct store_sent_mark){ .uuid = ev.uuid[0], .rejected = "" };
	assert_int_equal(store_mark_events_sent(f->s, &marks[3], 1, NULL),
			 -EINVAL);
	events_clear(&ev);

	/* The count outlives the events: pruning keeps no rejected row. */
	reopen(f, &(struct store_options){ .sent_keep = 1 });
	for (int i = 0; i < 300; i++)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, i),
				 0);
	assert_int_equal(store_mark_sent(f->s, INT64_MAX), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, i),
				 0);
	prune_all(f, 1000, 300);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox WHERE"
				   " rejected IS NOT NULL"),
			 0);
	assert_int_equal(store_count_rejected(f->s, &rejected), 0);
	assert_int_equal(rejected, 1);
}

static int collect_command(const char *id, void *userdata)
{
	return collect_id(id, userdata);
}

static void a_server_command_is_recorded_once_and_acknowledged(void **state)
{
	struct fixture *f = *state;
	struct kiosk_record rec =
		make_record(KIOSK_RECORD_LOCKER_UNLOCKED, "", 3);
	char text[512], all[256] = "";
	json_t *o;

	rec.purpose = KIOSK_PURPOSE_MAINTENANCE;
	rec.attempt = 1;
	snprintf(rec.actor, sizeof(rec.actor), "service");
	snprintf(rec.command, sizeof(rec.command), "c-1");
	assert_int_equal(store_command_is_done(f->s, "c-1"), 0);
	assert_int_equal(store_record(f->s, &rec, 1000, NULL), 0);
	assert_int_equal(store_command_is_done(f->s, "c-1"), 1);
	o = last_payload(f, text, sizeof(text));
	assert_string_equal(json_string_value(json_object_get(o, "command")),
			    "c-1");
	json_decref(o);
	/* The same command again: refused, nothing written, no pulse. */
	assert_int_equal(store_record(f->s, &rec, 2000, NULL), -EALREADY);
	assert_int_equal(count_events(f), 1);
	assert_int_equal(unsent(f), 1);

	/* One without an event of its own: command_done, naming what. */
	rec = make_record(KIOSK_RECORD_COMMAND_DONE, "H-404", 99);
	snprintf(rec.command, sizeof(rec.command), "c-2");
	snprintf(rec.result, sizeof(rec.result), "no_such_locker");
	assert_int_equal(store_record(f->s, &rec, 3000, NULL), 0);
	o = last_payload(f, text, sizeof(text));
	assert_string_equal(text, "{\"command\":\"c-2\",\"hold_id\":"
				  "\"H-404\",\"locker\":99,\"result\":"
				  "\"no_such_locker\"}");
	json_decref(o);
	rec.result[0] = '\0';
	snprintf(rec.command, sizeof(rec.command), "c-3");
	assert_int_equal(store_record(f->s, &rec, 3000, NULL), -EINVAL);

	assert_int_equal(
		store_foreach_unacked_command(f->s, 10, collect_command, all),
		0);
	assert_string_equal(all, "c-1 c-2 ");
	assert_int_equal(store_ack_command(f->s, "c-1"), 0);
	assert_int_equal(store_ack_command(f->s, "c-9"), -ENOENT);
	all[0] = '\0';
	assert_int_equal(
		store_foreach_unacked_command(f->s, 10, collect_command, all),
		0);
	assert_string_equal(all, "c-2 ");
	/* Acknowledged, but still done: never carried out again. */
	assert_int_equal(store_command_is_done(f->s, "c-1"), 1);
}

/* Every table, index and trigger with its SQL, in one string. */
static void db_schema(const char *path, char *ret, size_t n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t len = 0;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db,
				   "SELECT type || ' ' || name || ': '"
				   " || ifnull(sql, '') FROM"
				   " sqlite_schema ORDER BY type, name",
				   -1, &st, NULL),
		SQLITE_OK);
	ret[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);

		len += (size_t)snprintf(ret + len, n - len, "%s\n", row);
		assert_true(len < n);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A kiosk updated from schema 2: its outbox is kept and the count right. */
static void migrates_a_version_2_database_keeping_its_outbox(void **state)
{
	struct fixture *f = *state;
	char fresh_path[PATH_MAX + 32];
	static char fresh[32768], migrated[32768];
	struct store_sent_mark mark;
	struct store *fresh_store;
	struct events ev;
	uint64_t n = 99;
	unsigned marked = 0;

	add_hold(f, "h1", 'a');
	for (int i = 0; i < 3; i++)
		assert_int_equal(record(f, KIOSK_RECORD_DOOR_CLOSED, "", 1, i),
				 0);
	assert_int_equal(store_mark_sent(f->s, 1), 0);
	store_free(f->s);
	f->s = NULL;
	/* What version 2 was: schema 1 and the barcode index, nothing later. */
	assert_int_equal(db_exec(f->path,
				 "ALTER TABLE hold_items DROP COLUMN due;"
				 "ALTER TABLE holds DROP COLUMN needs_low;"
				 "DROP TABLE refusals;"
				 "DROP TRIGGER hold_wipe;"
				 "DROP INDEX holds_unwiped;"
				 "ALTER TABLE holds DROP COLUMN wiped;"
				 "DROP TABLE guard;"
				 "DROP INDEX outbox_sent;"
				 "DROP TABLE sync_state;"
				 "DROP TABLE full_seen;"
				 "DROP TABLE commands;"
				 "ALTER TABLE outbox DROP COLUMN rejected;"
				 "PRAGMA user_version = 2"),
			 SQLITE_OK);
	assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_schema WHERE"
				   " name = 'hold_items_barcode'"),
			 1);

	reopen(f, NULL);
	assert_int_equal(db_int(f, "PRAGMA user_version"),
			 STORE_SCHEMA_VERSION);
	/* The same schema as a kiosk installed at the newest version. */
	snprintf(fresh_path, sizeof(fresh_path), "%s/fresh.db", f->dir);
	fresh_store = store_open(fresh_path, NULL);
	assert_non_null(fresh_store);
	store_free(fresh_store);
	db_schema(fresh_path, fresh, sizeof(fresh));
	db_schema(f->path, migrated, sizeof(migrated));
	assert_non_null(strstr(fresh, "table commands: CREATE TABLE"));
	assert_non_null(strstr(fresh, "rejected TEXT"));
	assert_string_equal(migrated, fresh);

	/* The old events: two unsent, none rejected, still answerable. */
	assert_int_equal(unsent(f), 2);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"
				   " WHERE rejected IS NOT NULL"),
			 0);
	assert_int_equal(store_count_rejected(f->s, &n), 0);
	assert_int_equal(n, 0);
	all_events(f, &ev);
	assert_int_equal(ev.n, 3);
	mark = (struct store_sent_mark){ .uuid = ev.uuid[2],
					 .rejected = "invalid" };
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, &marked), 0);
	assert_int_equal(marked, 1);
	assert_int_equal(unsent(f), 1);
	assert_int_equal(store_count_rejected(f->s, &n), 0);
	assert_int_equal(n, 1);
	events_clear(&ev);
	assert_int_equal(store_command_is_done(f->s, "c-1"), 0);
	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(store_check_integrity(f->s), 0);
}

static void
the_servers_copy_dates_an_expired_hold_and_keeps_its_birth(void **state)
{
	struct fixture *f = *state;
	enum store_put_result res;
	struct store_hold h, got;

	add_hold(f, "h1", 'a');
	assert_int_equal(db_exec(f->path, "UPDATE holds SET created_at_usec"
					  " = 42 WHERE id = 'h1'"),
			 SQLITE_OK);
	make_hold(&h, "h1", 'b');
	assert_int_equal(store_put_hold(f->s, &h, &res), 0);
	assert_int_equal(res, STORE_PUT_REPLACED);
	assert_int_equal(db_int(f, "SELECT created_at_usec FROM holds"
				   " WHERE id = 'h1'"),
			 42);

	assert_int_equal(record(f, KIOSK_RECORD_HOLD_LOADED, "h1", 2, 100), 0);
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_EXPIRED, "h1", 2, 200), 0);
	h.hold.expires_at_usec = 987654321;
	assert_int_equal(store_put_hold(f->s, &h, &res), 0);
	assert_int_equal(res, STORE_PUT_EXPIRY_UPDATED);
	assert_int_equal(store_get_hold(f->s, "h1", &got), 0);
	assert_int_equal(got.hold.state, KIOSK_HOLD_STATE_EXPIRED);
	assert_int_equal(got.hold.locker, 2);
	assert_int_equal(got.hold.expires_at_usec, 987654321);
	assert_int_equal(store_remove_pending_hold(f->s, "h1"), -EBUSY);

	/* Unloaded: finished here, so kept as it is. */
	assert_int_equal(record(f, KIOSK_RECORD_HOLD_UNLOADED, "h1", 2, 300),
			 0);
	h.hold.expires_at_usec = 5;
	assert_int_equal(store_put_hold(f->s, &h, &res), 0);
	assert_int_equal(res, STORE_PUT_KEPT);
	assert_int_equal(store_get_hold(f->s, "h1", &got), 0);
	assert_int_equal(got.hold.state, KIOSK_HOLD_STATE_UNLOADED);
	assert_int_equal(got.hold.expires_at_usec, 987654321);
	assert_int_equal(store_remove_pending_hold(f->s, "h1"), -EBUSY);
}

static void
a_transaction_refuses_what_would_escape_it_and_undoes_removals(void **state)
{
	struct fixture *f = *state;
	struct kiosk_staff st = { .role = KIOSK_STAFF_ROLE_STAFF };
	struct kiosk_record rec = make_record(KIOSK_RECORD_COMMAND_DONE, "", 0);
	struct store_sent_mark mark = { .uuid = NULL, .rejected = NULL };
	struct events ev;
	char v[16];

	assert_int_equal(store_commit(f->s), -EINVAL);
	add_hold(f, "h1", 'a');
	fake_hmac(st.credential_hmac, 'e');
	assert_int_equal(credential_pin_hash("1357", 1000, st.pin_hash), 0);
	assert_int_equal(store_put_staff(f->s, &st), 0);
	assert_int_equal(store_set_sync_value(f->s, "cursor", "c1"), 0);
	snprintf(rec.command, sizeof(rec.command), "c-1");
	snprintf(rec.result, sizeof(rec.result), "done");
	assert_int_equal(store_record(f->s, &rec, 1, NULL), 0);
	all_events(f, &ev);
	mark.uuid = ev.uuid[0];

	assert_int_equal(store_begin(f->s), 0);
	/* These keep the unsent count, which a rollback would not undo. */
	assert_int_equal(store_mark_sent(f->s, INT64_MAX), -EBUSY);
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL), -EBUSY);
	assert_int_equal(store_remove_pending_hold(f->s, "h1"), 0);
	assert_int_equal(store_remove_staff(f->s, st.credential_hmac), 0);
	assert_int_equal(store_delete_sync_value(f->s, "cursor"), 0);
	assert_int_equal(store_full_seen_add(f->s, STORE_KIND_HOLD, "h1"), 0);
	assert_int_equal(store_ack_command(f->s, "c-1"), 0);
	store_rollback(f->s);

	assert_int_equal(hold_state(f, "h1"), KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(db_int(f, "SELECT count(*) FROM hold_items"), 2);
	assert_int_equal(db_int(f, "SELECT count(*) FROM staff"), 1);
	assert_int_equal(store_get_sync_value(f->s, "cursor", v, sizeof(v)), 0);
	assert_string_equal(v, "c1");
	assert_int_equal(db_int(f, "SELECT count(*) FROM full_seen"), 0);
	assert_int_equal(db_int(f, "SELECT acked FROM commands"), 0);
	assert_int_equal(unsent(f), 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM outbox"
				   " WHERE sent = 0"),
			 1);
	/* Outside one, the same calls work. */
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL), 0);
	assert_int_equal(unsent(f), 0);
	events_clear(&ev);
}

static int stop_at_first_id(const char *id, void *userdata)
{
	snprintf(userdata, KIOSK_HOLD_ID_MAX + 1, "%s", id);
	return 7;
}

/* The walk a full set's end takes in bounded steps, each after the last. */
static void the_unseen_are_walked_in_steps(void **state)
{
	struct fixture *f = *state;
	char all[512] = "";

	add_hold(f, "h1", 'a');
	add_hold(f, "h2", 'a');
	add_hold(f, "h3", 'a');
	add_hold(f, "h4", 'a');
	assert_int_equal(store_full_seen_clear(f->s), 0);
	assert_int_equal(store_full_seen_add(f->s, STORE_KIND_HOLD, "h2"), 0);
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_HOLD, "", 2,
					      collect_id, all),
			 0);
	assert_string_equal(all, "h1 h3 ");
	all[0] = '\0';
	/* One kept (say, being loaded) is not walked again: h3 stays. */
	assert_int_equal(store_remove_pending_hold(f->s, "h1"), 0);
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_HOLD, "h3", 2,
					      collect_id, all),
			 0);
	assert_string_equal(all, "h4 ");
	all[0] = '\0';
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_HOLD, "h4", 2,
					      collect_id, all),
			 0);
	assert_string_equal(all, "");
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_HOLD, NULL, 2,
					      collect_id, all),
			 -EINVAL);
}

static void a_walk_stopped_early_leaves_the_transaction_usable(void **state)
{
	struct fixture *f = *state;
	char first[KIOSK_HOLD_ID_MAX + 1] = "";

	add_hold(f, "h1", 'a');
	add_hold(f, "h2", 'a');
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_full_seen_clear(f->s), 0);
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_HOLD, "", 100,
					      stop_at_first_id, first),
			 7);
	assert_string_equal(first, "h1");
	/* The walk's statement is finished: the store can change things. */
	assert_int_equal(store_remove_pending_hold(f->s, first), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM holds"), 1);
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_HOLD, "", 100,
					      stop_at_first_id, first),
			 7);
	assert_string_equal(first, "h2");
	assert_int_equal(store_foreach_unseen(f->s, STORE_KIND_STAFF, "", 100,
					      stop_at_first_id, first),
			 0);
}

static void sync_values_keep_to_their_bounds(void **state)
{
	struct fixture *f = *state;
	char key[40], value[1100], got[1100];

	memset(value, 'v', 1024);
	value[1024] = '\0';
	assert_int_equal(store_set_sync_value(f->s, "big", value), 0);
	assert_int_equal(store_get_sync_value(f->s, "big", got, 1025), 0);
	assert_string_equal(got, value);
	assert_int_equal(store_get_sync_value(f->s, "big", got, 1024),
			 -ENOBUFS);
	value[1024] = 'v';
	value[1025] = '\0';
	assert_int_equal(store_set_sync_value(f->s, "big", value), -EINVAL);

	memset(key, 'k', 32);
	key[32] = '\0';
	assert_int_equal(store_set_sync_value(f->s, key, ""), 0);
	assert_int_equal(store_get_sync_value(f->s, key, got, 1), 0);
	assert_string_equal(got, "");
	key[32] = 'k';
	key[33] = '\0';
	assert_int_equal(store_set_sync_value(f->s, key, "x"), -EINVAL);
	assert_int_equal(store_get_sync_value(f->s, key, got, sizeof(got)),
			 -EINVAL);
	assert_int_equal(store_set_sync_value(f->s, "", "x"), -EINVAL);
	assert_int_equal(store_delete_sync_value(f->s, "no_such"), -ENOENT);
}

static void a_command_is_noted_only_with_a_record_that_was_written(void **state)
{
	struct fixture *f = *state;
	struct kiosk_record rec =
		make_record(KIOSK_RECORD_LOCKER_DISABLED, "", 99);
	struct store_sent_mark mark;
	char reason[STORE_REJECTED_MAX + 2];
	struct events ev;

	/* Refused for another reason (no locker 99): not done, no event. */
	snprintf(rec.actor, sizeof(rec.actor), "service");
	snprintf(rec.command, sizeof(rec.command), "c-1");
	assert_int_equal(store_record(f->s, &rec, 1, NULL), -EINVAL);
	assert_int_equal(store_command_is_done(f->s, "c-1"), 0);
	assert_int_equal(count_events(f), 0);
	/* An id the server could not have sent is refused the same way. */
	rec.locker = 3;
	snprintf(rec.command, sizeof(rec.command), "c 1");
	assert_int_equal(store_record(f->s, &rec, 1, NULL), -EINVAL);
	assert_int_equal(count_events(f), 0);
	assert_int_equal(db_int(f, "SELECT disabled FROM lockers"
				   " WHERE number = 3"),
			 0);

	snprintf(rec.command, sizeof(rec.command), "c-1");
	assert_int_equal(store_record(f->s, &rec, 1, NULL), 0);
	assert_int_equal(db_int(f, "SELECT disabled FROM lockers"
				   " WHERE number = 3"),
			 1);
	/* Its command_done later (say, after a crash) is the same command. */
	rec = make_record(KIOSK_RECORD_COMMAND_DONE, "", 3);
	snprintf(rec.command, sizeof(rec.command), "c-1");
	snprintf(rec.result, sizeof(rec.result), "failed");
	assert_int_equal(store_record(f->s, &rec, 2, NULL), -EALREADY);
	assert_int_equal(count_events(f), 1);
	assert_int_equal(unsent(f), 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM commands"
				   " WHERE id = 'c-1' AND result = 'done'"),
			 1);

	/* The server's reason for a rejection: 1..STORE_REJECTED_MAX bytes. */
	all_events(f, &ev);
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	mark = (struct store_sent_mark){ .uuid = ev.uuid[0],
					 .rejected = reason };
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL), -EINVAL);
	assert_int_equal(unsent(f), 1);
	reason[STORE_REJECTED_MAX] = '\0';
	assert_int_equal(store_mark_events_sent(f->s, &mark, 1, NULL), 0);
	assert_int_equal(unsent(f), 0);
	events_clear(&ev);
}

static int count_id(const char *id, void *userdata)
{
	unsigned *n = userdata;

	(*n)++;
	return 0;
}

static void
acknowledged_commands_are_pruned_beyond_the_newest_thousand(void **state)
{
	struct fixture *f = *state;
	char all[64] = "";
	unsigned n = 0;

	/* 1100 done and acknowledged, and two old ones still unacknowledged. */
	assert_int_equal(
		db_exec(f->path,
			"WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL"
			"  SELECT n + 1 FROM i WHERE n < 1100)"
			" INSERT INTO commands (id, done_at_usec, result, acked)"
			"  SELECT 'a-' || n, 1000 + n, 'done', 1 FROM i;"
			"INSERT INTO commands (id, done_at_usec, result)"
			" VALUES ('u-1', 1, 'done'), ('u-2', 2, 'busy')"),
		SQLITE_OK);
	prune_all(f, 64, 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM commands"
				   " WHERE acked = 1"),
			 STORE_COMMANDS_KEEP);
	assert_int_equal(store_command_is_done(f->s, "a-100"), 0);
	assert_int_equal(store_command_is_done(f->s, "a-101"), 1);
	assert_int_equal(store_command_is_done(f->s, "a-1100"), 1);
	/* Those the server still sends are never pruned; oldest first. */
	assert_int_equal(
		store_foreach_unacked_command(f->s, 1, collect_id, all), 0);
	assert_string_equal(all, "u-1 ");
	assert_int_equal(store_foreach_unacked_command(f->s, 64, count_id, &n),
			 0);
	assert_int_equal(n, 2);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(creates_and_migrates_a_fresh_database),
		T(reopening_keeps_data),
		T(refuses_a_database_from_a_newer_schema),
		T(migrates_a_version_1_database_keeping_its_data),
		T(refuses_a_file_that_is_not_a_database),
		T(refuses_a_database_of_another_application),
		T(refuses_a_database_it_cannot_write),
		T(record_applies_the_state_change_and_appends_the_outbox_in_one_transaction),
		T(every_record_type_changes_what_it_describes),
		T(a_failing_record_writes_nothing),
		T(the_outbox_bound_refuses_unlocks_and_keeps_facts),
		T(facts_past_the_bound_stop_at_the_headroom),
		T(uuids_are_unique_and_well_formed),
		T(payloads_have_the_right_fields),
		T(a_partial_pickup_keeps_the_hold_with_the_books_left),
		T(add_hold_refuses_a_duplicate_id),
		T(add_hold_refuses_bad_values),
		T(get_hold_returns_items_and_credentials),
		T(finished_holds_are_pruned_beyond_the_newest),
		T(finished_holds_past_the_retention_are_wiped_in_steps),
		T(sent_events_older_than_the_retention_are_pruned),
		T(recording_never_prunes_on_the_way_to_a_pulse),
		T(a_prune_step_deletes_no_more_than_asked),
		T(a_sessions_unlocks_are_recorded_in_one_transaction),
		T(a_refused_record_in_a_batch_writes_nothing_of_its_own),
		T(checks_copies_and_checkpoints_run_on_a_thread),
		T(a_scanned_item_finds_its_pending_hold),
		T(holds_are_listed_newest_first_up_to_the_limit),
		T(events_are_listed_oldest_first_up_to_the_limit),
		T(pruning_keeps_unsent_rows),
		T(the_outbox_refuses_changes_to_recorded_events),
		T(staff_are_replaced_and_checked),
		T(lockers_are_ensured_once_and_bounded),
		T(load_restores_holds_staff_and_lockers_into_a_core),
		T(records_from_the_core_are_accepted_and_applied),
		T(integrity_check_passes_on_a_healthy_database),
		T(free_accepts_null),
		T(the_servers_copy_replaces_a_pending_hold_and_only_dates_a_loaded_one),
		T(only_pending_holds_and_known_staff_are_removed),
		T(sync_values_keep_the_cursor_across_reopening),
		T(a_full_set_finds_the_pending_holds_and_staff_it_lacks),
		T(the_unseen_are_walked_in_steps),
		T(a_transaction_applies_all_or_nothing),
		T(the_servers_answers_mark_events_one_by_one),
		T(refusals_are_kept_for_staff),
		T(a_server_command_is_recorded_once_and_acknowledged),
		T(migrates_a_version_2_database_keeping_its_outbox),
		T(the_servers_copy_dates_an_expired_hold_and_keeps_its_birth),
		T(a_transaction_refuses_what_would_escape_it_and_undoes_removals),
		T(a_walk_stopped_early_leaves_the_transaction_usable),
		T(sync_values_keep_to_their_bounds),
		T(a_command_is_noted_only_with_a_record_that_was_written),
		T(acknowledged_commands_are_pruned_beyond_the_newest_thousand),
		T(recovery_keeps_every_readable_event_and_names_the_unsent_ones_lost),
		T(recovery_refuses_a_newer_schema_and_an_existing_file),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
