// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerhub's SQLite database: schema, small query helpers, shared shapes. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db.h"
#include "protocol.h"

/*
 * Times are microseconds since the epoch on the server's clock, except
 * events.at_usec, which is the kiosk's. Every change a kiosk must hear of
 * (a hold routed to it or taken away, staff) carries the number of the
 * change sequence (meta 'change_seq') it happened at; changes cursors count
 * in it.
 */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value NOT NULL);"
	"CREATE TABLE kiosks ("
	" id TEXT PRIMARY KEY,"
	" token_sha256 TEXT NOT NULL UNIQUE,"
	" pin_required INTEGER NOT NULL DEFAULT 0,"
	" hold_window_days INTEGER NOT NULL DEFAULT 7,"
	" next_status_s INTEGER NOT NULL DEFAULT 60,"
	" created_usec INTEGER NOT NULL,"
	" status_usec INTEGER," /* last heartbeat, server clock */
	" status_json TEXT);"	/* that heartbeat, whole */
	"CREATE TABLE patrons ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL DEFAULT '',"
	" pin_hash TEXT);"
	"CREATE TABLE patron_credentials ("
	" patron_id TEXT NOT NULL REFERENCES patrons(id),"
	" hmac TEXT NOT NULL,"
	" PRIMARY KEY (patron_id, hmac));"
	"CREATE TABLE holds ("
	" id TEXT PRIMARY KEY,"
	" kiosk_id TEXT NOT NULL REFERENCES kiosks(id),"
	" patron_id TEXT NOT NULL REFERENCES patrons(id),"
	" size TEXT NOT NULL,"
	" code_hmac TEXT,"
	" expires_usec INTEGER,"
	/* pending loaded picked_up unloaded expired cancelled */
	" state TEXT NOT NULL,"
	" locker INTEGER,"
	" change_seq INTEGER NOT NULL,"
	" created_usec INTEGER NOT NULL,"
	" updated_usec INTEGER NOT NULL,"
	" loaded_usec INTEGER,"
	" picked_up_usec INTEGER);"
	"CREATE INDEX holds_kiosk_seq ON holds (kiosk_id, change_seq);"
	"CREATE TABLE hold_items ("
	" hold_id TEXT NOT NULL REFERENCES holds(id),"
	" pos INTEGER NOT NULL,"
	" barcode TEXT NOT NULL,"
	" title TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (hold_id, pos));"
	"CREATE INDEX hold_items_barcode ON hold_items (barcode);"
	/* A hold taken away from a kiosk, for its removed_holds. */
	"CREATE TABLE hold_removals ("
	" kiosk_id TEXT NOT NULL,"
	" hold_id TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" PRIMARY KEY (kiosk_id, hold_id));"
	"CREATE INDEX hold_removals_seq ON hold_removals (kiosk_id, seq);"
	/* Removed staff stay as removed = 1, for removed_staff. */
	"CREATE TABLE staff ("
	" credential TEXT PRIMARY KEY,"
	" pin_hash TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" removed INTEGER NOT NULL DEFAULT 0,"
	" seq INTEGER NOT NULL);"
	"CREATE INDEX staff_seq ON staff (seq);"
	/* Every event id ever accepted or rejected: the de-duplication. */
	"CREATE TABLE events ("
	" n INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" kiosk_id TEXT NOT NULL,"
	" seq INTEGER,"
	" type TEXT NOT NULL,"
	" at_usec INTEGER,"
	" payload TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" reason TEXT,"
	" received_usec INTEGER NOT NULL);"
	"CREATE INDEX events_kiosk ON events (kiosk_id, n);"
	"CREATE TABLE commands ("
	" n INTEGER PRIMARY KEY AUTOINCREMENT," /* the id is 'c-<n>' */
	" kiosk_id TEXT NOT NULL,"
	" type TEXT NOT NULL,"
	" locker INTEGER,"
	" hold_id TEXT,"
	" reason TEXT,"
	" created_usec INTEGER NOT NULL,"
	" done_usec INTEGER);"
	"CREATE INDEX commands_kiosk ON commands (kiosk_id, done_usec);"
	"CREATE TABLE faults ("
	" n INTEGER PRIMARY KEY AUTOINCREMENT,"
	" endpoint TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" remaining INTEGER NOT NULL," /* 0: until cleared */
	" retry_after_s INTEGER,"
	" delay_ms INTEGER,"
	" created_usec INTEGER NOT NULL);",
	/* 2: v1.1, commands that expire (issue 20). */
	"ALTER TABLE commands ADD COLUMN expires_usec INTEGER;",
	/* 3: who asked for a remote command (kiosks record it). */
	"ALTER TABLE commands ADD COLUMN by_user TEXT;",
	/*
	 * 4: the kiosks a staff card is sent to (issue 19); a card with no
	 * row here goes to every kiosk, as before.
	 */
	"CREATE TABLE staff_kiosks ("
	" credential TEXT NOT NULL,"
	" kiosk_id TEXT NOT NULL,"
	" PRIMARY KEY (credential, kiosk_id));",
	/*
	 * 5: v1.1, the library system's refusal of this patron's checkouts
	 * (an expired member, the loan limit), as `patron-add --refuse`
	 * sets it: pickups are taken and answered as refused (issue 20).
	 */
	("ALTER TABLE patrons ADD COLUMN refuse_code TEXT;"
	 "ALTER TABLE patrons ADD COLUMN refuse_text TEXT;"),
	/*
	 * 6: v1.1 resend_events, the first event a kiosk is to send again
	 * (after a restore from a backup; issue 20).
	 */
	"ALTER TABLE commands ADD COLUMN from_seq INTEGER;",
	/*
	 * 7: v1.1, the date each item is lent until, and the patrons who
	 * need a low locker (reach "low") (issue 22).
	 */
	("ALTER TABLE hold_items ADD COLUMN due TEXT;"
	 "ALTER TABLE patrons ADD COLUMN reach TEXT;"),
	/*
	 * 8: event retention (issue 26). Events older than the period
	 * leave events for event_archive, zlib-compressed JSON lines of up
	 * to 256 events a row (bytes: their length uncompressed); their ids
	 * stay in event_ids, so that one sent again is still a duplicate.
	 */
	("CREATE TABLE event_archive ("
	 " n INTEGER PRIMARY KEY,"
	 " last_n INTEGER NOT NULL," /* events.n of the last one in it */
	 " count INTEGER NOT NULL,"
	 " from_usec INTEGER NOT NULL," /* received_usec, first and last */
	 " to_usec INTEGER NOT NULL,"
	 " bytes INTEGER NOT NULL,"
	 " data BLOB NOT NULL);"
	 "CREATE TABLE event_ids ("
	 " id TEXT PRIMARY KEY,"
	 " kiosk_id TEXT NOT NULL,"
	 " seq INTEGER,"
	 " rejected INTEGER NOT NULL) WITHOUT ROWID;"),
	/*
	 * 9: what a heartbeat's lockers are compared with (issue 26):
	 * holds_version counts the changes to a kiosk's holds that the
	 * comparison reads, lockers_seen is the SHA-256 (hex) of the last
	 * heartbeat compared, its lockers, backlog and that holds_version.
	 * The same again cannot compare differently, so it is not compared.
	 */
	("ALTER TABLE kiosks ADD COLUMN holds_version INTEGER NOT NULL"
	 " DEFAULT 0;"
	 "ALTER TABLE kiosks ADD COLUMN lockers_seen TEXT;"
	 "CREATE TRIGGER holds_version_insert AFTER INSERT ON holds BEGIN"
	 " UPDATE kiosks SET holds_version = holds_version + 1"
	 " WHERE id = new.kiosk_id; END;"
	 "CREATE TRIGGER holds_version_update"
	 " AFTER UPDATE OF id, kiosk_id, state, locker ON holds BEGIN"
	 " UPDATE kiosks SET holds_version = holds_version + 1"
	 " WHERE id IN (old.kiosk_id, new.kiosk_id); END;"
	 "CREATE TRIGGER holds_version_delete AFTER DELETE ON holds BEGIN"
	 " UPDATE kiosks SET holds_version = holds_version + 1"
	 " WHERE id = old.kiosk_id; END;"),
};

