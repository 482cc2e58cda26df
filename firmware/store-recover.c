// SPDX-License-Identifier: GPL-2.0-or-later
/* What can still be read of a damaged database, copied into a new one. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store-private.h"
#include "store.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "LKRB", as store.c sets it. */
#define RECOVER_APPLICATION_ID 0x4c4b5242

/*
 * The tables copied, parents before children (the new file checks its
 * foreign keys). Not copied: full_seen, so that a full set of changes
 * the server was sending starts over, as the sync cursors do.
 */
static const struct {
	const char *name;
	/*
	 * An index of every row: counting it reads none of the table's
	 * pages, so it tells how many rows there were.
	 */
	const char *count_index;
	/* WITHOUT ROWID, keyed by hold: read hold by hold. */
	bool by_hold;
} tables[STORE_RECOVER_TABLES] = {
	{ "lockers", NULL, false },
	{ "holds", "sqlite_autoindex_holds_1", false },
	{ "hold_credentials", "sqlite_autoindex_hold_credentials_1", false },
	{ "hold_items", "hold_items_barcode", true },
	{ "staff", "sqlite_autoindex_staff_1", false },
	{ "outbox", "sqlite_autoindex_outbox_1", false },
	{ "sync_state", "sqlite_autoindex_sync_state_1", false },
	{ "commands", "sqlite_autoindex_commands_1", false },
	{ "guard", "sqlite_autoindex_guard_1", false },
};

struct recover {
	const char *damaged, *path;
	sqlite3 *src, *dst;
	struct store_recover_report *report;
	/* The table at hand: the columns both files have, quoted. */
	char cols[1024];
	int n_cols;
	bool rowid_alias; /* an INTEGER PRIMARY KEY among them */
	int locker_col;	  /* holds.locker's place in cols, or -1 */
	uint64_t n_read, n_refused, n_guessed;
};

static int fail_src(struct recover *r, int rc, const char *what)
{
	return store_fail_open(r->damaged,
			       (rc & 0xff) == SQLITE_NOMEM ? ENOMEM : EIO,
			       "%s: %s", what, sqlite3_errmsg(r->src));
}

static int fail_dst(struct recover *r, int rc, const char *what)
{
	int err;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		err = ENOSPC;
		break;
	case SQLITE_NOMEM:
		err = ENOMEM;
		break;
	case SQLITE_READONLY:
		err = EROFS;
		break;
	default:
		err = EIO;
		break;
	}
	return store_fail_open(r->path, err, "%s: %s", what,
			       sqlite3_errmsg(r->dst));
}

/*
 * Opens path read-only. In a folder that cannot be written SQLite cannot
 * make the -shm a WAL database needs: without a -wal to read, nothing is
 * missed by taking the file as it is (immutable), lokerd being stopped.
 */
static int open_readonly(const char *path, sqlite3 **ret)
{
	char wal[4096], uri[3 * 4096 + 32];
	struct stat st;
	size_t off;
	int64_t v;
	int rc;

	rc = sqlite3_open_v2(path, ret, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = store_db_get_int(*ret,
				      "SELECT count(*) FROM sqlite_schema", &v);
	if ((rc & 0xff) != SQLITE_CANTOPEN)
		return rc;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0 && st.st_size > 0)
		return rc;
	sqlite3_close(*ret);
	*ret = NULL;
	off = (size_t)snprintf(uri, sizeof(uri), "file:");
	for (const char *p = path; *p && off + 4 < sizeof(uri); p++)
		off += (size_t)(strchr("%?#", *p) ?
					snprintf(uri + off, sizeof(uri) - off,
						 "%%%02X", (unsigned char)*p) :
					snprintf(uri + off, sizeof(uri) - off,
						 "%c", *p));
	snprintf(uri + off, sizeof(uri) - off, "?immutable=1");
	return sqlite3_open_v2(uri, ret, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
			       NULL);
}

