/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lokerhub's SQLite database: schema, small query helpers, shared shapes. */
#pragma once

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_SCHEMA_VERSION   9
#define DB_BUSY_TIMEOUT_MS  10000
#define DB_ID_MAX	    63 /* kiosk, hold, patron ids and barcodes */
#define DB_CURSOR_MAX	    255
#define DB_SHA256_HEX_LEN   64
#define DB_CACHE_STATEMENTS 64 /* kept compiled, per connection */

/*
 * Opens the database at path: with create, makes a new one (refused when a
 * database is there already); without, opens an existing one of our schema.
 * WAL, synchronous=FULL and a busy timeout, so the admin commands and the
 * server can use it at once. Prints what went wrong to stderr. The caller
 * closes *ret with db_close().
 */
int db_open(const char *path, bool create, sqlite3 **ret);

/*
 * Closes a connection db_open() or db_open_reader() made, with the
 * statements it kept; NULL is fine. -EBUSY (printed) when a statement of
 * the caller's was not given back.
 */
int db_close(sqlite3 *db);

/*
 * The statement of sql with one argument bound per character of types:
 * 's' a const char * (NULL binds NULL), 'I' an int64_t, 'i' an int.
 * Returns NULL when that fails (printed). Connections from db_open() and
 * db_open_reader() keep up to DB_CACHE_STATEMENTS statements compiled, by
 * their SQL text; the same SQL asked for again before db_done() gets a
 * statement of its own. The caller gives it back with db_done(), never
 * sqlite3_finalize().
 */
sqlite3_stmt *db_query(sqlite3 *db, const char *sql, const char *types, ...);

/* Gives back what db_query() handed out: reset for the next, or freed. */
void db_done(sqlite3_stmt *st);

/*
 * Runs a statement that returns no rows, arguments as db_query(). 0,
 * -EEXIST when a constraint refused it, -EIO otherwise (printed).
 */
int db_run(sqlite3 *db, const char *sql, const char *types, ...);

/*
 * Another connection to the database db_open() opened, for reads only
 * (PRAGMA query_only), to be used by one thread at a time. WAL: it reads
 * the last commit and never waits for a writer. The caller closes *ret
 * with db_close().
 */
int db_open_reader(const char *path, sqlite3 **ret);

/*
 * BEGIN IMMEDIATE (a writer waits its turn here, not halfway), COMMIT.
 * Inside this thread's group transaction (below), a savepoint in it.
 */
int db_begin(sqlite3 *db);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/*
 * Group commit: one transaction for the writes of several requests, made
 * durable at once by db_group_commit(). While it is open, db_begin() and
 * db_commit() of this thread on db open and release savepoints in it, and
 * db_rollback() undoes only the innermost. db_group_is_open(): still
 * there (a hard error may roll it all back). db_group_commit() ends it
 * either way: 0 once committed, and once on disk too when durable (a
 * connection with synchronous=NORMAL syncs the WAL for it then; with
 * FULL the commit did), -EIO when nothing of it was kept or it could not
 * be made durable.
 */
int db_group_begin(sqlite3 *db);
bool db_group_is_open(sqlite3 *db);
int db_group_commit(sqlite3 *db, bool durable);
void db_group_rollback(sqlite3 *db);

/* Reads the integer a one-row, one-column query yields. -ENOENT: no row. */
int db_get_int(sqlite3 *db, int64_t *ret, const char *sql, const char *types,
	       ...);

/* The next number of the change sequence the cursors count (in a write). */
int db_next_seq(sqlite3 *db, int64_t *ret);

/* The database's random id (8 hex digits) that cursors carry. */
int db_instance(sqlite3 *db, char ret[9]);

/* Microseconds since the epoch, now. */
int64_t db_now_usec(void);

/* usec as RFC 3339 text into ret; 0 or below gives JSON null in json. */
void db_format_time(int64_t usec, char ret[32]);
json_t *db_time_json(int64_t usec);

/* 1 to 63 characters from '!' to '~': the API's identifiers. */
bool db_is_id(const char *s);

/* SHA-256 of a token as lower-case hex. */
void db_sha256_hex(const char *s, char ret[DB_SHA256_HEX_LEN + 1]);

/*
 * An incremental SHA-256, for a digest of values without writing them out
 * as one text first. db_sha256_new() returns what the caller frees with
 * db_sha256_free() (NULL-safe), or NULL.
 */
struct db_sha256 *db_sha256_new(void);
void db_sha256_add(struct db_sha256 *h, const void *p, size_t n);
/* The digest of all added as lower-case hex; false when it failed. */
bool db_sha256_end_hex(struct db_sha256 *h, char ret[DB_SHA256_HEX_LEN + 1]);
void db_sha256_free(struct db_sha256 *h);

/*
 * The hold as the API sends it in changes and item lookups; NULL when
 * there is no such hold or on a database error. The caller owns it.
 */
json_t *db_hold_json(sqlite3 *db, const char *hold_id);
