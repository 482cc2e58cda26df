// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerhub's group commit and event retention, on real SQLite files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "retention.h"

struct fixture {
	char dir[64], path[96];
	sqlite3 *db, *reader;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lokerbuku-hubdb.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hub.db", f->dir);
	assert_int_equal(db_open(f->path, true, &f->db), 0);
	assert_int_equal(db_open_reader(f->path, &f->reader), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	db_close(f->reader);
	db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int64_t count(sqlite3 *db, const char *sql)
{
	int64_t n = -1;

	assert_int_equal(db_get_int(db, &n, sql, ""), 0);
	return n;
}

/* One request's write as the API handlers do it: a transaction of its own. */
static int request(sqlite3 *db, const char *key, bool fail)
{
	int err = db_begin(db);

	if (err == 0)
		err = db_run(db, "INSERT INTO meta (key, value) VALUES (?, 1)",
			     "s", key);
	if (err == 0 && fail)
		err = -EIO;
	if (err < 0) {
		db_rollback(db);
		return err;
	}
	return db_commit(db);
}

static void
group_keeps_what_succeeded_and_shows_it_only_once_committed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(db_group_begin(f->db), 0);
	assert_int_equal(request(f->db, "a", false), 0);
	assert_int_equal(request(f->db, "b", true), -EIO);
	/* A handler's second rollback after a failed commit undoes nothing
	 * more than its own. */
	db_rollback(f->db);
	assert_int_equal(request(f->db, "c", false), 0);
	assert_true(db_group_is_open(f->db));
	/* Nothing is there for a reader before the group commits. */
	assert_int_equal(count(f->reader, "SELECT count(*) FROM meta"), 0);
	assert_int_equal(db_group_commit(f->db, true), 0);
	assert_int_equal(count(f->reader, "SELECT count(*) FROM meta"), 2);
	assert_int_equal(count(f->reader, "SELECT count(*) FROM meta"
					  " WHERE key IN ('a', 'c')"),
			 2);
	/* Out of the group, db_begin() is a transaction of its own again. */
	assert_int_equal(request(f->db, "d", false), 0);
	assert_int_equal(count(f->reader, "SELECT count(*) FROM meta"), 3);
}

static void group_rolled_back_keeps_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(db_group_begin(f->db), 0);
	assert_int_equal(request(f->db, "a", false), 0);
	db_group_rollback(f->db);
	assert_int_equal(count(f->reader, "SELECT count(*) FROM meta"), 0);
	assert_false(db_group_is_open(f->db));
}

static void reader_refuses_to_write(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(db_run(f->reader,
				"INSERT INTO meta (key, value) VALUES ('x', 1)",
				""),
			 -EIO);
}

static void add_event(sqlite3 *db, int i, int64_t received_usec)
{
	char id[40];

	snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
	assert_int_equal(
		db_run(db,
		       "INSERT INTO events (id, kiosk_id, seq, type, at_usec,"
		       " payload, status, reason, received_usec) VALUES"
		       " (?, 'k1', ?, 'hold_loaded', 1, '{\"hold_id\":\"H-1\"}',"
		       " 'accepted', NULL, ?)",
		       "siI", id, i, received_usec),
		0);
}

static void retention_moves_old_events_in_bounded_steps(void **state)
{
	struct fixture *f = *state;
	int64_t now = db_now_usec(), day = 86400LL * 1000000;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	/* 300 old, then 5 new: the steps stop at the first new one. */
	for (int i = 1; i <= 300; i++)
		add_event(f->db, i, now - 400 * day);
	for (int i = 301; i <= 305; i++)
		add_event(f->db, i, now);
	assert_int_equal(retention_step(f->db, now - 30 * day),
			 RETENTION_STEP_EVENTS);
	assert_int_equal(retention_step(f->db, now - 30 * day),
			 300 - RETENTION_STEP_EVENTS);
	assert_int_equal(retention_step(f->db, now - 30 * day), 0);
	assert_int_equal(count(f->db, "SELECT count(*) FROM events"), 5);
	assert_int_equal(count(f->db, "SELECT count(*) FROM event_ids"), 300);
	assert_int_equal(count(f->db, "SELECT sum(count) FROM event_archive"),
			 300);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(retention_export(f->db, out), 0);
	fclose(out);
	/* 300 lines, the first whole. */
	{
		size_t lines = 0;

		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		assert_int_equal(lines, 300);
	}
	assert_non_null(strstr(
		text, "{\"id\":\"00000000-0000-4000-8000-000000000001\","
		      "\"kiosk\":\"k1\",\"seq\":1,\"type\":\"hold_loaded\","
		      "\"at_usec\":1,\"payload\":{\"hold_id\":\"H-1\"},"
		      "\"status\":\"accepted\",\"reason\":null,"));
	free(text);
}

/* How many statements the connection has compiled now. */
static int statements(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	while ((st = sqlite3_next_stmt(db, st)))
		n++;
	return n;
}

static int64_t value_of(sqlite3 *db, const char *key)
{
	int64_t v = -1;

	assert_int_equal(db_get_int(db, &v,
				    "SELECT value FROM meta WHERE key = ?", "s",
				    key),
			 0);
	return v;
}

static void cache_hands_the_same_statement_out_again_reset(void **state)
{
	struct fixture *f = *state;
	const char *sql = "SELECT key FROM meta WHERE key >= ? ORDER BY key";
	sqlite3_stmt *st, *again;

	assert_int_equal(request(f->db, "a", false), 0);
	assert_int_equal(request(f->db, "b", false), 0);
	assert_int_equal(request(f->db, "c", false), 0);
	st = db_query(f->db, sql, "s", "a");
	assert_non_null(st);
	/* Given back halfway through its rows. */
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "a");
	db_done(st);
	again = db_query(f->db, sql, "s", "b");
	assert_ptr_equal(again, st);
	/* The new binding, from the start. */
	assert_int_equal(sqlite3_step(again), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(again, 0), "b");
	assert_int_equal(sqlite3_step(again), SQLITE_ROW);
	assert_int_equal(sqlite3_step(again), SQLITE_DONE);
	db_done(again);
	/* Bindings are cleared: a query binding nothing gets NULL. */
	st = db_query(f->db, sql, "");
	assert_ptr_equal(st, again);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	db_done(st);
}