int store_check_file(const char *path)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	const char *v;
	int rc, r = 0;

	rc = open_readonly(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1,
					&st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v = (const char *)sqlite3_column_text(st, 0);
		if (!v || strcmp(v, "ok") != 0) {
			char line[160];
			size_t i;

			/* Its first finding, on one line. */
			if (v &&
			    strncmp(v, "*** in database main ***\n", 25) == 0)
				v += 25;
			for (i = 0; v && v[i] && i + 1 < sizeof(line); i++)
				line[i] = v[i] == '\n' ? ' ' : v[i];
			line[i] = '\0';
			r = store_fail_open(path, EILSEQ, "%s",
					    i ? line : "damaged");
		}
	} else {
		switch (rc & 0xff) {
		case SQLITE_CORRUPT:
		case SQLITE_NOTADB:
			r = store_fail_open(path, EILSEQ, "%s",
					    sqlite3_errmsg(db));
			break;
		case SQLITE_CANTOPEN:
		case SQLITE_PERM:
			r = store_fail_open(path,
					    db && sqlite3_system_errno(db) ?
						    sqlite3_system_errno(db) :
						    EACCES,
					    "%s",
					    db ? sqlite3_errmsg(db) :
						 sqlite3_errstr(rc));
			break;
		default:
			r = store_fail_open(path, EIO, "%s",
					    db ? sqlite3_errmsg(db) :
						 sqlite3_errstr(rc));
			break;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/* Whether the damaged file has this column in this table: 1, 0. */
static int src_has_column(struct recover *r, const char *table,
			  const char *column)
{
	sqlite3_stmt *st = NULL;
	int rc, found = 0;

	rc = sqlite3_prepare_v2(r->src,
				"SELECT 1 FROM pragma_table_info(?1)"
				" WHERE name = ?2",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

/* Whether the damaged file has this table (a newer one than it knows). */
static bool src_has_table(struct recover *r, const char *table)
{
	sqlite3_stmt *st = NULL;
	bool found = true; /* when unsure, try to read it */
	int rc;

	rc = sqlite3_prepare_v2(r->src,
				"SELECT count(*) FROM sqlite_schema"
				" WHERE type = 'table' AND name = ?1",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			found = sqlite3_column_int(st, 0) > 0;
	}
	sqlite3_finalize(st);
	return found;
}

/*
 * The columns of table in the new file that the damaged one has too (an
 * older schema lacks some: they keep their defaults).
 */
static int columns_of(struct recover *r, const char *table)
{
	sqlite3_stmt *st = NULL;
	size_t off = 0;
	int rc, n_pk = 0;
	bool integer_pk = false;

	r->cols[0] = '\0';
	r->n_cols = 0;
	r->locker_col = -1;
	rc = sqlite3_prepare_v2(r->dst,
				"SELECT name, upper(type), pk"
				" FROM pragma_table_info(?1) ORDER BY cid",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail_dst(r, rc, "table_info");
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		int pk = sqlite3_column_int(st, 2);
		int n;

		if (pk > 0) {
			n_pk++;
			integer_pk = type && strcmp(type, "INTEGER") == 0;
		}
		if (!name || !src_has_column(r, table, name))
			continue;
		if (strcmp(table, "holds") == 0 && strcmp(name, "locker") == 0)
			r->locker_col = r->n_cols;
		n = snprintf(r->cols + off, sizeof(r->cols) - off, "%s\"%s\"",
			     off ? ", " : "", name);
		if (n < 0 || (size_t)n >= sizeof(r->cols) - off) {
			sqlite3_finalize(st);
			return store_fail_open(r->path, ENAMETOOLONG,
					       "%s: too many columns", table);
		}
		off += (size_t)n;
		r->n_cols++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail_dst(r, rc, "table_info");
	r->rowid_alias = n_pk == 1 && integer_pk;
	return 0;
}

/* INSERT of the table's columns, and of its rowid when it has no alias. */
static int prepare_insert(struct recover *r, const char *table, bool rowid,
			  sqlite3_stmt **ret)
{
	char sql[2048];
	size_t off;
	int rc, n = r->n_cols + (rowid ? 1 : 0);

	off = (size_t)snprintf(sql, sizeof(sql),
			       "INSERT INTO \"%s\" (%s%s)"
			       " VALUES (",
			       table, r->cols, rowid ? ", rowid" : "");
	for (int i = 0; i < n && off < sizeof(sql); i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s?%d",
					i ? ", " : "", i + 1);
	if (off + 2 > sizeof(sql))
		return store_fail_open(r->path, ENAMETOOLONG, "%s: too long",
				       table);
	strcat(sql, ")");
	rc = sqlite3_prepare_v2(r->dst, sql, -1, ret, NULL);
	if (rc != SQLITE_OK)
		return fail_dst(r, rc, "prepare insert");
	return 0;
}

/*
 * A hold in a locker whose row was lost keeps its locker: the row is made
 * again, as lokerd would make it.
 */
static int ensure_locker(struct recover *r, sqlite3_value *locker)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_value_type(locker) != SQLITE_INTEGER)
		return 0;
	rc = sqlite3_prepare_v2(r->dst,
				"INSERT INTO lockers (number) VALUES (?1)"
				" ON CONFLICT DO NOTHING",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_value(st, 1, locker);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	/* Out of range: the hold is refused in its turn. */
	if (rc == SQLITE_DONE || (rc & 0xff) == SQLITE_CONSTRAINT)
		return 0;
	return fail_dst(r, rc, "locker");
}

/*
 * Inserts one row read by sel (columns from first; rowid, when asked, in
 * column 0). A row the new file refuses is counted, not fatal.
 */
static int copy_row(struct recover *r, sqlite3_stmt *sel, int first,
		    sqlite3_stmt *ins, bool rowid)
{
	int rc, err;

	sqlite3_reset(ins);
	sqlite3_clear_bindings(ins);
	for (int i = 0; i < r->n_cols; i++)
		sqlite3_bind_value(ins, i + 1,
				   sqlite3_column_value(sel, first + i));
	if (rowid)
		sqlite3_bind_value(ins, r->n_cols + 1,
				   sqlite3_column_value(sel, 0));
	if (r->locker_col >= 0) {
		err = ensure_locker(
			r, sqlite3_column_value(sel, first + r->locker_col));
		if (err < 0)
			return err;
	}
	rc = sqlite3_step(ins);
	sqlite3_reset(ins);
	if (rc == SQLITE_DONE)
		return 1;
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		r->n_refused++;
		return 0;
	}
	return fail_dst(r, rc, "insert");
}

/* The first rowid from from on: 1 (in *ret), 0 for none, -1 unreadable. */
static int probe(sqlite3_stmt *st, int64_t from, int64_t *ret)
{
	int rc, r = -1;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, from);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		r = 1;
	} else if (rc == SQLITE_DONE) {
		r = 0;
	}
	sqlite3_reset(st);
	return r;
}

static int64_t add_saturating(int64_t a, uint64_t b)
{
	if (a >= 0 && b > (uint64_t)(INT64_MAX - a))
		return INT64_MAX;
	return (int64_t)((uint64_t)a + b);
}

enum skip {
	SKIP_END,    /* nothing after last can be reached */
	SKIP_ROW,    /* *ret_next is there, but its row cannot be read */
	SKIP_RESUME, /* reading works again from *ret_next */
};

/*
 * The table could not be read past last: a page of it is damaged. A seek
 * to a rowid within the damaged page fails, a seek past it works, so
 * steps that double find a rowid past it and halving then finds the
 * first one.
 */
static enum skip skip_damage(sqlite3_stmt *probe_st, int64_t last,
			     int64_t *ret_next)
{
	int64_t bad, good, x;
	uint64_t step = 1;
	int p;

	if (last == INT64_MAX)
		return SKIP_END;
	bad = last + 1;
	p = probe(probe_st, bad, &x);
	if (p == 1) {
		*ret_next = x;
		return SKIP_ROW;
	}
	if (p == 0)
		return SKIP_END;
	for (;;) {
		if (bad == INT64_MAX)
			return SKIP_END;
		good = add_saturating(bad, step);
		if (probe(probe_st, good, &x) >= 0)
			break;
		bad = good;
		if (step < (UINT64_C(1) << 62))
			step *= 2;
	}
	while ((uint64_t)good - (uint64_t)bad > 1) {
		int64_t mid = (int64_t)((uint64_t)bad +
					((uint64_t)good - (uint64_t)bad) / 2);

		if (probe(probe_st, mid, &x) >= 0)
			good = mid;
		else
			bad = mid;
	}
	*ret_next = good;
	return SKIP_RESUME;
}

/* A table with rowids, in their order, stepping over damaged pages. */
static int copy_by_rowid(struct recover *r, const char *table,
			 uint64_t *ret_copied)
{
	sqlite3_stmt *sel = NULL, *probe_st = NULL, *ins = NULL;
	bool rowid = !r->rowid_alias;
	int64_t last = INT64_MIN, next;
	char sql[2048];
	int rc, err;

	snprintf(sql, sizeof(sql),
		 "SELECT rowid, %s FROM \"%s\" WHERE rowid > ?1"
		 " ORDER BY rowid",
		 r->cols, table);
	rc = sqlite3_prepare_v2(r->src, sql, -1, &sel, NULL);
	if (rc != SQLITE_OK) {
		err = fail_src(r, rc, table);
		goto out;
	}
	snprintf(sql, sizeof(sql),
		 "SELECT rowid FROM \"%s\" WHERE rowid >= ?1"
		 " ORDER BY rowid LIMIT 1",
		 table);
	rc = sqlite3_prepare_v2(r->src, sql, -1, &probe_st, NULL);
	if (rc != SQLITE_OK) {
		err = fail_src(r, rc, table);
		goto out;
	}
	err = prepare_insert(r, table, rowid, &ins);
	if (err < 0)
		goto out;

	for (;;) {
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, last);
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
			r->n_read++;
			last = sqlite3_column_int64(sel, 0);
			err = copy_row(r, sel, 1, ins, rowid);
			if (err < 0)
				goto out;
			*ret_copied += (uint64_t)err;
		}
		sqlite3_reset(sel);
		if (rc == SQLITE_DONE)
			break;
		if ((rc & 0xff) == SQLITE_NOMEM) {
			err = fail_src(r, rc, table);
			goto out;
		}
		switch (skip_damage(probe_st, last, &next)) {
		case SKIP_END:
			goto done;
		case SKIP_ROW:
			r->n_guessed++;
			last = next;
			break;
		case SKIP_RESUME:
			if (last != INT64_MIN)
				r->n_guessed += (uint64_t)(next - last - 1);
			last = next - 1;
			break;
		}
	}
