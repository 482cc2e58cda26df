// SPDX-License-Identifier: GPL-2.0-or-later
/* Faults for tests, kept in the database and counted down per request. */
#include <errno.h>
#include <string.h>

#include "db.h"
#include "fault.h"

static const char *const kind_names[] = {
	[FAULT_KIND_NONE] = "none",
	[FAULT_KIND_500] = "500",
	[FAULT_KIND_503] = "503",
	[FAULT_KIND_429] = "429",
	[FAULT_KIND_DELAY] = "delay",
	[FAULT_KIND_DROP] = "drop",
	[FAULT_KIND_DROP_AFTER] = "drop-after",
	[FAULT_KIND_TRUNCATE] = "truncate",
	[FAULT_KIND_GARBAGE] = "garbage",
	[FAULT_KIND_HUGE] = "huge",
	[FAULT_KIND_400] = "400",
	[FAULT_KIND_TRICKLE] = "trickle",
};

#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *fault_kind_name(enum fault_kind kind)
{
	return (size_t)kind < N_KINDS ? kind_names[kind] : "?";
}

int fault_kind_from_name(const char *name, enum fault_kind *ret)
{
	for (size_t i = 1; i < N_KINDS; i++) {
		if (strcmp(name, kind_names[i]) == 0) {
			*ret = (enum fault_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool fault_endpoint_is_valid(const char *endpoint)
{
	static const char *const names[] = { "changes", "events", "status",
					     "items", "any" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(endpoint, names[i]) == 0)
			return true;
	return false;
}

int fault_add(sqlite3 *db, const char *endpoint, enum fault_kind kind,
	      unsigned count, unsigned retry_after_s, unsigned delay_ms)
{
	int64_t n = 0;
	int err;

	err = db_begin(db) ?:
		      db_get_int(db, &n, "SELECT count(*) FROM faults", "");
	if (err == 0 && n >= FAULT_ACTIVE_MAX)
		err = -ENOSPC;
	if (err == 0)
		err = db_run(db,
			     "INSERT INTO faults (endpoint, kind, remaining,"
			     " retry_after_s, delay_ms, created_usec)"
			     " VALUES (?, ?, ?, ?, ?, ?)",
			     "ssIIII", endpoint, fault_kind_name(kind),
			     (int64_t)count, (int64_t)retry_after_s,
			     (int64_t)delay_ms, db_now_usec());
	if (err < 0) {
		db_rollback(db);
		return err;
	}
	return db_commit(db);
}

int fault_clear(sqlite3 *db)
{
	return db_run(db, "DELETE FROM faults", "");
}

int fault_take(sqlite3 *db, const char *endpoint, struct fault *ret)
{
	struct fault f = { .kind = FAULT_KIND_NONE };
	sqlite3_stmt *st;
	int64_t n = 0, remaining = 0;
	int err, rc;

	err = db_begin(db);
	if (err < 0)
		return err;
	st = db_query(db,
		      "SELECT n, kind, remaining, retry_after_s, delay_ms"
		      " FROM faults WHERE endpoint IN (?, 'any')"
		      " ORDER BY n LIMIT 1",
		      "s", endpoint);
	if (!st) {
		db_rollback(db);
		return -EIO;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		remaining = sqlite3_column_int64(st, 2);
		f.retry_after_s = (unsigned)sqlite3_column_int(st, 3);
		f.delay_ms = (unsigned)sqlite3_column_int(st, 4);
		if (fault_kind_from_name(
			    (const char *)sqlite3_column_text(st, 1), &f.kind) <
		    0)
			f.kind = FAULT_KIND_NONE;
	}
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = -EIO;
	else if (rc == SQLITE_ROW && remaining == 1)
		err = db_run(db, "DELETE FROM faults WHERE n = ?", "I", n);
	else if (rc == SQLITE_ROW && remaining > 1)
		err = db_run(db,
			     "UPDATE faults SET remaining = remaining - 1"
			     " WHERE n = ?",
			     "I", n);
	if (err < 0) {
		db_rollback(db);
		return err;
	}
	err = db_commit(db);
	if (err == 0)
		*ret = f;
	return err;
}