#define N_MIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(N_MIGRATIONS == DB_SCHEMA_VERSION,
	       "one migration per schema version");

static void print_error(sqlite3 *db, const char *what)
{
	fprintf(stderr, "lokerhub: database: %s: %s\n", what,
		sqlite3_errmsg(db));
}

/*
 * Prepared statements, kept per connection by their SQL text
 * (issue 26): compiling its SQL
 * was most of what a request cost. A connection db_open() or
 * db_open_reader() made has a cache of up to DB_CACHE_STATEMENTS; each is
 * handed out by db_query() to one caller at a time and comes back reset
 * by db_done(). SQL asked for while its statement is out (a query run
 * inside another's loop) gets one of its own, finalized by db_done(). The
 * caches are found by connection in a list: a connection is used by one
 * thread at a time, its cache with it, and the lock is only the list's.
 */
struct db_cached {
	sqlite3_stmt *st;
	char *sql;     /* as asked for (sqlite3_sql() may differ) */
	uint64_t used; /* the cache's tick at the last hand-out */
	bool out;      /* handed out, not yet back */
};

struct db_cache {
	struct db_cache *next;
	sqlite3 *db;
	uint64_t tick;
	unsigned n;
	struct db_cached e[DB_CACHE_STATEMENTS];
};

static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct db_cache *caches;