done:
	err = 0;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(probe_st);
	sqlite3_finalize(ins);
	return err;
}

/* hold_items, hold by hold for the holds taken over. */
static int copy_by_hold(struct recover *r, const char *table,
			uint64_t *ret_copied)
{
	sqlite3_stmt *holds = NULL, *sel = NULL, *ins = NULL;
	char sql[2048];
	int rc, err;

	rc = sqlite3_prepare_v2(r->dst, "SELECT id FROM holds ORDER BY rowid",
				-1, &holds, NULL);
	if (rc != SQLITE_OK) {
		err = fail_dst(r, rc, table);
		goto out;
	}
	snprintf(sql, sizeof(sql), "SELECT %s FROM \"%s\" WHERE hold_id = ?1",
		 r->cols, table);
	rc = sqlite3_prepare_v2(r->src, sql, -1, &sel, NULL);
	if (rc != SQLITE_OK) {
		err = fail_src(r, rc, table);
		goto out;
	}
	err = prepare_insert(r, table, false, &ins);
	if (err < 0)
		goto out;
	while ((rc = sqlite3_step(holds)) == SQLITE_ROW) {
		sqlite3_reset(sel);
		sqlite3_bind_value(sel, 1, sqlite3_column_value(holds, 0));
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
			r->n_read++;
			err = copy_row(r, sel, 0, ins, false);
			if (err < 0)
				goto out;
			*ret_copied += (uint64_t)err;
		}
		/* A damaged page loses this hold's items from there on. */
		if (rc != SQLITE_DONE)
			r->n_guessed++;
	}
	err = rc == SQLITE_DONE ? 0 : fail_dst(r, rc, table);