static void cache_gives_sql_in_use_a_statement_of_its_own(void **state)
{
	struct fixture *f = *state;
	const char *sql = "SELECT key FROM meta WHERE key >= ? ORDER BY key";
	sqlite3_stmt *outer, *inner, *next;
	int before, rows = 0;

	assert_int_equal(request(f->db, "a", false), 0);
	assert_int_equal(request(f->db, "b", false), 0);
	outer = db_query(f->db, sql, "s", "a");
	assert_non_null(outer);
	before = statements(f->db);
	/* The same SQL run for each row of it, as a handler's loop might. */
	while (sqlite3_step(outer) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(outer, 0);

		inner = db_query(f->db, sql, "s", key);
		assert_non_null(inner);
		assert_ptr_not_equal(inner, outer);
		assert_int_equal(sqlite3_step(inner), SQLITE_ROW);
		assert_string_equal(sqlite3_column_text(inner, 0), key);
		db_done(inner);
		/* Not kept: freed when given back. */
		assert_int_equal(statements(f->db), before);
		rows++;
	}
	assert_int_equal(rows, 2);
	db_done(outer);
	next = db_query(f->db, sql, "s", "b");
	assert_ptr_equal(next, outer);
	assert_int_equal(sqlite3_step(next), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(next, 0), "b");
	db_done(next);
	assert_int_equal(db_close(f->db), 0);
	f->db = NULL;
}

static void cache_keeps_at_most_its_bound(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *kept[DB_CACHE_STATEMENTS + 20];
	char sql[64];

	/* One buffer, new SQL in it each time: keyed by text, not address. */
	for (int i = 0; i < DB_CACHE_STATEMENTS + 20; i++) {
		snprintf(sql, sizeof(sql), "SELECT %d", i);
		kept[i] = db_query(f->db, sql, "");
		assert_non_null(kept[i]);
		assert_int_equal(sqlite3_step(kept[i]), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(kept[i], 0), i);
		db_done(kept[i]);
		assert_int_equal(statements(f->db),
				 i < DB_CACHE_STATEMENTS ? i + 1 :
							   DB_CACHE_STATEMENTS);
	}
	/*
	 * The ones used longest ago made room; the newest are still there,
	 * run for the second time (an address may be reused, a count not).
	 */
	for (int i = DB_CACHE_STATEMENTS + 19; i >= 20; i--) {
		sqlite3_stmt *st;

		snprintf(sql, sizeof(sql), "SELECT %d", i);
		st = db_query(f->db, sql, "");
		assert_ptr_equal(st, kept[i]);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), i);
		assert_int_equal(
			sqlite3_stmt_status(st, SQLITE_STMTSTATUS_RUN, 0), 2);
		db_done(st);
	}
	assert_int_equal(statements(f->db), DB_CACHE_STATEMENTS);
}

static void cache_survives_bad_sql_and_bad_arguments(void **state)
{
	struct fixture *f = *state;
	const char *sql = "SELECT value FROM meta WHERE key = ?";
	sqlite3_stmt *st;
	int before;

	assert_int_equal(request(f->db, "a", false), 0);
	before = statements(f->db);
	assert_null(db_query(f->db, "SELEKT nothing", ""));
	assert_null(db_query(f->db, "", ""));
	assert_int_equal(db_run(f->db, "INSERT INTO nowhere VALUES (1)", ""),
			 -EIO);
	assert_int_equal(statements(f->db), before);
	/* A bad type letter: refused, and the statement is given back. */
	assert_null(db_query(f->db, sql, "x", "a"));
	st = db_query(f->db, sql, "s", "a");
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 1);
	db_done(st);
	/* A constraint refusal leaves the statement fit to run again. */
	assert_int_equal(db_run(f->db,
				"INSERT INTO meta (key, value) VALUES (?, 1)",
				"s", "a"),
			 -EEXIST);
	assert_int_equal(db_run(f->db,
				"INSERT INTO meta (key, value) VALUES (?, 1)",
				"s", "z"),
			 0);
	assert_int_equal(value_of(f->db, "z"), 1);
	db_done(NULL);
}

/* A kept statement holds no snapshot: a reader sees each new commit. */
static void cached_reads_see_later_commits(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(count(f->reader, "SELECT count(*) FROM meta"), 0);
	assert_int_equal(request(f->db, "a", false), 0);
	assert_int_equal(count(f->reader, "SELECT count(*) FROM meta"), 1);
	assert_int_equal(request(f->db, "b", false), 0);
	assert_int_equal(count(f->reader, "SELECT count(*) FROM meta"), 2);
	assert_int_equal(value_of(f->reader, "b"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			group_keeps_what_succeeded_and_shows_it_only_once_committed,
			setup, teardown),
		cmocka_unit_test_setup_teardown(group_rolled_back_keeps_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(reader_refuses_to_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			retention_moves_old_events_in_bounded_steps, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			cache_hands_the_same_statement_out_again_reset, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			cache_gives_sql_in_use_a_statement_of_its_own, setup,
			teardown),
		cmocka_unit_test_setup_teardown(cache_keeps_at_most_its_bound,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			cache_survives_bad_sql_and_bad_arguments, setup,
			teardown),
		cmocka_unit_test_setup_teardown(cached_reads_see_later_commits,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