static struct db_cache *cache_of(sqlite3 *db)
{
	struct db_cache *c;

	pthread_mutex_lock(&caches_lock);
	for (c = caches; c && c->db != db; c = c->next)
		;
	pthread_mutex_unlock(&caches_lock);
	return c;
}

/* Without memory for a cache, the connection works without one. */
static void cache_add(sqlite3 *db)
{
	struct db_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return;
	c->db = db;
	pthread_mutex_lock(&caches_lock);
	c->next = caches;
	caches = c;
	pthread_mutex_unlock(&caches_lock);
}

int db_close(sqlite3 *db)
{
	struct db_cache **p, *c = NULL;

	if (!db)
		return 0;
	pthread_mutex_lock(&caches_lock);
	for (p = &caches; *p; p = &(*p)->next) {
		if ((*p)->db == db) {
			c = *p;
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&caches_lock);
	for (unsigned i = 0; c && i < c->n; i++) {
		if (c->e[i].out)
			fprintf(stderr,
				"lokerhub: database: closed with a statement still in use: %s\n",
				c->e[i].sql);
		sqlite3_finalize(c->e[i].st);
		free(c->e[i].sql);
	}
	free(c);
	if (sqlite3_close(db) != SQLITE_OK) {
		print_error(db, "close");
		return -EBUSY;
	}
	return 0;
}

/*
 * The cached statement of sql, handed out; or a new one, kept when there
 * is room (the one used longest ago that is not out makes room); or, when
 * every one is out, one of the caller's own.
 */
static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
	struct db_cache *c = cache_of(db);
	struct db_cached *slot = NULL;
	sqlite3_stmt *st;
	bool busy = false;
	char *copy;
	int rc;

	for (unsigned i = 0; c && i < c->n; i++) {
		struct db_cached *e = &c->e[i];

		if (strcmp(e->sql, sql) != 0)
			continue;
		if (e->out) {
			busy = true;
			break;
		}
		e->out = true;
		e->used = ++c->tick;
		return e->st;
	}
	if (c && !busy && c->n < DB_CACHE_STATEMENTS) {
		slot = &c->e[c->n];
	} else if (c && !busy) {
		for (unsigned i = 0; i < c->n; i++)
			if (!c->e[i].out &&
			    (!slot || c->e[i].used < slot->used))
				slot = &c->e[i];
	}
	rc = sqlite3_prepare_v3(
		db, sql, -1, slot ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL);
	if (rc != SQLITE_OK || !st) {
		if (rc != SQLITE_OK)
			print_error(db, "prepare");
		else
			fprintf(stderr,
				"lokerhub: database: prepare: no statement in \"%s\"\n",
				sql);
		sqlite3_finalize(st);
		return NULL;
	}
	copy = slot ? strdup(sql) : NULL;
	if (copy) {
		if (slot == &c->e[c->n]) {
			c->n++;
		} else {
			sqlite3_finalize(slot->st);
			free(slot->sql);
		}
		*slot = (struct db_cached){
			.st = st, .sql = copy, .used = ++c->tick, .out = true
		};
	}
	return st;
}