out:
	sqlite3_finalize(holds);
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	return err;
}

static int copy_table(struct recover *r, unsigned i)
{
	struct store_recover_table *t = &r->report->tables[i];
	char sql[256];
	int64_t n_before = -1;
	int err;

	t->name = tables[i].name;
	r->n_read = r->n_refused = r->n_guessed = 0;
	/* A table an older schema lacks: nothing to take over. */
	if (!src_has_table(r, t->name)) {
		t->lost_counted = true;
		return 0;
	}
	err = columns_of(r, t->name);
	if (err < 0)
		return err;
	if (tables[i].count_index) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM \"%s\" INDEXED BY \"%s\"",
			 t->name, tables[i].count_index);
		if (store_db_get_int(r->src, sql, &n_before) != SQLITE_OK)
			n_before = -1;
	}
	if (tables[i].by_hold)
		err = copy_by_hold(r, t->name, &t->copied);
	else
		err = copy_by_rowid(r, t->name, &t->copied);
	if (err < 0)
		return err;
	t->lost_counted = n_before >= 0;
	t->lost = r->n_refused;
	if (n_before >= 0)
		t->lost += (uint64_t)n_before > r->n_read ?
				   (uint64_t)n_before - r->n_read :
				   0;
	else
		t->lost += r->n_guessed;
	return 0;
}