void db_done(sqlite3_stmt *st)
{
	struct db_cache *c;

	if (!st)
		return;
	c = cache_of(sqlite3_db_handle(st));
	for (unsigned i = 0; c && i < c->n; i++) {
		if (c->e[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			c->e[i].out = false;
			return;
		}
	}
	sqlite3_finalize(st);
}

static int migrate(sqlite3 *db, int from)
{
	char sql[64];
	int err;

	err = db_begin(db);
	for (int v = from; err == 0 && v < N_MIGRATIONS; v++) {
		if (sqlite3_exec(db, migrations[v], NULL, NULL, NULL) !=
		    SQLITE_OK) {
			print_error(db, "migration");
			err = -EIO;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 DB_SCHEMA_VERSION);
	if (err == 0 && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		print_error(db, "migration");
		err = -EIO;
	}
	if (err < 0) {
		db_rollback(db);
		return err;
	}
	return db_commit(db);
}

/*
 * The database holds the site key: it and its -wal and -shm are the
 * owner's alone (lokerhub runs with umask 077, so it makes them so). One
 * others may read, made by an older lokerhub or copied in, is made
 * private, said once; one that cannot be is refused.
 */
static int make_private(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char name[4096];
	struct stat st;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		mode_t mode;

		if ((size_t)snprintf(name, sizeof(name), "%s%s", path,
				     suffixes[i]) >= sizeof(name))
			return -ENAMETOOLONG;
		if (stat(name, &st) < 0) {
			if (errno == ENOENT)
				continue;
			fprintf(stderr, "lokerhub: %s: %s\n", name,
				strerror(errno));
			return -errno;
		}
		if (!S_ISREG(st.st_mode) || !(st.st_mode & 0077))
			continue;
		mode = st.st_mode & 0700;
		if (chmod(name, mode) < 0) {
			fprintf(stderr,
				"lokerhub: %s: others can read it (mode %04o) and it holds the site key; "
				"cannot make it private: %s (chmod 0600 it)\n",
				name, (unsigned)(st.st_mode & 07777),
				strerror(errno));
			return -EPERM;
		}
		fprintf(stderr,
			"lokerhub: %s: others could read it (mode %04o) and it holds the site key; "
			"made it %04o\n",
			name, (unsigned)(st.st_mode & 07777), (unsigned)mode);
	}
	return 0;
}

int db_open(const char *path, bool create, sqlite3 **ret)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
		    (create ? SQLITE_OPEN_CREATE : 0);
	int64_t version = 0;
	sqlite3 *db = NULL;
	struct stat st;
	int err;

	if (!create && stat(path, &st) < 0) {
		fprintf(stderr,
			"lokerhub: %s: %s (make it with 'lokerhub -d %s init')\n",
			path, strerror(errno), path);
		return -errno;
	}
	err = make_private(path);
	if (err < 0)
		return err;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		fprintf(stderr, "lokerhub: %s: %s\n", path,
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db, 1);
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode = WAL;"
			 "PRAGMA synchronous = FULL;"
			 "PRAGMA foreign_keys = ON;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "lokerhub: %s: %s\n", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -EIO;
	}
	err = db_get_int(db, &version, "PRAGMA user_version", "");
	if (err < 0) {
		sqlite3_close(db);
		return err;
	}
	if (create && version != 0) {
		fprintf(stderr, "lokerhub: %s: a database is there already\n",
			path);
		sqlite3_close(db);
		return -EEXIST;
	}
	if (!create && version == 0) {
		fprintf(stderr,
			"lokerhub: %s: not a lokerhub database (make one with 'init')\n",
			path);
		sqlite3_close(db);
		return -EINVAL;
	}
	if (version > DB_SCHEMA_VERSION) {
		fprintf(stderr,
			"lokerhub: %s: schema version %lld is newer than this lokerhub knows (%d)\n",
			path, (long long)version, DB_SCHEMA_VERSION);
		sqlite3_close(db);
		return -EPROTO;
	}
	if (version < DB_SCHEMA_VERSION) {
		err = migrate(db, (int)version);
		if (err < 0) {
			sqlite3_close(db);
			return err;
		}
	}
	cache_add(db);
	*ret = db;
	return 0;
}