static int exec_dst(struct recover *r, const char *sql)
{
	int rc = sqlite3_exec(r->dst, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail_dst(r, rc, sql);
}

/*
 * The outbox's seq never goes back: the new file goes on after the
 * highest the damaged one gave, even when those rows are lost.
 */
static int keep_sequence(struct recover *r)
{
	sqlite3_stmt *st = NULL;
	int64_t v, high = 0;
	int rc;

	if (store_db_get_int(
		    r->src,
		    "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'",
		    &v) == SQLITE_OK)
		high = v;
	if (store_db_get_int(r->src,
			     "SELECT max(rowid) FROM outbox"
			     " INDEXED BY sqlite_autoindex_outbox_1",
			     &v) == SQLITE_OK &&
	    v > high)
		high = v;
	if (high <= 0)
		return 0;
	rc = sqlite3_prepare_v2(r->dst,
				"INSERT INTO sqlite_sequence (name, seq)"
				" SELECT 'outbox', ?1 WHERE NOT EXISTS"
				" (SELECT 1 FROM sqlite_sequence"
				" WHERE name = 'outbox')",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, high);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_DONE)
		rc = sqlite3_prepare_v2(r->dst,
					"UPDATE sqlite_sequence SET seq = ?1"
					" WHERE name = 'outbox' AND seq < ?1",
					-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, high);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : fail_dst(r, rc, "sqlite_sequence");
}

/*
 * The unsent events the damaged file's indexes list but its table lost:
 * their seq from the index of unsent events, their UUID from the index
 * of UUIDs, neither of which reads the table. -1 when unknown.
 */