int db_open_reader(const char *path, sqlite3 **ret)
{
	int64_t version = 0;
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		fprintf(stderr, "lokerhub: %s: %s\n", path,
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db, 1);
	/*
	 * WAL: a reader sees the last commit and never waits for a writer.
	 * query_only: a read that tried to write would take the write lock.
	 */
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode = WAL;"
			 "PRAGMA query_only = ON;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    db_get_int(db, &version, "PRAGMA user_version", "") < 0 ||
	    version != DB_SCHEMA_VERSION) {
		fprintf(stderr, "lokerhub: %s: cannot open it to read: %s\n",
			path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -EIO;
	}
	cache_add(db);
	*ret = db;
	return 0;
}

static sqlite3_stmt *vquery(sqlite3 *db, const char *sql, const char *types,
			    va_list ap)
{
	sqlite3_stmt *st;
	int rc = SQLITE_OK;

	st = prepare(db, sql);
	if (!st)
		return NULL;
	for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
		const char *s;

		switch (types[i]) {
		case 's':
			s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, i + 1, s, -1,
						   SQLITE_TRANSIENT) :
				 sqlite3_bind_null(st, i + 1);
			break;
		case 'I':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'i':
			rc = sqlite3_bind_int(st, i + 1, va_arg(ap, int));
			break;
		default:
			rc = SQLITE_MISUSE;
		}
	}
	if (rc != SQLITE_OK) {
		print_error(db, "bind");
		db_done(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *db_query(sqlite3 *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, types);
	st = vquery(db, sql, types, ap);
	va_end(ap);
	return st;
}

int db_run(sqlite3 *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, types);
	st = vquery(db, sql, types, ap);
	va_end(ap);
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	db_done(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return -EEXIST;
	print_error(db, "write");
	return -EIO;
}

int db_get_int(sqlite3 *db, int64_t *ret, const char *sql, const char *types,
	       ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, types);
	st = vquery(db, sql, types, ap);
	va_end(ap);
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		print_error(db, "read");
	db_done(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/*
 * The group transaction of this thread (serve's writer), if one is open:
 * db_begin() on its connection opens a savepoint in it instead of a
 * transaction of its own, db_commit() releases it, db_rollback() undoes
 * only it. Nothing is durable before db_group_commit().
 */
static _Thread_local sqlite3 *group_db;
static _Thread_local unsigned group_depth;

/*
 * A transaction's BEGIN, COMMIT, ROLLBACK or savepoint, through the
 * statement cache: sqlite3_exec() would compile it on every request.
 */
static int tx(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = prepare(db, sql);
	int rc;

	if (!st)
		return SQLITE_ERROR;
	rc = sqlite3_step(st);
	db_done(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int db_begin(sqlite3 *db)
{
	const char *sql = "BEGIN IMMEDIATE";

	if (db == group_db) {
		/* The group was lost (a hard error rolled it back): no
		 * savepoint may start a transaction of its own. */
		if (sqlite3_get_autocommit(db))
			return -EIO;
		sql = "SAVEPOINT db_nested";
	}
	if (tx(db, sql) != SQLITE_OK) {
		print_error(db, "begin");
		return -EIO;
	}
	if (db == group_db)
		group_depth++;
	return 0;
}

int db_commit(sqlite3 *db)
{
	const char *sql = "COMMIT";

	if (db == group_db) {
		if (group_depth == 0 || sqlite3_get_autocommit(db))
			return -EIO;
		sql = "RELEASE db_nested";
	}
	if (tx(db, sql) != SQLITE_OK) {
		print_error(db, "commit");
		db_rollback(db);
		return -EIO;
	}
	if (db == group_db)
		group_depth--;
	return 0;
}

void db_rollback(sqlite3 *db)
{
	if (sqlite3_get_autocommit(db))
		return;
	if (db != group_db) {
		tx(db, "ROLLBACK");
		return;
	}
	/* Only what db_begin() began: the group is its writer's to end. */
	if (group_depth == 0)
		return;
	tx(db, "ROLLBACK TO db_nested");
	tx(db, "RELEASE db_nested");
	group_depth--;
}

int db_group_begin(sqlite3 *db)
{
	if (group_db)
		return -EBUSY;
	if (tx(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
		print_error(db, "begin");
		return -EIO;
	}
	group_db = db;
	group_depth = 0;
	return 0;
}

bool db_group_is_open(sqlite3 *db)
{
	return db == group_db && !sqlite3_get_autocommit(db);
}

/* What db committed is on disk once its WAL is: syncs it. */
static int sync_wal(sqlite3 *db)
{
	sqlite3_file *wal = NULL;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
				 &wal) != SQLITE_OK ||
	    !wal || !wal->pMethods ||
	    wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK) {
		fprintf(stderr,
			"lokerhub: database: cannot sync the write-ahead log\n");
		return -EIO;
	}
	return 0;
}

int db_group_commit(sqlite3 *db, bool durable)
{
	int err = 0;

	if (db != group_db)
		return -EINVAL;
	group_db = NULL;
	if (group_depth > 0 || sqlite3_get_autocommit(db) ||
	    tx(db, "COMMIT") != SQLITE_OK) {
		if (!sqlite3_get_autocommit(db))
			print_error(db, "commit");
		else
			fprintf(stderr,
				"lokerhub: database: the group transaction was lost\n");
		err = -EIO;
	}
	group_depth = 0;
	if (!sqlite3_get_autocommit(db))
		tx(db, "ROLLBACK");
	if (err == 0 && durable)
		err = sync_wal(db);
	return err;
}

void db_group_rollback(sqlite3 *db)
{
	if (db != group_db)
		return;
	group_db = NULL;
	group_depth = 0;
	if (!sqlite3_get_autocommit(db))
		tx(db, "ROLLBACK");
}

int db_next_seq(sqlite3 *db, int64_t *ret)
{
	int err = db_run(db,
			 "UPDATE meta SET value = value + 1"
			 " WHERE key = 'change_seq'",
			 "");

	return err   ?:
		       db_get_int(
			       db, ret,
			       "SELECT value FROM meta WHERE key = 'change_seq'",
			       "");
}

int db_instance(sqlite3 *db, char ret[9])
{
	sqlite3_stmt *st = db_query(
		db, "SELECT value FROM meta WHERE key = 'instance'", "");
	int err = -EIO;

	if (!st)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == 8) {
		memcpy(ret, sqlite3_column_text(st, 0), 9);
		err = 0;
	}
	db_done(st);
	return err;
}

int64_t db_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void db_format_time(int64_t usec, char ret[32])
{
	protocol_format_time(usec, ret);
}

json_t *db_time_json(int64_t usec)
{
	char text[32];

	if (usec <= 0)
		return json_null();
	protocol_format_time(usec, text);
	return json_string(text);
}

bool db_is_id(const char *s)
{
	return protocol_is_token(s, DB_ID_MAX);
}

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_hex(const unsigned char md[SHA256_DIGEST_LENGTH],
		       char ret[DB_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		ret[2 * i] = hex[md[i] >> 4];
		ret[2 * i + 1] = hex[md[i] & 0xf];
	}
	ret[DB_SHA256_HEX_LEN] = '\0';
}

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/*
 * Once a request (the token). SHA256() looks the algorithm up by name each
 * time, which cost more than the rest of the check: it is looked up once.
 */
void db_sha256_hex(const char *s, char ret[DB_SHA256_HEX_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md || !EVP_Digest(s, strlen(s), md, NULL, sha256_md, NULL))
		SHA256((const unsigned char *)s, strlen(s), md);
	sha256_hex(md, ret);
}

/*
 * Small values are gathered here first: each EVP_DigestUpdate() goes
 * through the provider's dispatch, and a heartbeat's lockers are some 50
 * values of a few bytes.
 */
struct db_sha256 {
	EVP_MD_CTX *ctx;
	bool failed;
	size_t len;
	unsigned char buf[256];
};

struct db_sha256 *db_sha256_new(void)
{
	struct db_sha256 *h;

	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md)
		return NULL;
	h = malloc(sizeof(*h));
	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	h->failed = false;
	h->len = 0;
	if (!h->ctx || !EVP_DigestInit_ex2(h->ctx, sha256_md, NULL)) {
		db_sha256_free(h);
		return NULL;
	}
	return h;
}

static void sha256_flush(struct db_sha256 *h)
{
	if (h->len && !EVP_DigestUpdate(h->ctx, h->buf, h->len))
		h->failed = true;
	h->len = 0;
}

void db_sha256_add(struct db_sha256 *h, const void *p, size_t n)
{
	if (h->len + n > sizeof(h->buf)) {
		sha256_flush(h);
		if (n > sizeof(h->buf)) {
			if (!EVP_DigestUpdate(h->ctx, p, n))
				h->failed = true;
			return;
		}
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
}

bool db_sha256_end_hex(struct db_sha256 *h, char ret[DB_SHA256_HEX_LEN + 1])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned int n = 0;

	sha256_flush(h);
	if (h->failed || !EVP_DigestFinal_ex(h->ctx, md, &n) || n != sizeof(md))
		return false;
	sha256_hex(md, ret);
	return true;
}

void db_sha256_free(struct db_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

/* Column i as text, or NULL for a NULL column. */
static const char *text_or_null(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

json_t *db_hold_json(sqlite3 *db, const char *hold_id)
{
	sqlite3_stmt *st;
	json_t *hold = NULL, *creds = NULL, *items = NULL;
	int rc;

	st = db_query(db,
		      "SELECT h.size, p.name, h.code_hmac, p.pin_hash,"
		      " h.expires_usec, h.patron_id,"
		      " CASE h.state WHEN 'loaded' THEN h.locker END, p.reach"
		      " FROM holds h JOIN patrons p ON p.id = h.patron_id"
		      " WHERE h.id = ?",
		      "s", hold_id);
	if (!st)
		return NULL;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	creds = json_array();
	items = json_array();
	hold = json_pack("{s:s, s:s, s:s, s:O, s:s?, s:s?, s:O, s:o, s:s*}",
			 "id", hold_id, "size", text_or_null(st, 0),
			 "patron_name", text_or_null(st, 1), "credentials",
			 creds, "code", text_or_null(st, 2), "pin",
			 text_or_null(st, 3), "items", items, "expires_at",
			 db_time_json(sqlite3_column_int64(st, 4)), "reach",
			 text_or_null(st, 7));
	if (!hold || !creds || !items)
		goto fail;
	/* v1.1: where it waits, for a kiosk whose database was reset. */
	if (sqlite3_column_type(st, 6) != SQLITE_NULL &&
	    json_object_set_new(hold, "locker",
				json_integer(sqlite3_column_int(st, 6))) < 0)
		goto fail;
	db_done(st);

	/* At most 4: the kiosk takes no more per hold. */
	st = db_query(db,
		      "SELECT hmac FROM patron_credentials"
		      " WHERE patron_id = (SELECT patron_id FROM holds"
		      " WHERE id = ?) ORDER BY rowid LIMIT 4",
		      "s", hold_id);
	if (!st)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(creds, json_string(text_or_null(st, 0)));
	if (rc != SQLITE_DONE)
		goto fail;
	db_done(st);

	st = db_query(db,
		      "SELECT barcode, title, due FROM hold_items"
		      " WHERE hold_id = ? ORDER BY pos",
		      "s", hold_id);
	if (!st)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *title = text_or_null(st, 1);
		const char *due = text_or_null(st, 2);

		json_array_append_new(
			items, json_pack("{s:s, s:s*, s:s*}", "barcode",
					 text_or_null(st, 0), "title",
					 title && title[0] ? title : NULL,
					 "due", due && due[0] ? due : NULL));
	}
	if (rc != SQLITE_DONE)
		goto fail;
	goto out;
fail:
	print_error(db, "hold");
	json_decref(hold);
	hold = NULL;
out:
	db_done(st);
	json_decref(creds);
	json_decref(items);
	return hold;
}