static int64_t lost_unsent(struct recover *r,
			   void (*cb)(int64_t seq, const char *uuid,
				      void *userdata),
			   void *userdata)
{
	sqlite3_stmt *seqs = NULL, *kept = NULL, *add = NULL, *st = NULL;
	int64_t n = 0;
	int rc;

	rc = sqlite3_exec(r->src,
			  "CREATE TEMP TABLE lost (seq INTEGER PRIMARY KEY)",
			  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(r->src,
					"SELECT seq FROM outbox"
					" INDEXED BY outbox_unsent"
					" WHERE sent = 0",
					-1, &seqs, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
			r->src, "INSERT INTO temp.lost (seq) VALUES (?1)", -1,
			&add, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(r->dst,
					"SELECT 1 FROM outbox WHERE seq = ?1"
					" AND sent = 0",
					-1, &kept, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(seqs)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(seqs, 0);

		sqlite3_reset(kept);
		sqlite3_bind_int64(kept, 1, seq);
		rc = sqlite3_step(kept);
		sqlite3_reset(kept);
		if (rc == SQLITE_ROW) {
			rc = SQLITE_OK;
			continue;
		}
		if (rc != SQLITE_DONE)
			break;
		n++;
		sqlite3_reset(add);
		sqlite3_bind_int64(add, 1, seq);
		rc = sqlite3_step(add);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	if (rc != SQLITE_DONE) {
		n = -1;
		goto out;
	}
	if (!cb || n == 0)
		goto out;
	rc = sqlite3_prepare_v2(r->src,
				"SELECT o.rowid, o.uuid FROM outbox AS o"
				" INDEXED BY sqlite_autoindex_outbox_1"
				" WHERE o.rowid IN (SELECT seq FROM temp.lost)"
				" ORDER BY o.rowid",
				-1, &st, NULL);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		cb(sqlite3_column_int64(st, 0),
		   (const char *)sqlite3_column_text(st, 1), userdata);
out:
	sqlite3_finalize(seqs);
	sqlite3_finalize(kept);
	sqlite3_finalize(add);
	sqlite3_finalize(st);
	return n;
}

static int open_src(struct recover *r)
{
	int64_t app_id, version, n;
	int rc;

	rc = open_readonly(r->damaged, &r->src);
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_CORRUPT &&
	    (rc & 0xff) != SQLITE_NOTADB)
		return store_fail_open(r->damaged, EIO, "cannot be opened: %s",
				       r->src ? sqlite3_errmsg(r->src) :
						sqlite3_errstr(rc));
	sqlite3_extended_result_codes(r->src, 1);
	sqlite3_db_config(r->src, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(r->src, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	/* Damaged cells are refused rather than followed. */
	sqlite3_exec(r->src, "PRAGMA cell_size_check = ON", NULL, NULL, NULL);

	rc = store_db_get_int(r->src, "PRAGMA application_id", &app_id);
	if (rc == SQLITE_OK)
		rc = store_db_get_int(r->src, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = store_db_get_int(r->src,
				      "SELECT count(*) FROM sqlite_schema", &n);
	if (rc != SQLITE_OK)
		return store_fail_open(r->damaged, EIO,
				       "not even its schema can be read (%s):"
				       " nothing can be copied",
				       sqlite3_errmsg(r->src));
	if (app_id != RECOVER_APPLICATION_ID || version < 1)
		return store_fail_open(r->damaged, ENOTSUP,
				       "not a lokerbuku database"
				       " (application_id %lld, version %lld)",
				       (long long)app_id, (long long)version);
	if (version > STORE_SCHEMA_VERSION)
		return store_fail_open(r->damaged, ENOTSUP,
				       "schema version %lld is newer than this"
				       " lokerctl knows (%d): recover it with"
				       " the lokerbuku that wrote it",
				       (long long)version,
				       STORE_SCHEMA_VERSION);
	r->report->schema_version = (unsigned)version;
	return 0;
}

/* The new file, of the current schema, with nothing in it yet. */
static int create_dst(struct recover *r)
{
	struct store *s;
	int rc;

	if (access(r->path, F_OK) == 0)
		return store_fail_open(r->path, EEXIST, "exists already");
	s = store_open(r->path, NULL);
	if (!s)
		return -errno;
	store_free(s);
	rc = sqlite3_open_v2(r->path, &r->dst,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return store_fail_open(r->path, EIO, "%s",
				       r->dst ? sqlite3_errmsg(r->dst) :
						sqlite3_errstr(rc));
	sqlite3_extended_result_codes(r->dst, 1);
	/* Rows whose parent was lost are refused, as lokerd would. */
	return exec_dst(r, "PRAGMA foreign_keys = ON;"
			   "PRAGMA synchronous = FULL;"
			   "BEGIN IMMEDIATE;"
			   "DELETE FROM sync_state;");
}

/* Reopened as lokerd will: its checks must pass, then it is flushed. */
static int verify_dst(struct recover *r)
{
	struct store *s;
	int err, fd;

	s = store_open(r->path, NULL);
	if (!s)
		return -errno;
	err = store_check_integrity(s);
	if (err < 0)
		err = store_fail_open(r->path, -err, "the copy: %s",
				      store_last_error(s));
	store_free(s);
	if (err < 0)
		return err;
	fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		err = store_fail_open(r->path, errno, "%s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return err;
}

static void remove_db(const char *path)
{
	char name[4096];

	unlink(path);
	snprintf(name, sizeof(name), "%s-wal", path);
	unlink(name);
	snprintf(name, sizeof(name), "%s-shm", path);
	unlink(name);
}

int store_recover(const char *damaged, const char *path,
		  void (*lost_event)(int64_t seq, const char *uuid,
				     void *userdata),
		  void *userdata, struct store_recover_report *ret)
{
	struct store_recover_report report = { .unsent_lost = -1 };
	struct recover r = {
		.damaged = damaged,
		.path = path,
		.report = &report,
	};
	int64_t v;
	int err;

	err = open_src(&r);
	if (err == 0)
		err = create_dst(&r);
	for (unsigned i = 0; err == 0 && i < ARRAY_SIZE(tables); i++)
		err = copy_table(&r, i);
	/*
	 * The server sends every hold and staff card again, in place of
	 * those lost; the counters of rejected and refused events start
	 * again (the refusals shown to staff are not copied).
	 */
	if (err == 0)
		err = exec_dst(&r, "DELETE FROM sync_state"
				   " WHERE key IN ('cursor', 'full_cursor');"
				   "INSERT INTO sync_state (key, value)"
				   " VALUES ('rejected_events', '0'),"
				   " ('refused_events', '0')"
				   " ON CONFLICT DO NOTHING;");
	if (err == 0)
		err = keep_sequence(&r);
	if (err == 0 &&
	    store_db_get_int(r.dst,
			     "SELECT count(*) FROM outbox WHERE sent = 0",
			     &v) == SQLITE_OK)
		report.unsent_kept = (uint64_t)v;
	if (err == 0)
		report.unsent_lost = lost_unsent(&r, lost_event, userdata);
	if (err == 0)
		err = exec_dst(&r, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
	sqlite3_close(r.src);
	if (r.dst && sqlite3_close(r.dst) != SQLITE_OK && err == 0)
		err = store_fail_open(path, EIO, "cannot close it");
	if (err == 0)
		err = verify_dst(&r);
	if (err < 0) {
		if (err != -EEXIST)
			remove_db(path);
		return err;
	}
	*ret = report;
	return 0;
}
