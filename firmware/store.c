// SPDX-License-Identifier: GPL-2.0-or-later
/* The kiosk's SQLite database: schema, migrations, records and the outbox. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "credential.h"
#include "store-private.h"
#include "store.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define STORE_BUSY_TIMEOUT_MS	 5000
#define STORE_MAX_UNSENT_DEFAULT 1000000
/* Pruning is due again after this many events recorded or marked sent. */
#define STORE_PRUNE_EVERY 256
/*
 * Pages in the WAL after which a checkpoint is due (SQLite's own
 * autocheckpoint), and past which the store checkpoints itself, on the
 * caller's thread, should nobody have.
 */
#define STORE_WAL_CHECKPOINT_PAGES 1000
#define STORE_WAL_PAGES_MAX	   65536
/* How much of a backup's copy may wait to be written. */
#define STORE_COPY_SYNC_BYTES (1 << 20)
/* "LKRB": tells our databases from other SQLite files. */
#define STORE_APPLICATION_ID 0x4c4b5242

/*
 * Migration N takes user_version N-1 to N and sets it itself, so a
 * migration and its version number commit together. Never edit one that
 * has shipped: add the next.
 */
static const char *const migrations[] = {
	/* 1: the first schema. */
	"CREATE TABLE lockers ("
	"  number INTEGER PRIMARY KEY CHECK (number BETWEEN 1 AND 128),"
	"  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
	/* New fault kinds need no migration: any lower-case name. */
	"  fault TEXT NOT NULL DEFAULT 'none'"
	"    CHECK (fault <> '' AND fault NOT GLOB '*[^a-z_]*'),"
	"  returns INTEGER NOT NULL DEFAULT 0 CHECK (returns >= 0),"
	/*
	 * The opening whose locker_unlocked is recorded and whose outcome is
	 * not: after a crash nobody knows what is in the locker.
	 */
	"  opening TEXT NOT NULL DEFAULT 'none' CHECK (opening IN"
	"    ('none', 'pickup', 'load', 'unload', 'return'))"
	") STRICT;"
	"CREATE TABLE holds ("
	"  id TEXT PRIMARY KEY NOT NULL"
	"    CHECK (length(id) BETWEEN 1 AND 63 AND id NOT GLOB '*[^!-~]*'),"
	"  state TEXT NOT NULL CHECK (state IN"
	"    ('pending', 'loaded', 'expired', 'picked_up', 'unloaded')),"
	"  locker INTEGER REFERENCES lockers (number),"
	"  size TEXT NOT NULL CHECK (size IN ('small', 'medium', 'large')),"
	"  patron_name TEXT NOT NULL DEFAULT ''"
	"    CHECK (length(CAST(patron_name AS BLOB)) <= 47),"
	"  code_hmac TEXT CHECK (length(code_hmac) = 64"
	"    AND code_hmac NOT GLOB '*[^0-9a-f]*'),"
	"  pin_hash TEXT CHECK (length(pin_hash) BETWEEN 1 AND 160),"
	"  loaded_at_usec INTEGER NOT NULL DEFAULT 0"
	"    CHECK (loaded_at_usec >= 0),"
	"  expires_at_usec INTEGER NOT NULL DEFAULT 0"
	"    CHECK (expires_at_usec >= 0),"
	"  created_at_usec INTEGER NOT NULL,"
	"  finished_at_usec INTEGER,"
	/* The core's rule: a hold is in a locker exactly while it waits there. */
	"  CHECK ((locker IS NOT NULL) = (state IN ('loaded', 'expired')))"
	") STRICT;"
	"CREATE UNIQUE INDEX holds_locker ON holds (locker)"
	"  WHERE locker IS NOT NULL;"
	"CREATE INDEX holds_created ON holds (created_at_usec);"
	"CREATE TABLE hold_credentials ("
	"  hold_id TEXT NOT NULL REFERENCES holds (id) ON DELETE CASCADE,"
	"  hmac TEXT NOT NULL"
	"    CHECK (length(hmac) = 64 AND hmac NOT GLOB '*[^0-9a-f]*'),"
	"  PRIMARY KEY (hold_id, hmac)"
	") STRICT;"
	"CREATE INDEX hold_credentials_hmac ON hold_credentials (hmac);"
	"CREATE TABLE hold_items ("
	"  hold_id TEXT NOT NULL REFERENCES holds (id) ON DELETE CASCADE,"
	"  position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 15),"
	"  barcode TEXT NOT NULL CHECK (length(barcode) BETWEEN 1 AND 63"
	"    AND barcode NOT GLOB '*[^!-~]*'),"
	"  title TEXT NOT NULL DEFAULT ''"
	"    CHECK (length(CAST(title AS BLOB)) <= 255),"
	"  PRIMARY KEY (hold_id, position)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE staff ("
	"  credential_hmac TEXT PRIMARY KEY NOT NULL"
	"    CHECK (length(credential_hmac) = 64"
	"      AND credential_hmac NOT GLOB '*[^0-9a-f]*'),"
	"  pin_hash TEXT NOT NULL CHECK (length(pin_hash) BETWEEN 1 AND 160),"
	"  role TEXT NOT NULL CHECK (role IN ('staff', 'admin'))"
	") STRICT;"
	"CREATE TABLE outbox ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36"
	"    AND uuid NOT GLOB '*[^0-9a-f-]*'),"
	"  type TEXT NOT NULL CHECK (type <> '' AND type NOT GLOB '*[^a-z_]*'),"
	"  at_usec INTEGER NOT NULL,"
	/*
	 * jansson wrote it; json_valid() is not allowed here with
	 * trusted_schema off, so check only that it is an object.
	 */
	"  payload TEXT NOT NULL CHECK (payload GLOB '{*}'),"
	"  sent INTEGER NOT NULL DEFAULT 0 CHECK (sent IN (0, 1))"
	") STRICT;"
	"CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent = 0;"
	/*
	 * The server de-duplicates by UUID, so an event must never change
	 * once written; only its sent flag goes 0 -> 1, and only sent events
	 * may be pruned.
	 */
	"CREATE TRIGGER outbox_append_only"
	"  BEFORE UPDATE OF seq, uuid, type, at_usec, payload ON outbox"
	"  BEGIN SELECT RAISE(ABORT, 'outbox events are append-only'); END;"
	"CREATE TRIGGER outbox_sent_once BEFORE UPDATE OF sent ON outbox"
	"  WHEN OLD.sent = 1 AND NEW.sent = 0"
	"  BEGIN SELECT RAISE(ABORT, 'outbox events cannot be unsent'); END;"
	"CREATE TRIGGER outbox_keep_unsent BEFORE DELETE ON outbox"
	"  WHEN OLD.sent = 0"
	"  BEGIN SELECT RAISE(ABORT, 'unsent events cannot be deleted'); END;"
	"PRAGMA application_id = 1280004674;"
	"PRAGMA user_version = 1;",
	/* 2: staff load a hold by scanning one of its books. */
	"CREATE INDEX hold_items_barcode ON hold_items (barcode);"
	"PRAGMA user_version = 2;",
	/* 3: sync with the library's server. */
	"ALTER TABLE outbox ADD COLUMN rejected TEXT"
	"  CHECK (rejected IS NULL OR (sent = 1"
	"    AND length(CAST(rejected AS BLOB)) BETWEEN 1 AND 255));"
	"CREATE TABLE sync_state ("
	"  key TEXT PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 1 AND 32"
	"    AND key NOT GLOB '*[^a-z_]*'),"
	"  value TEXT NOT NULL CHECK (length(CAST(value AS BLOB)) <= 1024)"
	") STRICT;"
	"INSERT INTO sync_state (key, value) VALUES ('rejected_events', '0');"
	/* The ids a full set of changes has listed so far. */
	"CREATE TABLE full_seen ("
	"  kind TEXT NOT NULL CHECK (kind IN ('hold', 'staff')),"
	"  id TEXT NOT NULL,"
	"  PRIMARY KEY (kind, id)"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE commands ("
	"  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 63"
	"    AND id NOT GLOB '*[^!-~]*'),"
	"  done_at_usec INTEGER NOT NULL,"
	"  result TEXT NOT NULL CHECK (result <> '' AND result NOT GLOB '*[^a-z_]*'),"
	"  acked INTEGER NOT NULL DEFAULT 0 CHECK (acked IN (0, 1))"
	") STRICT;"
	"PRAGMA user_version = 3;",
	/*
	 * 4: the sent events alone, in order: pruning them (by count or by
	 * age) walks these, not a backlog of a million unsent events.
	 */
	"CREATE INDEX outbox_sent ON outbox (seq) WHERE sent = 1;"
	"PRAGMA user_version = 4;",
	/*
	 * 5: the guessing defence (kiosk.h), so that a restart or a power
	 * cut does not give a guesser fresh tries. One row per hold or staff
	 * card with wrong PINs or a lock-out, and one for the code budget.
	 */
	"CREATE TABLE guard ("
	"  kind TEXT NOT NULL CHECK (kind IN ('codes', 'hold', 'staff')),"
	"  key TEXT NOT NULL CHECK (length(key) <= 64"
	"    AND key NOT GLOB '*[^!-~]*'),"
	"  failures INTEGER NOT NULL DEFAULT 0"
	"    CHECK (failures BETWEEN 0 AND 1000),"
	"  until_usec INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (kind, key)"
	") STRICT;"
	"PRAGMA user_version = 5;",
	/*
	 * 6: retention in days. A finished hold past it keeps its id, state
	 * and times (so the server cannot hand it out again) and loses who
	 * it was for and what was in it.
	 */
	"ALTER TABLE holds ADD COLUMN wiped INTEGER NOT NULL DEFAULT 0"
	"  CHECK (wiped IN (0, 1));"
	"CREATE INDEX holds_unwiped ON holds (finished_at_usec)"
	"  WHERE wiped = 0 AND finished_at_usec IS NOT NULL;"
	"CREATE TRIGGER hold_wipe AFTER UPDATE OF wiped ON holds"
	"  WHEN NEW.wiped = 1 BEGIN"
	"    DELETE FROM hold_credentials WHERE hold_id = NEW.id;"
	"    DELETE FROM hold_items WHERE hold_id = NEW.id;"
	"  END;"
	"PRAGMA user_version = 6;",
	/*
	 * 7: v1.1, events the server accepted that the library system
	 * refused (a checkout over the loan limit): the newest
	 * STORE_REFUSALS_MAX, for staff, and a count of all. The outbox row
	 * itself is not touched beyond its sent flag.
	 */
	"CREATE TABLE refusals ("
	"  n INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  event_seq INTEGER NOT NULL,"
	"  uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36"
	"    AND uuid NOT GLOB '*[^0-9a-f-]*'),"
	"  type TEXT NOT NULL CHECK (length(type) BETWEEN 1 AND 63),"
	"  hold_id TEXT NOT NULL CHECK (length(CAST(hold_id AS BLOB)) <= 63),"
	"  code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 63"
	"    AND code NOT GLOB '*[^a-z0-9_]*'),"
	"  text TEXT NOT NULL CHECK (length(CAST(text AS BLOB)) <= 127),"
	"  at_usec INTEGER NOT NULL"
	") STRICT;"
	"INSERT INTO sync_state (key, value) VALUES ('refused_events', '0');"
	"PRAGMA user_version = 7;",
	/*
	 * 8: v1.1, the date each item is lent until, for the patron, and
	 * whether the patron needs a low locker (issue 22).
	 */
	"ALTER TABLE hold_items ADD COLUMN due TEXT NOT NULL DEFAULT ''"
	"  CHECK (due = '' OR due GLOB"
	"    '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]');"
	"ALTER TABLE holds ADD COLUMN needs_low INTEGER NOT NULL DEFAULT 0"
	"  CHECK (needs_low IN (0, 1));"
	"PRAGMA user_version = 8;",
};

_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION,
	       "one migration per schema version");
_Static_assert(STORE_APPLICATION_ID == 1280004674,
	       "migration 1 spells the application id in decimal");

/* Every statement the store runs more than once, prepared on first use. */
enum store_stmt {
	STORE_STMT_BEGIN,
	STORE_STMT_BEGIN_IMMEDIATE,
	STORE_STMT_COMMIT,
	STORE_STMT_ROLLBACK,
	STORE_STMT_SAVEPOINT,
	STORE_STMT_RELEASE,
	STORE_STMT_ROLLBACK_TO,
	STORE_STMT_LOCKER_ENSURE,
	STORE_STMT_LOCKER_EXISTS,
	STORE_STMT_LOCKER_LIST,
	STORE_STMT_LOCKER_ADD_RETURN,
	STORE_STMT_LOCKER_CLEAR_RETURNS,
	STORE_STMT_LOCKER_SET_FAULT,
	STORE_STMT_LOCKER_DISABLE,
	STORE_STMT_LOCKER_ENABLE,
	STORE_STMT_LOCKER_SET_OPENING,
	STORE_STMT_HOLD_INSERT,
	STORE_STMT_HOLD_EXISTS,
	STORE_STMT_HOLD_GET,
	STORE_STMT_HOLD_LIST_NEWEST,
	STORE_STMT_HOLD_LIST_ACTIVE,
	STORE_STMT_HOLD_SET_LOADED,
	STORE_STMT_HOLD_SET_PICKED_UP,
	STORE_STMT_HOLD_SET_EXPIRED,
	STORE_STMT_HOLD_SET_UNLOADED,
	STORE_STMT_HOLD_IN_LOCKER,
	STORE_STMT_ITEM_COUNT,
	STORE_STMT_CREDENTIAL_INSERT,
	STORE_STMT_CREDENTIAL_LIST,
	STORE_STMT_ITEM_INSERT,
	STORE_STMT_ITEM_LIST,
	STORE_STMT_ITEM_FIND_PENDING,
	STORE_STMT_STAFF_PUT,
	STORE_STMT_STAFF_LIST,
	STORE_STMT_OUTBOX_INSERT,
	STORE_STMT_OUTBOX_NEWEST,
	STORE_STMT_OUTBOX_UNSENT,
	STORE_STMT_OUTBOX_SENT_BETWEEN,
	STORE_STMT_OUTBOX_SENT_RANGE,
	STORE_STMT_OUTBOX_MARK_SENT,
	STORE_STMT_OUTBOX_PRUNE_CUTOFF,
	STORE_STMT_OUTBOX_PRUNE,
	STORE_STMT_OUTBOX_PRUNE_OLD,
	STORE_STMT_HOLD_PRUNE,
	STORE_STMT_HOLD_WIPE,
	STORE_STMT_OUTBOX_MARK_UUID,
	STORE_STMT_HOLD_STATE,
	STORE_STMT_HOLD_REPLACE,
	STORE_STMT_HOLD_SET_EXPIRY,
	STORE_STMT_HOLD_SET_SECRETS,
	STORE_STMT_HOLD_DELETE_PENDING,
	STORE_STMT_CREDENTIAL_DELETE,
	STORE_STMT_ITEM_DELETE,
	STORE_STMT_ITEM_DELETE_ONE,
	STORE_STMT_STAFF_DELETE,
	STORE_STMT_SYNC_GET,
	STORE_STMT_SYNC_SET,
	STORE_STMT_SYNC_DELETE,
	STORE_STMT_SYNC_ADD_REJECTED,
	STORE_STMT_SYNC_ADD_REFUSED,
	STORE_STMT_REFUSAL_ADD,
	STORE_STMT_REFUSAL_TRIM,
	STORE_STMT_REFUSAL_LIST,
	STORE_STMT_SEEN_CLEAR,
	STORE_STMT_SEEN_ADD,
	STORE_STMT_UNSEEN_HOLDS,
	STORE_STMT_UNSEEN_STAFF,
	STORE_STMT_COMMAND_INSERT,
	STORE_STMT_COMMAND_EXISTS,
	STORE_STMT_COMMAND_UNACKED,
	STORE_STMT_COMMAND_ACK,
	STORE_STMT_COMMAND_PRUNE,
	STORE_STMT_GUARD_PUT,
	STORE_STMT_GUARD_DELETE,
	STORE_STMT_GUARD_LIST,
	STORE_STMT_GUARD_PRUNE,
	_STORE_STMT_MAX,
};

#define HOLD_COLUMNS                                                  \
	"id, state, locker, size, patron_name, code_hmac, pin_hash, " \
	"loaded_at_usec, expires_at_usec, needs_low"
#define EVENT_COLUMNS "seq, uuid, type, at_usec, payload, sent"

static const char *const stmt_sql[_STORE_STMT_MAX] = {
	[STORE_STMT_BEGIN] = "BEGIN",
	[STORE_STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[STORE_STMT_COMMIT] = "COMMIT",
	[STORE_STMT_ROLLBACK] = "ROLLBACK",
	[STORE_STMT_SAVEPOINT] = "SAVEPOINT record",
	[STORE_STMT_RELEASE] = "RELEASE record",
	[STORE_STMT_ROLLBACK_TO] = "ROLLBACK TO record",
	[STORE_STMT_LOCKER_ENSURE] = "INSERT INTO lockers (number) VALUES (?1)"
				     " ON CONFLICT DO NOTHING",
	[STORE_STMT_LOCKER_EXISTS] = "SELECT 1 FROM lockers WHERE number = ?1",
	[STORE_STMT_LOCKER_LIST] =
		"SELECT number, disabled, fault, returns, opening FROM lockers"
		" WHERE number <= ?1 ORDER BY number",
	[STORE_STMT_LOCKER_ADD_RETURN] =
		"UPDATE lockers SET returns = returns + 1 WHERE number = ?1",
	[STORE_STMT_LOCKER_CLEAR_RETURNS] =
		"UPDATE lockers SET returns = 0 WHERE number = ?1",
	[STORE_STMT_LOCKER_SET_FAULT] =
		"UPDATE lockers SET fault = ?2 WHERE number = ?1",
	[STORE_STMT_LOCKER_DISABLE] =
		"UPDATE lockers SET disabled = 1 WHERE number = ?1",
	[STORE_STMT_LOCKER_ENABLE] =
		"UPDATE lockers SET disabled = 0, fault = ?2 WHERE number = ?1",
	[STORE_STMT_LOCKER_SET_OPENING] =
		"UPDATE lockers SET opening = ?2 WHERE number = ?1",
	[STORE_STMT_HOLD_INSERT] =
		"INSERT INTO holds (" HOLD_COLUMNS ", created_at_usec,"
		" finished_at_usec)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[STORE_STMT_HOLD_EXISTS] = "SELECT 1 FROM holds WHERE id = ?1",
	[STORE_STMT_HOLD_GET] =
		"SELECT " HOLD_COLUMNS " FROM holds WHERE id = ?1",
	[STORE_STMT_HOLD_LIST_NEWEST] =
		"SELECT " HOLD_COLUMNS " FROM holds"
		" ORDER BY created_at_usec DESC, rowid DESC LIMIT ?1",
	[STORE_STMT_HOLD_LIST_ACTIVE] =
		"SELECT " HOLD_COLUMNS " FROM holds"
		" WHERE state IN ('pending', 'loaded', 'expired')"
		" ORDER BY created_at_usec, rowid",
	[STORE_STMT_HOLD_SET_LOADED] =
		"UPDATE holds SET state = 'loaded', locker = ?2,"
		" loaded_at_usec = ?3, finished_at_usec = NULL"
		" WHERE id = ?1 AND state = 'pending'",
	[STORE_STMT_HOLD_SET_PICKED_UP] =
		"UPDATE holds SET state = 'picked_up', locker = NULL,"
		" finished_at_usec = ?2"
		" WHERE id = ?1 AND state = 'loaded' AND locker = ?3",
	[STORE_STMT_HOLD_SET_EXPIRED] = "UPDATE holds SET state = 'expired'"
					" WHERE id = ?1 AND state = 'loaded'",
	[STORE_STMT_HOLD_SET_UNLOADED] =
		"UPDATE holds SET state = 'unloaded', locker = NULL,"
		" finished_at_usec = ?2 WHERE id = ?1"
		" AND state IN ('loaded', 'expired') AND locker = ?3",
	/* A partial pickup: the hold is still where its opening was. */
	[STORE_STMT_HOLD_IN_LOCKER] =
		"SELECT 1 FROM holds WHERE id = ?1"
		" AND state IN ('loaded', 'expired') AND locker = ?2",
	[STORE_STMT_CREDENTIAL_INSERT] =
		"INSERT INTO hold_credentials (hold_id, hmac) VALUES (?1, ?2)",
	[STORE_STMT_CREDENTIAL_LIST] =
		"SELECT hmac FROM hold_credentials WHERE hold_id = ?1"
		" ORDER BY rowid",
	[STORE_STMT_ITEM_INSERT] =
		"INSERT INTO hold_items (hold_id, position, barcode, title, due)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[STORE_STMT_ITEM_COUNT] =
		"SELECT count(*) FROM hold_items WHERE hold_id = ?1",
	[STORE_STMT_ITEM_LIST] =
		"SELECT barcode, title, due FROM hold_items WHERE hold_id = ?1"
		" ORDER BY position",
	/* The oldest, should two pending holds list one copy. */
	[STORE_STMT_ITEM_FIND_PENDING] =
		"SELECT h.id FROM hold_items i JOIN holds h ON h.id = i.hold_id"
		" WHERE i.barcode = ?1 AND h.state = 'pending'"
		" ORDER BY h.created_at_usec, h.rowid LIMIT 1",
	[STORE_STMT_STAFF_PUT] =
		"INSERT INTO staff (credential_hmac, pin_hash, role)"
		" VALUES (?1, ?2, ?3) ON CONFLICT (credential_hmac)"
		" DO UPDATE SET pin_hash = excluded.pin_hash,"
		" role = excluded.role",
	[STORE_STMT_STAFF_LIST] =
		"SELECT credential_hmac, pin_hash, role FROM staff"
		" ORDER BY credential_hmac",
	[STORE_STMT_OUTBOX_INSERT] =
		"INSERT INTO outbox (uuid, type, at_usec, payload)"
		" VALUES (?1, ?2, ?3, ?4)",
	[STORE_STMT_OUTBOX_NEWEST] =
		"SELECT * FROM (SELECT " EVENT_COLUMNS " FROM outbox"
		" ORDER BY seq DESC LIMIT ?1) ORDER BY seq",
	[STORE_STMT_OUTBOX_UNSENT] =
		"SELECT " EVENT_COLUMNS " FROM outbox WHERE sent = 0"
		" ORDER BY seq LIMIT ?1",
	[STORE_STMT_OUTBOX_SENT_BETWEEN] =
		"SELECT " EVENT_COLUMNS " FROM outbox WHERE sent = 1"
		" AND seq BETWEEN ?2 AND ?3 ORDER BY seq LIMIT ?1",
	[STORE_STMT_OUTBOX_SENT_RANGE] =
		"SELECT coalesce(min(seq), 0), coalesce(max(seq), 0)"
		" FROM outbox WHERE sent = 1",
	[STORE_STMT_OUTBOX_MARK_SENT] =
		"UPDATE outbox SET sent = 1 WHERE sent = 0 AND seq <= ?1",
	/* The newest sent event beyond the newest ?1 sent ones. */
	[STORE_STMT_OUTBOX_PRUNE_CUTOFF] =
		"SELECT seq FROM outbox WHERE sent = 1"
		" ORDER BY seq DESC LIMIT 1 OFFSET ?1",
	/*
	 * The prunes delete at most ?2 rows each. This one: the oldest sent
	 * events up to seq ?1.
	 */
	[STORE_STMT_OUTBOX_PRUNE] =
		"DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox"
		" WHERE sent = 1 AND seq <= ?1 ORDER BY seq LIMIT ?2)",
	[STORE_STMT_OUTBOX_PRUNE_OLD] =
		"DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox"
		" WHERE sent = 1 AND at_usec < ?1 ORDER BY seq LIMIT ?2)",
	/*
	 * Finished holds but the newest ?1 (their credentials and items go
	 * with them); their events carry what the server needs.
	 */
	[STORE_STMT_HOLD_PRUNE] =
		"DELETE FROM holds WHERE id IN (SELECT id FROM holds"
		" WHERE state IN ('picked_up', 'unloaded')"
		" ORDER BY finished_at_usec DESC, rowid DESC LIMIT ?2 OFFSET ?1)",
	/*
	 * Finished holds done before ?1, oldest first: their credentials,
	 * items (the trigger), patron name, code and PIN hash go.
	 */
	[STORE_STMT_HOLD_WIPE] =
		"UPDATE holds SET wiped = 1, patron_name = '', code_hmac = NULL,"
		" pin_hash = NULL WHERE id IN (SELECT id FROM holds"
		" WHERE wiped = 0 AND finished_at_usec IS NOT NULL"
		" AND finished_at_usec < ?1 ORDER BY finished_at_usec LIMIT ?2)",
	[STORE_STMT_OUTBOX_MARK_UUID] =
		"UPDATE outbox SET sent = 1, rejected = ?2"
		" WHERE uuid = ?1 AND sent = 0",
	[STORE_STMT_HOLD_STATE] = "SELECT state FROM holds WHERE id = ?1",
	[STORE_STMT_HOLD_REPLACE] =
		"UPDATE holds SET size = ?2, patron_name = ?3, code_hmac = ?4,"
		" pin_hash = ?5, expires_at_usec = ?6, needs_low = ?7"
		" WHERE id = ?1 AND state = 'pending'",
	[STORE_STMT_HOLD_SET_EXPIRY] =
		"UPDATE holds SET expires_at_usec = ?2 WHERE id = ?1",
	[STORE_STMT_HOLD_SET_SECRETS] =
		"UPDATE holds SET code_hmac = ?2, pin_hash = ?3 WHERE id = ?1"
		" AND state IN ('loaded', 'expired')",
	[STORE_STMT_HOLD_DELETE_PENDING] =
		"DELETE FROM holds WHERE id = ?1 AND state = 'pending'",
	[STORE_STMT_CREDENTIAL_DELETE] =
		"DELETE FROM hold_credentials WHERE hold_id = ?1",
	[STORE_STMT_ITEM_DELETE] = "DELETE FROM hold_items WHERE hold_id = ?1",
	[STORE_STMT_ITEM_DELETE_ONE] =
		"DELETE FROM hold_items WHERE hold_id = ?1 AND barcode = ?2",
	[STORE_STMT_STAFF_DELETE] =
		"DELETE FROM staff WHERE credential_hmac = ?1",
	[STORE_STMT_SYNC_GET] = "SELECT value FROM sync_state WHERE key = ?1",
	[STORE_STMT_SYNC_SET] =
		"INSERT INTO sync_state (key, value) VALUES (?1, ?2)"
		" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[STORE_STMT_SYNC_DELETE] = "DELETE FROM sync_state WHERE key = ?1",
	[STORE_STMT_SYNC_ADD_REJECTED] =
		"UPDATE sync_state SET value = CAST(value AS INTEGER) + ?1"
		" WHERE key = 'rejected_events'",
	/*
	 * From the outbox row just marked sent: one refusal per event, the
	 * count going up with each new one.
	 */
	[STORE_STMT_SYNC_ADD_REFUSED] =
		"UPDATE sync_state SET value = CAST(value AS INTEGER) + ?1"
		" WHERE key = 'refused_events'",
	[STORE_STMT_REFUSAL_ADD] =
		"INSERT INTO refusals (event_seq, uuid, type, hold_id, code,"
		" text, at_usec) SELECT seq, uuid, type,"
		" coalesce(substr(json_extract(payload, '$.hold_id'), 1, 63), ''),"
		" ?2, ?3, ?4 FROM outbox WHERE uuid = ?1"
		" ON CONFLICT (uuid) DO NOTHING",
	[STORE_STMT_REFUSAL_TRIM] =
		"DELETE FROM refusals WHERE n <= (SELECT max(n) FROM refusals)"
		" - ?1",
	[STORE_STMT_REFUSAL_LIST] =
		"SELECT event_seq, uuid, type, hold_id, code, text, at_usec"
		" FROM refusals ORDER BY n DESC",
	[STORE_STMT_SEEN_CLEAR] = "DELETE FROM full_seen",
	[STORE_STMT_SEEN_ADD] = "INSERT INTO full_seen (kind, id)"
				" VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	[STORE_STMT_UNSEEN_HOLDS] =
		"SELECT id FROM holds WHERE state = 'pending' AND id > ?1"
		" AND id NOT IN (SELECT id FROM full_seen WHERE kind = 'hold')"
		" ORDER BY id LIMIT ?2",
	[STORE_STMT_UNSEEN_STAFF] =
		"SELECT credential_hmac FROM staff WHERE credential_hmac > ?1"
		" AND credential_hmac NOT IN"
		" (SELECT id FROM full_seen WHERE kind = 'staff')"
		" ORDER BY credential_hmac LIMIT ?2",
	[STORE_STMT_COMMAND_INSERT] =
		"INSERT INTO commands (id, done_at_usec, result)"
		" VALUES (?1, ?2, ?3)",
	[STORE_STMT_COMMAND_EXISTS] = "SELECT 1 FROM commands WHERE id = ?1",
	[STORE_STMT_COMMAND_UNACKED] = "SELECT id FROM commands WHERE acked = 0"
				       " ORDER BY done_at_usec, rowid LIMIT ?1",
	[STORE_STMT_COMMAND_ACK] =
		"UPDATE commands SET acked = 1 WHERE id = ?1",
	/* The acknowledged commands but the newest ?1. */
	[STORE_STMT_COMMAND_PRUNE] =
		"DELETE FROM commands WHERE acked = 1 AND rowid IN"
		" (SELECT rowid FROM commands WHERE acked = 1"
		" ORDER BY done_at_usec DESC, rowid DESC LIMIT ?2 OFFSET ?1)",
	[STORE_STMT_GUARD_PUT] =
		"INSERT INTO guard (kind, key, failures, until_usec)"
		" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (kind, key)"
		" DO UPDATE SET failures = excluded.failures,"
		" until_usec = excluded.until_usec",
	[STORE_STMT_GUARD_DELETE] =
		"DELETE FROM guard WHERE kind = ?1 AND key = ?2",
	[STORE_STMT_GUARD_LIST] =
		"SELECT kind, key, failures, until_usec FROM guard",
	/* Rows of holds no longer in a locker, and of staff cards gone. */
	[STORE_STMT_GUARD_PRUNE] =
		"DELETE FROM guard WHERE rowid IN (SELECT rowid FROM guard"
		" WHERE (kind = 'hold' AND key NOT IN (SELECT id FROM holds"
		"   WHERE state IN ('loaded', 'expired')))"
		" OR (kind = 'staff' AND key NOT IN"
		"   (SELECT credential_hmac FROM staff))"
		" LIMIT ?2)",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmts[_STORE_STMT_MAX];
	uint64_t max_unsent;
	uint64_t sent_keep, finished_keep;
	int64_t sent_keep_usec, finished_keep_usec;
	/*
	 * Only lokerd writes the database, through this connection, so the
	 * count of unsent events is kept here rather than counted for every
	 * record.
	 */
	uint64_t n_unsent;
	bool user_tx; /* store_begin() opened a transaction */
	/* Events recorded or marked sent since pruning last finished. */
	uint64_t n_prunable;
	/* Rows pruned or marked sent, left out of store_get_generation(). */
	uint64_t n_quiet_changes;
	bool prune_due;
	unsigned prune_kind; /* where the next store_prune_step() goes on */
	/* Sent events up to this seq go: the run's first step found it. */
	int64_t prune_cutoff;
	int wal_pages; /* in the WAL after the last commit */
	char error[256];
};

static _Thread_local char open_error[256];
static _Thread_local size_t open_error_path_len;
static _Thread_local enum store_open_failure open_failure;

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Translates a SQLite result code into the -errno the header promises. */
static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CONSTRAINT:
		return -EINVAL;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

__attribute__((format(printf, 3, 4))) static int
store_error(struct store *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	return err;
}

/* Keeps SQLite's message for store_last_error(); returns the -errno. */
static int store_fail(struct store *s, int rc, const char *what)
{
	return store_error(s, sqlite_errno(rc), "%s: %s", what,
			   sqlite3_errmsg(s->db));
}

static int stmt_get(struct store *s, enum store_stmt id, sqlite3_stmt **ret)
{
	int rc;

	if (!s->stmts[id]) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT,
					&s->stmts[id], NULL);
		if (rc != SQLITE_OK)
			return store_fail(s, rc, "prepare");
	}
	*ret = s->stmts[id];
	return 0;
}

/* Makes a cached statement ready for its next use and drops its locks. */
static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Binds text, or NULL for "" (columns where NULL means "none"). */
static int bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (!v[0])
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Steps a statement that returns no rows; the caller still calls done. */
static int stmt_exec(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return store_fail(s, rc, what);
	return 0;
}

static int run(struct store *s, enum store_stmt id, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, id, &st);
	if (r < 0)
		return r;
	r = stmt_exec(s, st, what);
	stmt_done(st);
	return r;
}

static int tx_begin(struct store *s, bool write)
{
	return run(s, write ? STORE_STMT_BEGIN_IMMEDIATE : STORE_STMT_BEGIN,
		   "begin");
}

static int tx_commit(struct store *s)
{
	return run(s, STORE_STMT_COMMIT, "commit");
}

/* Ends a transaction that failed; a no-op when SQLite already ended it. */
static void tx_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)run(s, STORE_STMT_ROLLBACK, "rollback");
}

/*
 * A change of several statements runs in the caller's transaction when
 * store_begin() opened one, else in its own: own_begin() and own_end(r)
 * (which commits on r == 0, rolls back otherwise, and returns the result).
 */
static int own_begin(struct store *s)
{
	return s->user_tx ? 0 : tx_begin(s, true);
}

static int own_end(struct store *s, int r)
{
	if (s->user_tx)
		return r;
	if (r == 0)
		r = tx_commit(s);
	if (r < 0)
		tx_rollback(s);
	return r;
}

/* Copies a text column into a fixed buffer; -EILSEQ when it does not fit. */
static int column_copy(struct store *s, sqlite3_stmt *st, int col, char *ret,
		       size_t n)
{
	const unsigned char *v = sqlite3_column_text(st, col);
	int len = sqlite3_column_bytes(st, col);

	if (!v) {
		if (sqlite3_column_type(st, col) != SQLITE_NULL)
			return store_error(s, -ENOMEM, "out of memory");
		ret[0] = '\0';
		return 0;
	}
	if ((size_t)len >= n)
		return store_error(s, -EILSEQ, "%s: value too long",
				   sqlite3_column_name(st, col));
	memcpy(ret, v, len + 1);
	return 0;
}

/* True when the fixed buffer holds a NUL-terminated string. */
#define TERMINATED(buf) (strnlen((buf), sizeof(buf)) < sizeof(buf))

/* Ids and barcodes: 1 or more printable ASCII characters, no blanks. */
static bool is_token(const char *v)
{
	if (!v[0])
		return false;
	for (; *v; v++)
		if (*v < '!' || *v > '~')
			return false;
	return true;
}

/* Well-formed UTF-8 without overlongs, surrogates or control characters. */
static bool is_utf8_text(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	while (*p) {
		uint32_t c;
		unsigned n, i;

		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return false;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			c = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			c = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			c = *p & 0x07;
		} else {
			return false;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) ||
		    (n == 3 && c < 0x10000) || c > 0x10ffff ||
		    (c >= 0xd800 && c <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* A PIN hash is opaque here (credential.c parses it): printable ASCII. */
static bool is_pin_hash(const char *v)
{
	return !v[0] || is_token(v);
}

static const char *role_to_string(enum kiosk_staff_role r)
{
	switch (r) {
	case KIOSK_STAFF_ROLE_STAFF:
		return "staff";
	case KIOSK_STAFF_ROLE_ADMIN:
		return "admin";
	}
	return NULL;
}

static int role_from_string(const char *v, enum kiosk_staff_role *ret)
{
	if (streq(v, "staff"))
		*ret = KIOSK_STAFF_ROLE_STAFF;
	else if (streq(v, "admin"))
		*ret = KIOSK_STAFF_ROLE_ADMIN;
	else
		return -EINVAL;
	return 0;
}

/*
 * The inverses of kiosk_fault_to_string() and kiosk_purpose_to_string():
 * they walk the names until the first value without one.
 */
static int fault_from_string(const char *v, enum kiosk_fault *ret)
{
	for (unsigned i = 0; kiosk_fault_to_string(i); i++) {
		if (streq(kiosk_fault_to_string(i), v)) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int purpose_from_string(const char *v, enum kiosk_purpose *ret)
{
	for (unsigned i = 0; kiosk_purpose_to_string(i); i++) {
		if (streq(kiosk_purpose_to_string(i), v)) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool hold_state_has_locker(enum kiosk_hold_state v)
{
	switch (v) {
	case KIOSK_HOLD_STATE_LOADED:
	case KIOSK_HOLD_STATE_EXPIRED:
		return true;
	case KIOSK_HOLD_STATE_PENDING:
	case KIOSK_HOLD_STATE_PICKED_UP:
	case KIOSK_HOLD_STATE_UNLOADED:
		return false;
	}
	return false;
}

static bool hold_state_is_final(enum kiosk_hold_state v)
{
	switch (v) {
	case KIOSK_HOLD_STATE_PICKED_UP:
	case KIOSK_HOLD_STATE_UNLOADED:
		return true;
	case KIOSK_HOLD_STATE_PENDING:
	case KIOSK_HOLD_STATE_LOADED:
	case KIOSK_HOLD_STATE_EXPIRED:
		return false;
	}
	return false;
}

/* A random (version 4) UUID in lower-case canonical form. */
static int uuid_generate(char ret[STORE_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];
	ssize_t n;
	char *p = ret;

	do
		n = getrandom(b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(b))
		return n < 0 ? -errno : -EIO;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 0x0f];
	}
	*p = '\0';
	return 0;
}

static int64_t now_realtime_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Runs one statement of fixed text that yields a single integer. */
int store_db_get_int(sqlite3 *db, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Why SQLite could not open path. Its own errno is from its last attempt,
 * a read-only retry, so a file that cannot be created in a read-only
 * directory shows as ENOENT; the directory tells the truth.
 */
static int cantopen_errno(sqlite3 *db, const char *path)
{
	int e = db ? sqlite3_system_errno(db) : 0;

	if (e == ENOENT && path) {
		const char *slash = strrchr(path, '/');
		char dir[4096];

		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else
			snprintf(dir, sizeof(dir), "%.*s",
				 (int)(slash - path > 0 ? slash - path : 1),
				 path);
		if (access(dir, F_OK) == 0 && access(dir, W_OK) < 0)
			return errno;
	}
	return e > 0 ? e : EACCES;
}

/* Maps a failure while opening to an errno; EILSEQ for "not our file". */
static int open_errno(sqlite3 *db, const char *path, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return EILSEQ;
	case SQLITE_READONLY:
		return EROFS;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return cantopen_errno(db, path);
	case SQLITE_NOMEM:
		return ENOMEM;
	default:
		return EIO;
	}
}

__attribute__((format(printf, 2, 0))) static void
open_fail_v(const char *path, const char *fmt, va_list ap)
{
	char msg[200];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = snprintf(open_error, sizeof(open_error), "%s: ", path);
	open_error_path_len =
		n > 0 && (size_t)n < sizeof(open_error) ? (size_t)n : 0;
	snprintf(open_error + open_error_path_len,
		 sizeof(open_error) - open_error_path_len, "%s", msg);
}

/* Records why opening failed and returns the errno to set. */
__attribute__((format(printf, 3, 4))) static int
open_fail(const char *path, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	open_fail_v(path, fmt, ap);
	va_end(ap);
	switch (err) {
	case EILSEQ:
		open_failure = STORE_OPEN_FAILURE_CORRUPT;
		break;
	case EROFS:
	case EACCES:
	case EPERM:
		open_failure = STORE_OPEN_FAILURE_READ_ONLY;
		break;
	default:
		open_failure = STORE_OPEN_FAILURE_OTHER;
		break;
	}
	return err;
}

int store_fail_open(const char *path, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	open_fail_v(path, fmt, ap);
	va_end(ap);
	open_failure = STORE_OPEN_FAILURE_OTHER;
	return -err;
}

/* open_fail() of a kind its errno does not tell. */
__attribute__((format(printf, 4, 5))) static int
open_fail_as(enum store_open_failure kind, const char *path, int err,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	open_fail_v(path, fmt, ap);
	va_end(ap);
	open_failure = kind;
	return err;
}

/*
 * Why path cannot be written, in words a person can act on: its file
 * system, the file, or its folder (where SQLite makes -wal and -shm).
 */
static int open_fail_read_only(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	struct statvfs vfs;

	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
		return open_fail(path, EROFS, "on a read-only file system");
	if (access(path, W_OK) < 0 && errno != ENOENT)
		return open_fail(path, errno, "the file cannot be written: %s",
				 strerror(errno));
	snprintf(dir, sizeof(dir), "%.*s",
		 slash ? (int)(slash - path > 0 ? slash - path : 1) : 1,
		 slash ? path : ".");
	if (access(dir, W_OK) < 0)
		return open_fail(path, errno,
				 "its folder %s cannot be written: %s", dir,
				 strerror(errno));
	return open_fail(path, EROFS, "cannot be written");
}

/*
 * Brings the schema up to STORE_SCHEMA_VERSION, one transaction per
 * migration. Each transaction looks at user_version again, so two
 * processes starting at once cannot both migrate. Returns 0 or an errno.
 */
static int store_migrate(sqlite3 *db, const char *path)
{
	for (;;) {
		int64_t version = 0, app_id = 0, n_objects = 0;
		int rc;

		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return open_fail(path, open_errno(db, path, rc), "%s",
					 sqlite3_errmsg(db));
		rc = store_db_get_int(db, "PRAGMA user_version", &version);
		if (rc == SQLITE_OK)
			rc = store_db_get_int(db, "PRAGMA application_id",
					      &app_id);
		if (rc == SQLITE_OK)
			rc = store_db_get_int(
				db, "SELECT count(*) FROM sqlite_schema",
				&n_objects);
		if (rc != SQLITE_OK) {
			int err = open_fail(path, open_errno(db, path, rc),
					    "%s", sqlite3_errmsg(db));

			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return err;
		}
		if ((version > 0 || app_id != 0) &&
		    app_id != STORE_APPLICATION_ID) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return open_fail_as(STORE_OPEN_FAILURE_FOREIGN, path,
					    EILSEQ,
					    "not a lokerbuku database "
					    "(application_id %lld)",
					    (long long)app_id);
		}
		if (version == 0 && n_objects > 0) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return open_fail_as(STORE_OPEN_FAILURE_FOREIGN, path,
					    EILSEQ,
					    "has tables but no schema version");
		}
		if (version < 0) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return open_fail(path, EILSEQ,
					 "bad schema version %lld",
					 (long long)version);
		}
		if (version > STORE_SCHEMA_VERSION) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return open_fail_as(
				STORE_OPEN_FAILURE_NEWER, path, EILSEQ,
				"schema version %lld is newer than "
				"this lokerd knows (%d)",
				(long long)version, STORE_SCHEMA_VERSION);
		}
		if (version == STORE_SCHEMA_VERSION) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return 0;
		}
		rc = sqlite3_exec(db, migrations[version], NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			int64_t after = 0;

			rc = store_db_get_int(db, "PRAGMA user_version",
					      &after);
			/* A migration that forgets its version would loop. */
			if (rc == SQLITE_OK && after != version + 1) {
				sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
				return open_fail(path, EIO,
						 "migration %lld did not set "
						 "user_version",
						 (long long)version + 1);
			}
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			int err = open_fail(path, open_errno(db, path, rc),
					    "migration %lld: %s",
					    (long long)version + 1,
					    sqlite3_errmsg(db));

			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return err;
		}
	}
}

/* SQLite's report of a damaged file, on one line for the log. */
static const char *one_line(const char *v, char *buf, size_t n)
{
	static const char prefix[] = "*** in database main ***\n";
	size_t i;

	if (strncmp(v, prefix, sizeof(prefix) - 1) == 0)
		v += sizeof(prefix) - 1;
	for (i = 0; v[i] && i + 1 < n; i++)
		buf[i] = v[i] == '\n' || v[i] == '\r' ? ' ' : v[i];
	buf[i] = '\0';
	return buf;
}

/* PRAGMA quick_check: 0, or an errno after open_fail(). */
static int store_quick_check(sqlite3 *db, const char *path)
{
	char line[160];
	sqlite3_stmt *st = NULL;
	const char *v;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = open_fail(path, open_errno(db, path, rc), "%s",
				sqlite3_errmsg(db));
	} else {
		v = (const char *)sqlite3_column_text(st, 0);
		if (!v || !streq(v, "ok"))
			err = open_fail(path, EILSEQ, "quick_check: %s",
					one_line(v ? v : "no answer", line,
						 sizeof(line)));
	}
	sqlite3_finalize(st);
	return err;
}

/*
 * After every commit: a checkpoint copies pages into the database file and
 * fsyncs it, tens of milliseconds, so it is left to store_job_start()'s
 * thread, with a bound for when nobody runs one.
 */
static int wal_hook(void *userdata, sqlite3 *db, const char *name, int pages)
{
	struct store *s = userdata;

	s->wal_pages = pages;
	if (pages >= STORE_WAL_PAGES_MAX)
		(void)sqlite3_wal_checkpoint_v2(
			db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

bool store_checkpoint_due(const struct store *s)
{
	return s->wal_pages >= STORE_WAL_CHECKPOINT_PAGES;
}

/* Sets up the connection: durability, checks, and the schema. */
static int store_setup(struct store *s, const char *path, bool quick_check)
{
	sqlite3 *db = s->db;
	sqlite3_stmt *st = NULL;
	int64_t v = 0;
	int rc, err;

	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	/* No schema tricks from the file, no "double-quoted" strings. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);

	/*
	 * SQLite opens a file it cannot write read-only without a word.
	 * Asking before the first read leaves no -wal or -shm file behind.
	 */
	if (sqlite3_db_readonly(db, "main") == 1)
		return open_fail_read_only(path);
	/* A file that is not a database fails its first read. */
	rc = store_db_get_int(db, "PRAGMA user_version", &v);
	if (rc != SQLITE_OK) {
		err = open_errno(db, path, rc);
		if (err == EACCES || err == EROFS || err == EPERM)
			return open_fail_read_only(path);
		return open_fail(path, err, "%s", sqlite3_errmsg(db));
	}
	/* Before a migration writes to a file that is damaged. */
	if (quick_check) {
		err = store_quick_check(db, path);
		if (err)
			return err;
	}

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const char *mode =
				(const char *)sqlite3_column_text(st, 0);

			rc = mode && streq(mode, "wal") ? SQLITE_OK :
							  SQLITE_ERROR;
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK)
		return open_fail(path, open_errno(db, path, rc),
				 "cannot switch to WAL: %s",
				 sqlite3_errmsg(db));
	/* Replaces SQLite's autocheckpoint, which would run on commit. */
	sqlite3_wal_hook(db, wal_hook, s);
	/* A pickup the screen confirmed must survive a power cut. */
	rc = sqlite3_exec(db,
			  "PRAGMA synchronous = FULL;"
			  "PRAGMA foreign_keys = ON;",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return open_fail(path, open_errno(db, path, rc), "%s",
				 sqlite3_errmsg(db));

	err = store_migrate(db, path);
	if (err)
		return err;

	rc = store_db_get_int(db, "SELECT count(*) FROM outbox WHERE sent = 0",
			      &v);
	if (rc != SQLITE_OK)
		return open_fail(path, open_errno(db, path, rc), "%s",
				 sqlite3_errmsg(db));
	s->n_unsent = (uint64_t)v;
	return 0;
}

struct store *store_open(const char *path, const struct store_options *opt)
{
	struct store *s;
	int rc, err;

	open_error[0] = '\0';
	open_error_path_len = 0;
	open_failure = STORE_OPEN_FAILURE_NONE;
	if (!path || !path[0]) {
		errno = open_fail("", EINVAL, "no path");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = open_fail(path, ENOMEM, "out of memory");
		return NULL;
	}
	s->max_unsent = opt && opt->max_unsent ? opt->max_unsent :
						 STORE_MAX_UNSENT_DEFAULT;
	s->sent_keep = opt && opt->sent_keep ? opt->sent_keep : STORE_SENT_KEEP;
	s->sent_keep_usec = opt ? opt->sent_keep_usec : 0;
	s->finished_keep = opt && opt->finished_keep ? opt->finished_keep :
						       STORE_FINISHED_KEEP;
	s->finished_keep_usec = opt ? opt->finished_keep_usec : 0;
	s->prune_due = true;
	s->prune_cutoff = -1;

	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		err = open_errno(s->db, path, rc);
		if (err == EACCES || err == EROFS || err == EPERM)
			err = open_fail_read_only(path);
		else
			err = open_fail(path, err, "%s",
					s->db ? sqlite3_errmsg(s->db) :
						sqlite3_errstr(rc));
	} else
		err = store_setup(s, path, opt && opt->quick_check);
	if (err) {
		store_free(s);
		errno = err;
		return NULL;
	}
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(s->stmts); i++)
		sqlite3_finalize(s->stmts[i]);
	/* The last connection to close checkpoints and removes the WAL. */
	sqlite3_close_v2(s->db);
	free(s);
}

const char *store_open_error(void)
{
	return open_error;
}

enum store_open_failure store_open_failure(void)
{
	return open_failure;
}

const char *store_open_reason(void)
{
	return open_error + open_error_path_len;
}

uint64_t store_get_generation(const struct store *s)
{
	return (uint64_t)sqlite3_total_changes64(s->db) - s->n_quiet_changes;
}

const char *store_last_error(const struct store *s)
{
	return s->error;
}

int store_get_info(struct store *s, struct store_info *ret)
{
	sqlite3_stmt *st = NULL;
	int64_t version = 0, sync = 0, fk = 0;
	bool wal = false;
	int rc;

	rc = store_db_get_int(s->db, "PRAGMA user_version", &version);
	if (rc == SQLITE_OK)
		rc = store_db_get_int(s->db, "PRAGMA synchronous", &sync);
	if (rc == SQLITE_OK)
		rc = store_db_get_int(s->db, "PRAGMA foreign_keys", &fk);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st,
					NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "info");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);

		wal = mode && streq(mode, "wal");
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "info");
	*ret = (struct store_info){
		.schema_version = (unsigned)version,
		.wal = wal,
		.synchronous = (unsigned)sync,
		.foreign_keys = fk != 0,
	};
	return 0;
}

/* Whether a row exists for key; 1, 0 or -errno. */
static int row_exists(struct store *s, enum store_stmt id, const char *text,
		      int64_t number)
{
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = stmt_get(s, id, &st);
	if (r < 0)
		return r;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, number);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = 1;
	else if (rc == SQLITE_DONE)
		r = 0;
	else
		r = store_fail(s, rc, "lookup");
	stmt_done(st);
	return r;
}

/* Runs an UPDATE keyed by ?1 that must change exactly one row. */
static int update_one(struct store *s, sqlite3_stmt *st, const char *what)
{
	int r = stmt_exec(s, st, what);

	if (r == 0 && sqlite3_changes(s->db) != 1)
		r = store_error(s, -EINVAL,
				"%s: no such row in the state it describes",
				what);
	stmt_done(st);
	return r;
}

static bool left_has(const struct kiosk_record *rec, const char *barcode)
{
	for (unsigned i = 0; i < rec->n_left; i++)
		if (!strcmp(rec->left[i], barcode))
			return true;
	return false;
}

/*
 * The hold's barcodes, in order, into ret (at most STORE_ITEMS_MAX);
 * their count, or -errno.
 */
static int hold_barcodes(struct store *s, const char *hold_id,
			 char (*ret)[STORE_BARCODE_MAX + 1])
{
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;
	unsigned n = 0;

	r = stmt_get(s, STORE_STMT_ITEM_LIST, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, hold_id, -1, SQLITE_STATIC);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == STORE_ITEMS_MAX) {
			r = store_error(s, -EILSEQ, "hold %s: too many items",
					hold_id);
			break;
		}
		r = column_copy(s, st, 0, ret[n], sizeof(ret[n]));
		n++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "items");
	stmt_done(st);
	return r < 0 ? r : (int)n;
}

/*
 * A partial pickup (v1.1): the hold stays in its locker with the books of
 * rec->left only. Each of them must be one of its items, and at least one
 * other is taken.
 */
static int hold_partly_taken(struct store *s, const struct kiosk_record *rec)
{
	char barcodes[STORE_ITEMS_MAX][STORE_BARCODE_MAX + 1];
	unsigned found = 0;
	sqlite3_stmt *st = NULL;
	int n, r, rc;

	n = hold_barcodes(s, rec->hold_id, barcodes);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		found += left_has(rec, barcodes[i]);
	if (found != rec->n_left || found >= (unsigned)n)
		return store_error(
			s, -EINVAL,
			"hold_picked_up: hold %s: the books left are not all its own, or are all of them",
			rec->hold_id);
	r = stmt_get(s, STORE_STMT_HOLD_IN_LOCKER, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, rec->hold_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rec->locker);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = store_error(s, -EINVAL,
				"hold_picked_up: hold %s is not in locker %u",
				rec->hold_id, rec->locker);
	else if (rc != SQLITE_ROW)
		r = store_fail(s, rc, "hold_picked_up");
	stmt_done(st);
	for (int i = 0; r == 0 && i < n; i++) {
		if (left_has(rec, barcodes[i]))
			continue;
		r = stmt_get(s, STORE_STMT_ITEM_DELETE_ONE, &st);
		if (r < 0)
			break;
		sqlite3_bind_text(st, 1, rec->hold_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, barcodes[i], -1, SQLITE_STATIC);
		r = update_one(s, st, "hold item");
	}
	return r;
}

/* Applies the state change a record describes, inside its transaction. */
static int record_apply(struct store *s, const struct kiosk_record *rec,
			int64_t wall_usec)
{
	enum store_stmt id = _STORE_STMT_MAX;
	const char *fault = NULL;
	sqlite3_stmt *st = NULL;
	int r;

	switch (rec->type) {
	case KIOSK_RECORD_HOLD_LOADED:
		id = STORE_STMT_HOLD_SET_LOADED;
		break;
	case KIOSK_RECORD_HOLD_PICKED_UP:
		if (rec->n_left)
			return hold_partly_taken(s, rec);
		id = STORE_STMT_HOLD_SET_PICKED_UP;
		break;
	case KIOSK_RECORD_HOLD_EXPIRED:
		id = STORE_STMT_HOLD_SET_EXPIRED;
		break;
	case KIOSK_RECORD_HOLD_UNLOADED:
		id = STORE_STMT_HOLD_SET_UNLOADED;
		break;
	case KIOSK_RECORD_RETURN_DEPOSITED:
		id = STORE_STMT_LOCKER_ADD_RETURN;
		break;
	case KIOSK_RECORD_RETURNS_COLLECTED:
		id = STORE_STMT_LOCKER_CLEAR_RETURNS;
		break;
	case KIOSK_RECORD_LOCKER_FAULT:
		id = STORE_STMT_LOCKER_SET_FAULT;
		fault = kiosk_fault_to_string(rec->fault);
		break;
	case KIOSK_RECORD_LOCKER_DISABLED:
		id = STORE_STMT_LOCKER_DISABLE;
		break;
	case KIOSK_RECORD_LOCKER_ENABLED:
		id = STORE_STMT_LOCKER_ENABLE;
		fault = kiosk_fault_to_string(KIOSK_FAULT_NONE);
		break;
	case KIOSK_RECORD_LOCKER_UNLOCKED:
	case KIOSK_RECORD_DOOR_FORCED_OPEN:
	case KIOSK_RECORD_DOOR_LEFT_OPEN:
	case KIOSK_RECORD_DOOR_CLOSED:
	case KIOSK_RECORD_PIN_LOCKOUT:
	case KIOSK_RECORD_COMMAND_DONE:
		break;
	}
	/* Events that change nothing but the outbox. */
	if (id == _STORE_STMT_MAX)
		return 0;

	r = stmt_get(s, id, &st);
	if (r < 0)
		return r;
	switch (rec->type) {
	case KIOSK_RECORD_HOLD_LOADED:
		sqlite3_bind_text(st, 1, rec->hold_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, rec->locker);
		sqlite3_bind_int64(st, 3, wall_usec);
		break;
	case KIOSK_RECORD_HOLD_PICKED_UP:
	case KIOSK_RECORD_HOLD_UNLOADED:
		sqlite3_bind_text(st, 1, rec->hold_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, wall_usec);
		sqlite3_bind_int64(st, 3, rec->locker);
		break;
	case KIOSK_RECORD_HOLD_EXPIRED:
		sqlite3_bind_text(st, 1, rec->hold_id, -1, SQLITE_STATIC);
		break;
	case KIOSK_RECORD_LOCKER_FAULT:
	case KIOSK_RECORD_LOCKER_ENABLED:
		sqlite3_bind_int64(st, 1, rec->locker);
		sqlite3_bind_text(st, 2, fault ? fault : "", -1, SQLITE_STATIC);
		break;
	case KIOSK_RECORD_RETURN_DEPOSITED:
	case KIOSK_RECORD_RETURNS_COLLECTED:
	case KIOSK_RECORD_LOCKER_DISABLED:
		sqlite3_bind_int64(st, 1, rec->locker);
		break;
	case KIOSK_RECORD_LOCKER_UNLOCKED:
	case KIOSK_RECORD_DOOR_FORCED_OPEN:
	case KIOSK_RECORD_DOOR_LEFT_OPEN:
	case KIOSK_RECORD_DOOR_CLOSED:
	case KIOSK_RECORD_PIN_LOCKOUT:
	case KIOSK_RECORD_COMMAND_DONE:
		break;
	}
	return update_one(s, st, kiosk_record_type_to_string(rec->type));
}

/*
 * Keeps lockers.opening: set when an opening's pulse is recorded, cleared
 * by the record of its outcome. Maintenance openings change no contents.
 */
/* Saves the opening under way at locker (KIOSK_PURPOSE_NONE: none). */
static int opening_set(struct store *s, unsigned locker,
		       enum kiosk_purpose opening)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, STORE_STMT_LOCKER_SET_OPENING, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, locker);
	sqlite3_bind_text(st, 2, kiosk_purpose_to_string(opening), -1,
			  SQLITE_STATIC);
	return update_one(s, st, "opening");
}

static int record_opening(struct store *s, const struct kiosk_record *rec)
{
	enum kiosk_purpose opening = KIOSK_PURPOSE_NONE;

	switch (rec->type) {
	case KIOSK_RECORD_LOCKER_UNLOCKED:
		if (rec->purpose == KIOSK_PURPOSE_MAINTENANCE)
			return 0;
		opening = rec->purpose;
		break;
	case KIOSK_RECORD_HOLD_LOADED:
	case KIOSK_RECORD_HOLD_PICKED_UP:
	case KIOSK_RECORD_HOLD_UNLOADED:
	case KIOSK_RECORD_RETURN_DEPOSITED:
	case KIOSK_RECORD_LOCKER_FAULT:
		opening = KIOSK_PURPOSE_NONE;
		break;
	case KIOSK_RECORD_HOLD_EXPIRED:
	case KIOSK_RECORD_RETURNS_COLLECTED:
	case KIOSK_RECORD_LOCKER_DISABLED:
	case KIOSK_RECORD_LOCKER_ENABLED:
	case KIOSK_RECORD_DOOR_FORCED_OPEN:
	case KIOSK_RECORD_DOOR_LEFT_OPEN:
	case KIOSK_RECORD_DOOR_CLOSED:
	case KIOSK_RECORD_PIN_LOCKOUT:
	case KIOSK_RECORD_COMMAND_DONE:
		return 0;
	}
	return opening_set(s, rec->locker, opening);
}

/* Adds value to o under key, consuming value; -ENOMEM/-EINVAL on failure. */
static int json_put(json_t *o, const char *key, json_t *value)
{
	/* json_string() returns NULL for text that is not UTF-8. */
	if (!value)
		return -EINVAL;
	return json_object_set_new(o, key, value) < 0 ? -ENOMEM : 0;
}

/*
 * "items": the hold's items as the store has them; of a partial pickup
 * (rec->n_left), those not left, the books taken.
 */
static int payload_add_items(struct store *s, json_t *o,
			     const struct kiosk_record *rec)
{
	const char *hold_id = rec->hold_id;
	sqlite3_stmt *st = NULL;
	json_t *items;
	int r, rc = SQLITE_DONE;

	items = json_array();
	if (!items)
		return -ENOMEM;
	r = stmt_get(s, STORE_STMT_ITEM_LIST, &st);
	if (r < 0) {
		json_decref(items);
		return r;
	}
	sqlite3_bind_text(st, 1, hold_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *barcode = (const char *)sqlite3_column_text(st, 0);
		json_t *item;

		if (barcode && rec->type == KIOSK_RECORD_HOLD_PICKED_UP &&
		    left_has(rec, barcode))
			continue;
		item = json_object();
		if (!item || !barcode ||
		    json_put(item, "barcode", json_string(barcode)) < 0 ||
		    json_array_append_new(items, item) < 0) {
			json_decref(item);
			r = -ENOMEM;
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "items");
	stmt_done(st);
	if (r == 0)
		r = json_put(o, "items", items);
	else
		json_decref(items);
	return r;
}

/* key: [{"barcode": ...}] of the barcodes given. */
static int payload_add_barcodes(json_t *o, const char *key,
				const char (*barcodes)[KIOSK_BARCODE_MAX + 1],
				unsigned n)
{
	json_t *items = json_array();

	if (!items)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		json_t *item = json_pack("{s:s}", "barcode", barcodes[i]);

		if (!item || json_array_append_new(items, item) < 0) {
			json_decref(items);
			return -ENOMEM;
		}
	}
	return json_put(o, key, items);
}

/*
 * The event's JSON object: compact with sorted keys, so the same record
 * always has the same text. The caller frees *ret with free().
 */
static int payload_build(struct store *s, const struct kiosk_record *rec,
			 char **ret)
{
	bool with_items = false;
	json_t *o;
	int r = 0;

	o = json_object();
	if (!o)
		return store_error(s, -ENOMEM, "out of memory");
	if (rec->hold_id[0])
		r = json_put(o, "hold_id", json_string(rec->hold_id));
	if (r == 0 && rec->locker)
		r = json_put(o, "locker", json_integer(rec->locker));
	if (r == 0 && rec->actor[0])
		r = json_put(o, "actor", json_string(rec->actor));
	if (r == 0 && rec->command[0])
		r = json_put(o, "command", json_string(rec->command));

	switch (rec->type) {
	case KIOSK_RECORD_LOCKER_UNLOCKED:
		if (r == 0)
			r = json_put(o, "purpose",
				     json_string(kiosk_purpose_to_string(
					     rec->purpose)));
		if (r == 0)
			r = json_put(o, "attempt", json_integer(rec->attempt));
		break;
	case KIOSK_RECORD_LOCKER_FAULT:
		if (r == 0)
			r = json_put(
				o, "fault",
				json_string(kiosk_fault_to_string(rec->fault)));
		break;
	case KIOSK_RECORD_HOLD_PICKED_UP:
		/* v1.1: the books a partial pickup left in the locker. */
		if (r == 0 && rec->n_left)
			r = payload_add_barcodes(o, "left", rec->left,
						 rec->n_left);
		with_items = true;
		break;
	case KIOSK_RECORD_HOLD_LOADED:
	case KIOSK_RECORD_HOLD_UNLOADED:
		with_items = true;
		break;
	case KIOSK_RECORD_RETURN_DEPOSITED:
		/* The books scanned in, where the return slot has a scanner. */
		if (r == 0 && rec->n_items)
			r = payload_add_barcodes(o, "items", rec->items,
						 rec->n_items);
		break;
	case KIOSK_RECORD_HOLD_EXPIRED:
	case KIOSK_RECORD_RETURNS_COLLECTED:
	case KIOSK_RECORD_LOCKER_DISABLED:
	case KIOSK_RECORD_LOCKER_ENABLED:
	case KIOSK_RECORD_DOOR_FORCED_OPEN:
	case KIOSK_RECORD_DOOR_LEFT_OPEN:
	case KIOSK_RECORD_DOOR_CLOSED:
	case KIOSK_RECORD_PIN_LOCKOUT:
		break;
	case KIOSK_RECORD_COMMAND_DONE:
		if (r == 0)
			r = json_put(o, "result", json_string(rec->result));
		break;
	}
	if (r == 0 && with_items)
		r = payload_add_items(s, o, rec);
	if (r == 0) {
		*ret = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		if (!*ret)
			r = -ENOMEM;
	}
	json_decref(o);
	if (r == -EINVAL)
		return store_error(s, r, "record: text is not UTF-8");
	if (r == -ENOMEM)
		return store_error(s, r, "out of memory");
	return r;
}

/* What a record must name; checked before anything is written. */
static int record_check(struct store *s, const struct kiosk_record *rec)
{
	/* A value outside the enum matches no case and stays unknown. */
	bool known = false, needs_hold = false, needs_locker = true;

	switch (rec->type) {
	case KIOSK_RECORD_HOLD_LOADED:
		known = needs_hold = true;
		break;
	case KIOSK_RECORD_HOLD_PICKED_UP:
		if (rec->n_left > STORE_ITEMS_MAX - 1 ||
		    (rec->n_left && (!rec->left || rec->locker == 0)))
			return store_error(s, -EINVAL,
					   "hold_picked_up: bad books left");
		for (unsigned i = 0; i < rec->n_left; i++)
			if (!TERMINATED(rec->left[i]) ||
			    !is_token(rec->left[i]) ||
			    strlen(rec->left[i]) > STORE_BARCODE_MAX)
				return store_error(
					s, -EINVAL,
					"hold_picked_up: bad barcode left");
		known = needs_hold = true;
		needs_locker = false;
		break;
	case KIOSK_RECORD_HOLD_EXPIRED:
	case KIOSK_RECORD_HOLD_UNLOADED:
		known = needs_hold = true;
		needs_locker = false;
		break;
	case KIOSK_RECORD_LOCKER_UNLOCKED:
		known = true;
		if (!kiosk_purpose_to_string(rec->purpose) ||
		    rec->attempt < 1 || rec->attempt > KIOSK_UNLOCK_ATTEMPTS)
			return store_error(s, -EINVAL,
					   "locker_unlocked: bad purpose or "
					   "attempt");
		break;
	case KIOSK_RECORD_LOCKER_FAULT:
		known = true;
		if (rec->fault == KIOSK_FAULT_NONE ||
		    !kiosk_fault_to_string(rec->fault))
			return store_error(s, -EINVAL,
					   "locker_fault: bad fault");
		break;
	case KIOSK_RECORD_RETURN_DEPOSITED:
		known = true;
		if (rec->n_items > KIOSK_RETURN_ITEMS_MAX ||
		    (rec->n_items && !rec->items))
			return store_error(s, -EINVAL,
					   "return_deposited: bad items");
		for (unsigned i = 0; i < rec->n_items; i++)
			if (!TERMINATED(rec->items[i]) ||
			    !is_token(rec->items[i]))
				return store_error(
					s, -EINVAL,
					"return_deposited: bad barcode");
		break;
	case KIOSK_RECORD_RETURNS_COLLECTED:
	case KIOSK_RECORD_LOCKER_DISABLED:
	case KIOSK_RECORD_LOCKER_ENABLED:
	case KIOSK_RECORD_DOOR_FORCED_OPEN:
	case KIOSK_RECORD_DOOR_LEFT_OPEN:
	case KIOSK_RECORD_DOOR_CLOSED:
		known = true;
		break;
	case KIOSK_RECORD_PIN_LOCKOUT:
		known = true;
		needs_locker = false;
		break;
	case KIOSK_RECORD_COMMAND_DONE:
		known = true;
		needs_locker = false;
		if (!TERMINATED(rec->command) || !rec->command[0] ||
		    !TERMINATED(rec->result) || !rec->result[0])
			return store_error(
				s, -EINVAL,
				"command_done: no command or result");
		break;
	}
	if (!known || !kiosk_record_type_to_string(rec->type))
		return store_error(s, -EINVAL, "unknown record type %d",
				   (int)rec->type);
	if (!TERMINATED(rec->hold_id) || !TERMINATED(rec->actor) ||
	    !TERMINATED(rec->command) || !TERMINATED(rec->result))
		return store_error(s, -EINVAL, "record: unterminated text");
	if (needs_hold && !rec->hold_id[0])
		return store_error(s, -EINVAL, "%s: no hold",
				   kiosk_record_type_to_string(rec->type));
	if (needs_locker && rec->locker == 0)
		return store_error(s, -EINVAL, "%s: no locker",
				   kiosk_record_type_to_string(rec->type));
	return 0;
}

/* Notes a server command done; -EALREADY when it was done before. */
static int command_insert(struct store *s, const struct kiosk_record *rec,
			  int64_t wall_usec)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = stmt_get(s, STORE_STMT_COMMAND_INSERT, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, rec->command, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, wall_usec);
	sqlite3_bind_text(st, 3, rec->result[0] ? rec->result : "done", -1,
			  SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		r = store_error(s, -EALREADY, "command %s: carried out already",
				rec->command);
	else if (rc != SQLITE_DONE)
		r = store_fail(s, rc, "command");
	stmt_done(st);
	return r;
}

static int outbox_append(struct store *s, const char *uuid, const char *type,
			 int64_t at_usec, const char *payload, int64_t *ret_seq)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, STORE_STMT_OUTBOX_INSERT, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, at_usec);
	sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
	r = stmt_exec(s, st, "outbox");
	stmt_done(st);
	if (r == 0)
		*ret_seq = sqlite3_last_insert_rowid(s->db);
	return r;
}

/* What store_prune_step() walks through, in this order. */
enum prune_kind {
	PRUNE_KIND_SENT,
	PRUNE_KIND_SENT_OLD,
	PRUNE_KIND_HOLDS,
	PRUNE_KIND_HOLDS_OLD,
	PRUNE_KIND_COMMANDS,
	PRUNE_KIND_GUARD,
	_PRUNE_KIND_MAX,
};

/* Deletes at most max_rows of one kind: how many, or -errno. */
static int prune_kind(struct store *s, enum prune_kind kind, unsigned max_rows,
		      int64_t wall_usec)
{
	enum store_stmt id = STORE_STMT_OUTBOX_PRUNE;
	int64_t keep = 0;
	sqlite3_stmt *st = NULL;
	int r;

	switch (kind) {
	case PRUNE_KIND_SENT:
		/* Found once a run: the walk past the newest is not free. */
		if (s->prune_cutoff < 0) {
			r = stmt_get(s, STORE_STMT_OUTBOX_PRUNE_CUTOFF, &st);
			if (r < 0)
				return r;
			sqlite3_bind_int64(st, 1, (int64_t)s->sent_keep);
			r = sqlite3_step(st);
			if (r == SQLITE_ROW)
				s->prune_cutoff = sqlite3_column_int64(st, 0);
			else if (r == SQLITE_DONE)
				s->prune_cutoff = 0;
			r = r == SQLITE_ROW || r == SQLITE_DONE ?
				    0 :
				    store_fail(s, r, "prune");
			stmt_done(st);
			if (r < 0)
				return r;
		}
		if (s->prune_cutoff == 0)
			return 0;
		id = STORE_STMT_OUTBOX_PRUNE;
		keep = s->prune_cutoff;
		break;
	case PRUNE_KIND_SENT_OLD:
		if (s->sent_keep_usec <= 0 || wall_usec <= s->sent_keep_usec)
			return 0;
		id = STORE_STMT_OUTBOX_PRUNE_OLD;
		keep = wall_usec - s->sent_keep_usec;
		break;
	case PRUNE_KIND_HOLDS:
		id = STORE_STMT_HOLD_PRUNE;
		keep = (int64_t)s->finished_keep;
		break;
	case PRUNE_KIND_HOLDS_OLD:
		if (s->finished_keep_usec <= 0 ||
		    wall_usec <= s->finished_keep_usec)
			return 0;
		id = STORE_STMT_HOLD_WIPE;
		keep = wall_usec - s->finished_keep_usec;
		break;
	case PRUNE_KIND_COMMANDS:
		id = STORE_STMT_COMMAND_PRUNE;
		keep = STORE_COMMANDS_KEEP;
		break;
	case PRUNE_KIND_GUARD:
		id = STORE_STMT_GUARD_PRUNE;
		break;
	case _PRUNE_KIND_MAX:
		return 0;
	}
	r = stmt_get(s, id, &st);
	if (r < 0)
		return r;
	/* What a wipe deletes is overwritten in the file, not just freed. */
	if (id == STORE_STMT_HOLD_WIPE)
		sqlite3_exec(s->db, "PRAGMA secure_delete = 1", NULL, NULL,
			     NULL);
	sqlite3_bind_int64(st, 1, keep);
	sqlite3_bind_int64(st, 2, max_rows);
	r = stmt_exec(s, st, "prune");
	if (r == 0)
		r = sqlite3_changes(s->db);
	stmt_done(st);
	if (id == STORE_STMT_HOLD_WIPE)
		sqlite3_exec(s->db, "PRAGMA secure_delete = 0", NULL, NULL,
			     NULL);
	return r;
}

void store_prune_request(struct store *s)
{
	s->prune_due = true;
}

bool store_prune_due(const struct store *s)
{
	return s->prune_due || s->n_prunable >= STORE_PRUNE_EVERY;
}

static int prune_step(struct store *s, unsigned max_rows, int64_t wall_usec)
{
	unsigned left = max_rows;
	int r;

	if (s->user_tx)
		return store_error(s, -EBUSY, "prune: inside a transaction");
	if (max_rows == 0)
		return store_error(s, -EINVAL, "prune: no rows to delete");
	if (s->prune_kind == 0 && s->prune_cutoff < 0)
		s->n_prunable = 0; /* what comes from now on is for next time */
	r = tx_begin(s, true);
	while (r == 0 && left > 0 && s->prune_kind < _PRUNE_KIND_MAX) {
		r = prune_kind(s, s->prune_kind, left, wall_usec);
		if (r < 0)
			break;
		if ((unsigned)r < left)
			s->prune_kind++;
		left -= (unsigned)r;
		r = 0;
	}
	if (r == 0)
		r = tx_commit(s);
	if (r < 0) {
		tx_rollback(s);
		/* From the start next time: the rows it counted are back. */
		s->prune_kind = 0;
		s->prune_cutoff = -1;
		return r;
	}
	if (s->prune_kind < _PRUNE_KIND_MAX)
		return 1;
	s->prune_kind = 0;
	s->prune_cutoff = -1;
	s->prune_due = false;
	return 0;
}

/*
 * What pruning and marking events sent change is nothing anyone shows:
 * left out of store_get_generation() (cascades and triggers included).
 */
static void quiet_since(struct store *s, int64_t changes_before)
{
	s->n_quiet_changes +=
		(uint64_t)(sqlite3_total_changes64(s->db) - changes_before);
}

int store_prune_step(struct store *s, unsigned max_rows, int64_t wall_usec)
{
	int64_t before = sqlite3_total_changes64(s->db);
	int r = prune_step(s, max_rows, wall_usec);

	quiet_since(s, before);
	return r;
}

/* The checks of a record that need no transaction: 0 or -errno. */
static int record_precheck(struct store *s, const struct kiosk_record *rec,
			   uint64_t n_unsent)
{
	const char *type;
	int r;

	r = record_check(s, rec);
	if (r < 0)
		return r;
	type = kiosk_record_type_to_string(rec->type);
	/*
	 * The bound stops what would let a door open; the record of what
	 * already happened (a pickup seen, a door closed) has headroom, so a
	 * full outbox never loses a fact.
	 */
	if ((rec->type == KIOSK_RECORD_LOCKER_UNLOCKED &&
	     n_unsent >= s->max_unsent) ||
	    n_unsent >= s->max_unsent + STORE_FACTS_HEADROOM)
		return store_error(s, -ENOSPC,
				   "%s: outbox full (%llu unsent events)", type,
				   (unsigned long long)n_unsent);
	return 0;
}

/* One record's changes and event, inside the batch's transaction. */
static int record_write(struct store *s, const struct kiosk_record *rec,
			int64_t wall_usec, const char *uuid)
{
	const char *type = kiosk_record_type_to_string(rec->type);
	char *payload = NULL;
	int64_t seq = 0;
	int r = 0;

	/* What the server's command named need not exist: it is said so. */
	if (rec->command[0])
		r = command_insert(s, rec, wall_usec);
	if (r >= 0 && rec->locker && rec->type != KIOSK_RECORD_COMMAND_DONE) {
		r = row_exists(s, STORE_STMT_LOCKER_EXISTS, NULL, rec->locker);
		if (r == 0)
			r = store_error(s, -EINVAL, "%s: no locker %u", type,
					rec->locker);
	}
	if (r >= 0 && rec->hold_id[0] &&
	    rec->type != KIOSK_RECORD_COMMAND_DONE) {
		r = row_exists(s, STORE_STMT_HOLD_EXISTS, rec->hold_id, 0);
		if (r == 0)
			r = store_error(s, -EINVAL, "%s: no hold %s", type,
					rec->hold_id);
	}
	/* Before the change: a partial pickup's items are the books taken. */
	if (r >= 0)
		r = payload_build(s, rec, &payload);
	if (r >= 0)
		r = record_apply(s, rec, wall_usec);
	if (r >= 0 && rec->locker && rec->type != KIOSK_RECORD_COMMAND_DONE)
		r = record_opening(s, rec);
	if (r >= 0)
		r = outbox_append(s, uuid, type, wall_usec, payload, &seq);
	free(payload);
	return r < 0 ? r : 0;
}

int store_record_batch(struct store *s, const struct kiosk_record *const *recs,
		       unsigned n, int64_t wall_usec,
		       char (*ret_uuids)[STORE_UUID_LEN + 1], int *ret_errs)
{
	char error[sizeof(s->error)] = "";
	unsigned n_checked = 0, n_ok = 0, error_at = n;
	int r = 0;

	if (s->user_tx) {
		/* Every entry says so: a caller pulses only on a 0. */
		for (unsigned i = 0; i < n; i++)
			ret_errs[i] = -EBUSY;
		return store_error(s, -EBUSY, "record: inside a transaction");
	}
	/* What needs no transaction first: a refusal writes nothing. */
	for (unsigned i = 0; i < n; i++) {
		ret_errs[i] =
			record_precheck(s, recs[i], s->n_unsent + n_checked);
		if (ret_errs[i] == 0) {
			n_checked++;
		} else if (error_at == n) {
			memcpy(error, s->error, sizeof(error));
			error_at = i;
		}
	}
	if (n_checked > 0)
		r = tx_begin(s, true);
	for (unsigned i = 0; r == 0 && n_checked > 0 && i < n; i++) {
		char uuid[STORE_UUID_LEN + 1];
		int err;

		if (ret_errs[i] < 0)
			continue;
		err = uuid_generate(uuid);
		if (err < 0) {
			r = store_error(s, -EIO, "no randomness for a UUID: %s",
					strerror(-err));
			break;
		}
		/* A savepoint each: one record failing undoes only its own. */
		r = run(s, STORE_STMT_SAVEPOINT, "savepoint");
		if (r < 0)
			break;
		err = record_write(s, recs[i], wall_usec, uuid);
		/* An I/O error or a full disk ends the whole transaction. */
		if (sqlite3_get_autocommit(s->db)) {
			r = err < 0 ? err : store_error(s, -EIO, "rolled back");
			break;
		}
		if (err < 0)
			r = run(s, STORE_STMT_ROLLBACK_TO, "savepoint");
		if (r == 0)
			r = run(s, STORE_STMT_RELEASE, "savepoint");
		if (r < 0)
			break;
		ret_errs[i] = err;
		if (err == 0) {
			n_ok++;
			if (ret_uuids)
				memcpy(ret_uuids[i], uuid, sizeof(uuid));
		} else if (i < error_at) {
			/* The first record refused is the one to tell. */
			memcpy(error, s->error, sizeof(error));
			error_at = i;
		}
	}
	/* Nothing to make durable: no commit, no fsync. */
	if (r == 0 && n_ok == 0)
		tx_rollback(s);
	else if (r == 0)
		r = tx_commit(s);
	if (r < 0) {
		tx_rollback(s);
		for (unsigned i = 0; i < n; i++)
			if (ret_errs[i] == 0)
				ret_errs[i] = r;
		return r;
	}
	if (error[0])
		memcpy(s->error, error, sizeof(error));
	s->n_unsent += n_ok;
	s->n_prunable += n_ok;
	return 0;
}

int store_record(struct store *s, const struct kiosk_record *rec,
		 int64_t wall_usec, char ret_uuid[STORE_UUID_LEN + 1])
{
	char uuid[1][STORE_UUID_LEN + 1];
	int r, err = -EIO;

	r = store_record_batch(s, &rec, 1, wall_usec, uuid, &err);
	if (r < 0)
		return r;
	if (err == 0 && ret_uuid)
		memcpy(ret_uuid, uuid[0], sizeof(uuid[0]));
	return err;
}

static int hold_check(struct store *s, const struct store_hold *h)
{
	const struct kiosk_hold *k = &h->hold;
	enum kiosk_hold_state state = k->state;

	if (!TERMINATED(k->id) || !is_token(k->id))
		return store_error(s, -EINVAL, "hold: bad id");
	if (!kiosk_hold_state_to_string(k->state) ||
	    !kiosk_size_to_string(k->size))
		return store_error(s, -EINVAL, "hold %s: bad state or size",
				   k->id);
	if ((k->locker != 0) != hold_state_has_locker(state) ||
	    k->locker > KIOSK_LOCKERS_MAX)
		return store_error(
			s, -EINVAL, "hold %s: locker %u does not fit state %s",
			k->id, k->locker, kiosk_hold_state_to_string(state));
	if (!TERMINATED(k->patron_name) || !is_utf8_text(k->patron_name))
		return store_error(s, -EINVAL, "hold %s: bad patron name",
				   k->id);
	if (k->n_credentials > KIOSK_HOLD_CREDENTIALS_MAX ||
	    h->n_items > STORE_ITEMS_MAX)
		return store_error(s, -EINVAL,
				   "hold %s: too many credentials or items",
				   k->id);
	for (unsigned i = 0; i < k->n_credentials; i++) {
		if (!TERMINATED(k->credential_hmacs[i]) ||
		    !credential_is_hmac(k->credential_hmacs[i]))
			return store_error(s, -EINVAL,
					   "hold %s: credential %u is not an "
					   "HMAC",
					   k->id, i);
		for (unsigned j = 0; j < i; j++)
			if (streq(k->credential_hmacs[i],
				  k->credential_hmacs[j]))
				return store_error(s, -EINVAL,
						   "hold %s: credential %u "
						   "repeated",
						   k->id, i);
	}
	if (!TERMINATED(k->code_hmac) ||
	    (k->code_hmac[0] && !credential_is_hmac(k->code_hmac)))
		return store_error(s, -EINVAL, "hold %s: code is not an HMAC",
				   k->id);
	if (!TERMINATED(k->pin_hash) || !is_pin_hash(k->pin_hash))
		return store_error(s, -EINVAL, "hold %s: bad PIN hash", k->id);
	if (k->loaded_at_usec < 0 || k->expires_at_usec < 0)
		return store_error(s, -EINVAL, "hold %s: negative time", k->id);
	for (unsigned i = 0; i < h->n_items; i++) {
		const struct store_item *it = &h->items[i];

		if (!TERMINATED(it->barcode) || !is_token(it->barcode) ||
		    !TERMINATED(it->title) || !is_utf8_text(it->title) ||
		    !TERMINATED(it->due))
			return store_error(s, -EINVAL,
					   "hold %s: item %u: bad barcode, "
					   "title or due date",
					   k->id, i);
	}
	return 0;
}

static int hold_insert_children(struct store *s, const struct store_hold *h);

static int hold_insert(struct store *s, const struct store_hold *h)
{
	const struct kiosk_hold *k = &h->hold;
	int64_t now = now_realtime_usec();
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = stmt_get(s, STORE_STMT_HOLD_INSERT, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kiosk_hold_state_to_string(k->state), -1,
			  SQLITE_STATIC);
	if (k->locker)
		sqlite3_bind_int64(st, 3, k->locker);
	sqlite3_bind_text(st, 4, kiosk_size_to_string(k->size), -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 5, k->patron_name, -1, SQLITE_STATIC);
	bind_text_or_null(st, 6, k->code_hmac);
	bind_text_or_null(st, 7, k->pin_hash);
	sqlite3_bind_int64(st, 8, k->loaded_at_usec);
	sqlite3_bind_int64(st, 9, k->expires_at_usec);
	sqlite3_bind_int(st, 10, k->needs_low);
	sqlite3_bind_int64(st, 11, now);
	if (hold_state_is_final(k->state))
		sqlite3_bind_int64(st, 12, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		r = store_error(s, -EEXIST, "hold %s: exists", k->id);
	else if (rc != SQLITE_DONE)
		r = store_fail(s, rc, "hold");
	stmt_done(st);
	if (r < 0)
		return r;
	return hold_insert_children(s, h);
}

/* A hold's credentials and items, after its row. */
static int hold_insert_children(struct store *s, const struct store_hold *h)
{
	const struct kiosk_hold *k = &h->hold;
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, STORE_STMT_CREDENTIAL_INSERT, &st);
	for (unsigned i = 0; r == 0 && i < k->n_credentials; i++) {
		sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, k->credential_hmacs[i], -1,
				  SQLITE_STATIC);
		r = stmt_exec(s, st, "credential");
		stmt_done(st);
	}
	if (r == 0)
		r = stmt_get(s, STORE_STMT_ITEM_INSERT, &st);
	for (unsigned i = 0; r == 0 && i < h->n_items; i++) {
		sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, i);
		sqlite3_bind_text(st, 3, h->items[i].barcode, -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 4, h->items[i].title, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, h->items[i].due, -1, SQLITE_STATIC);
		r = stmt_exec(s, st, "item");
		stmt_done(st);
	}
	return r;
}

int store_add_hold(struct store *s, const struct store_hold *h)
{
	int r;

	r = hold_check(s, h);
	if (r < 0)
		return r;
	r = own_begin(s);
	if (r < 0)
		return r;
	r = hold_insert(s, h);
	return own_end(s, r);
}

int store_put_staff(struct store *s, const struct kiosk_staff *st_in)
{
	const char *role = role_to_string(st_in->role);
	sqlite3_stmt *st = NULL;
	int r;

	if (!TERMINATED(st_in->credential_hmac) ||
	    !credential_is_hmac(st_in->credential_hmac))
		return store_error(s, -EINVAL, "staff: not an HMAC");
	/* Staff always confirm with a PIN; the core refuses them without. */
	if (!TERMINATED(st_in->pin_hash) || !st_in->pin_hash[0] ||
	    !is_pin_hash(st_in->pin_hash) || !role)
		return store_error(s, -EINVAL, "staff: bad PIN hash or role");
	r = stmt_get(s, STORE_STMT_STAFF_PUT, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, st_in->credential_hmac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, st_in->pin_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
	r = stmt_exec(s, st, "staff");
	stmt_done(st);
	return r;
}

int store_ensure_lockers(struct store *s, unsigned n)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (n < 1 || n > KIOSK_LOCKERS_MAX)
		return store_error(s, -EINVAL, "bad number of lockers %u", n);
	r = tx_begin(s, true);
	if (r < 0)
		return r;
	r = stmt_get(s, STORE_STMT_LOCKER_ENSURE, &st);
	for (unsigned i = 1; r == 0 && i <= n; i++) {
		sqlite3_bind_int64(st, 1, i);
		r = stmt_exec(s, st, "lockers");
		stmt_done(st);
	}
	if (r == 0)
		r = tx_commit(s);
	if (r < 0)
		tx_rollback(s);
	return r;
}

/*
 * Fills ret from a row of HOLD_COLUMNS, then its credentials and, when
 * items is set, its items. -EILSEQ for stored values this code cannot
 * represent.
 */
static int hold_read(struct store *s, sqlite3_stmt *row, bool items,
		     struct store_hold *ret)
{
	struct kiosk_hold *k = &ret->hold;
	const char *state, *size;
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	memset(ret, 0, sizeof(*ret));
	r = column_copy(s, row, 0, k->id, sizeof(k->id));
	if (r < 0)
		return r;
	state = (const char *)sqlite3_column_text(row, 1);
	size = (const char *)sqlite3_column_text(row, 3);
	if (!state || kiosk_hold_state_from_string(state, &k->state) < 0 ||
	    !size || kiosk_size_from_string(size, &k->size) < 0)
		return store_error(s, -EILSEQ, "hold %s: unknown state or size",
				   k->id);
	k->locker = (unsigned)sqlite3_column_int64(row, 2);
	r = column_copy(s, row, 4, k->patron_name, sizeof(k->patron_name));
	if (r == 0)
		r = column_copy(s, row, 5, k->code_hmac, sizeof(k->code_hmac));
	if (r == 0)
		r = column_copy(s, row, 6, k->pin_hash, sizeof(k->pin_hash));
	if (r < 0)
		return r;
	k->loaded_at_usec = sqlite3_column_int64(row, 7);
	k->expires_at_usec = sqlite3_column_int64(row, 8);
	k->needs_low = sqlite3_column_int(row, 9) != 0;

	r = stmt_get(s, STORE_STMT_CREDENTIAL_LIST, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (k->n_credentials == KIOSK_HOLD_CREDENTIALS_MAX)
			r = store_error(s, -EILSEQ,
					"hold %s: too many credentials", k->id);
		else
			r = column_copy(s, st, 0,
					k->credential_hmacs[k->n_credentials++],
					sizeof(k->credential_hmacs[0]));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "credentials");
	stmt_done(st);
	if (r < 0 || !items)
		return r;

	r = stmt_get(s, STORE_STMT_ITEM_LIST, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_item *it;

		if (ret->n_items == STORE_ITEMS_MAX) {
			r = store_error(s, -EILSEQ, "hold %s: too many items",
					k->id);
			break;
		}
		it = &ret->items[ret->n_items];
		r = column_copy(s, st, 0, it->barcode, sizeof(it->barcode));
		if (r == 0)
			r = column_copy(s, st, 1, it->title, sizeof(it->title));
		if (r == 0)
			r = column_copy(s, st, 2, it->due, sizeof(it->due));
		ret->n_items++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "items");
	stmt_done(st);
	ret->hold.n_items = ret->n_items;
	return r;
}

static int load_lockers(struct store *s, struct kiosk *k, unsigned n)
{
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = stmt_get(s, STORE_STMT_LOCKER_LIST, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, n);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		unsigned number = (unsigned)sqlite3_column_int64(st, 0);
		const char *fault = (const char *)sqlite3_column_text(st, 2);
		const char *opening = (const char *)sqlite3_column_text(st, 4);
		struct kiosk_locker_state ls = {
			.disabled = sqlite3_column_int64(st, 1) != 0,
			.returns = (unsigned)sqlite3_column_int64(st, 3),
		};

		if (!opening || purpose_from_string(opening, &ls.opening) < 0) {
			r = store_error(s, -EILSEQ,
					"locker %u: unknown opening %s", number,
					opening ? opening : "(null)");
			break;
		}
		if (!fault || fault_from_string(fault, &ls.fault) < 0) {
			r = store_error(s, -EILSEQ,
					"locker %u: unknown fault %s", number,
					fault ? fault : "(null)");
			break;
		}
		r = kiosk_set_locker_state(k, number, &ls);
		if (r < 0)
			store_error(s, r, "locker %u: refused by the core: %s",
				    number, strerror(-r));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "lockers");
	stmt_done(st);
	return r;
}

/* The number of books of a hold, or -errno. */
static int hold_n_items(struct store *s, const char *hold_id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = stmt_get(s, STORE_STMT_ITEM_COUNT, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, hold_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		r = store_fail(s, rc, "items");
	else if (sqlite3_column_int64(st, 0) > STORE_ITEMS_MAX)
		r = store_error(s, -EILSEQ, "hold %s: too many items", hold_id);
	else
		r = sqlite3_column_int(st, 0);
	stmt_done(st);
	return r;
}

static int load_holds(struct store *s, struct kiosk *k)
{
	struct store_hold h;
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = stmt_get(s, STORE_STMT_HOLD_LIST_ACTIVE, &st);
	if (r < 0)
		return r;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = hold_read(s, st, false, &h);
		if (r < 0)
			break;
		/* How many books: a hold of several may be taken in part. */
		r = hold_n_items(s, h.hold.id);
		if (r < 0)
			break;
		h.hold.n_items = (unsigned)r;
		r = kiosk_add_hold(k, &h.hold);
		if (r == -ENOSPC)
			store_error(
				s, r,
				"hold %s: more holds than [policy] max_holds allows",
				h.hold.id);
		else if (r < 0)
			store_error(
				s, r,
				"hold %s: its locker %u is not a hold locker in this configuration",
				h.hold.id, h.hold.locker);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "holds");
	stmt_done(st);
	return r;
}

static int load_staff(struct store *s, struct kiosk *k)
{
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = stmt_get(s, STORE_STMT_STAFF_LIST, &st);
	if (r < 0)
		return r;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct kiosk_staff staff = { 0 };
		const char *role = (const char *)sqlite3_column_text(st, 2);

		r = column_copy(s, st, 0, staff.credential_hmac,
				sizeof(staff.credential_hmac));
		if (r == 0)
			r = column_copy(s, st, 1, staff.pin_hash,
					sizeof(staff.pin_hash));
		if (r == 0 && (!role || role_from_string(role, &staff.role)))
			r = store_error(s, -EILSEQ, "staff: unknown role");
		if (r == 0) {
			r = kiosk_put_staff(k, &staff);
			if (r < 0)
				store_error(s, r,
					    "staff: refused by the core: %s",
					    strerror(-r));
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "staff");
	stmt_done(st);
	return r;
}

static const char *const guard_kinds[] = {
	[KIOSK_GUARD_KIND_CODES] = "codes",
	[KIOSK_GUARD_KIND_HOLD] = "hold",
	[KIOSK_GUARD_KIND_STAFF] = "staff",
};

int store_put_guard(struct store *s, const struct kiosk_guard *g)
{
	bool forget = g->failures == 0 && g->until_usec == 0;
	sqlite3_stmt *st = NULL;
	int r;

	if ((unsigned)g->kind >= ARRAY_SIZE(guard_kinds) ||
	    !TERMINATED(g->key) || g->failures > 1000)
		return store_error(s, -EINVAL, "guard: bad state");
	r = stmt_get(s, forget ? STORE_STMT_GUARD_DELETE : STORE_STMT_GUARD_PUT,
		     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, guard_kinds[g->kind], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, g->key, -1, SQLITE_STATIC);
	if (!forget) {
		sqlite3_bind_int64(st, 3, g->failures);
		sqlite3_bind_int64(st, 4, g->until_usec);
	}
	r = stmt_exec(s, st, "guard");
	stmt_done(st);
	return r;
}

int store_drop_opening(struct store *s, unsigned locker)
{
	if (locker < 1 || locker > KIOSK_LOCKERS_MAX)
		return store_error(s, -EINVAL, "opening: bad locker %u",
				   locker);
	return opening_set(s, locker, KIOSK_PURPOSE_NONE);
}

/* Rows of holds or staff the core does not know are left to pruning. */
static int load_guard(struct store *s, struct kiosk *k)
{
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = stmt_get(s, STORE_STMT_GUARD_LIST, &st);
	if (r < 0)
		return r;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);
		struct kiosk_guard g = { 0 };
		unsigned i;

		for (i = 0; i < ARRAY_SIZE(guard_kinds); i++)
			if (kind && streq(kind, guard_kinds[i]))
				break;
		if (i == ARRAY_SIZE(guard_kinds)) {
			r = store_error(s, -EILSEQ, "guard: unknown kind");
			break;
		}
		g.kind = (enum kiosk_guard_kind)i;
		r = column_copy(s, st, 1, g.key, sizeof(g.key));
		if (r < 0)
			break;
		g.failures = (unsigned)sqlite3_column_int64(st, 2);
		g.until_usec = sqlite3_column_int64(st, 3);
		r = kiosk_set_guard(k, &g);
		if (r == -ENOENT)
			r = 0;
		else if (r < 0)
			store_error(s, r, "guard: refused by the core: %s",
				    strerror(-r));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "guard");
	stmt_done(st);
	return r;
}

int store_load(struct store *s, struct kiosk *k)
{
	unsigned n = kiosk_get_n_lockers(k);
	int r;

	r = store_ensure_lockers(s, n);
	if (r < 0)
		return r;
	/* One read transaction: the core sees a single moment. */
	r = tx_begin(s, false);
	if (r < 0)
		return r;
	r = load_lockers(s, k, n);
	if (r == 0)
		r = load_holds(s, k);
	if (r == 0)
		r = load_staff(s, k);
	if (r == 0)
		r = load_guard(s, k);
	if (r == 0)
		r = tx_commit(s);
	if (r < 0)
		tx_rollback(s);
	return r;
}

int store_foreach_hold(struct store *s, unsigned limit,
		       int (*cb)(const struct store_hold *h, void *userdata),
		       void *userdata)
{
	struct store_hold h;
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = tx_begin(s, false);
	if (r < 0)
		return r;
	r = stmt_get(s, STORE_STMT_HOLD_LIST_NEWEST, &st);
	if (r < 0) {
		tx_rollback(s);
		return r;
	}
	sqlite3_bind_int64(st, 1, limit);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = hold_read(s, st, true, &h);
		if (r == 0)
			r = cb(&h, userdata);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "holds");
	stmt_done(st);
	/* Only read; ending the transaction cannot lose anything. */
	tx_rollback(s);
	return r;
}

int store_get_hold(struct store *s, const char *id, struct store_hold *ret)
{
	struct store_hold h;
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = tx_begin(s, false);
	if (r < 0)
		return r;
	r = stmt_get(s, STORE_STMT_HOLD_GET, &st);
	if (r < 0) {
		tx_rollback(s);
		return r;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = hold_read(s, st, true, &h);
	else if (rc == SQLITE_DONE)
		r = store_error(s, -ENOENT, "hold %s: unknown", id);
	else
		r = store_fail(s, rc, "hold");
	stmt_done(st);
	tx_rollback(s);
	if (r == 0)
		memcpy(ret, &h, sizeof(h));
	return r;
}

int store_find_pending_hold_by_item(struct store *s, const char *barcode,
				    char ret_id[KIOSK_HOLD_ID_MAX + 1])
{
	sqlite3_stmt *st = NULL;
	const unsigned char *id;
	int r, rc;

	r = stmt_get(s, STORE_STMT_ITEM_FIND_PENDING, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, barcode, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_text(st, 0);
		if (id && strlen((const char *)id) <= KIOSK_HOLD_ID_MAX)
			memcpy(ret_id, id, strlen((const char *)id) + 1);
		else
			r = store_error(s, -EILSEQ, "a hold id of bad length");
	} else if (rc == SQLITE_DONE) {
		/* Not named: staff may have scanned a member card. */
		r = store_error(s, -ENOENT, "no pending hold has that item");
	} else {
		r = store_fail(s, rc, "item");
	}
	stmt_done(st);
	return r;
}

static int foreach_event(struct store *s, enum store_stmt id, unsigned limit,
			 int64_t from_seq, int64_t to_seq,
			 int (*cb)(const struct store_event *e, void *userdata),
			 void *userdata)
{
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_DONE;

	r = stmt_get(s, id, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, limit);
	if (id == STORE_STMT_OUTBOX_SENT_BETWEEN) {
		sqlite3_bind_int64(st, 2, from_seq);
		sqlite3_bind_int64(st, 3, to_seq);
	}
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event e = {
			.seq = sqlite3_column_int64(st, 0),
			.type = (const char *)sqlite3_column_text(st, 2),
			.at_usec = sqlite3_column_int64(st, 3),
			.payload = (const char *)sqlite3_column_text(st, 4),
			.sent = sqlite3_column_int64(st, 5) != 0,
		};

		r = column_copy(s, st, 1, e.uuid, sizeof(e.uuid));
		if (r == 0 && (!e.type || !e.payload))
			r = store_error(s, -ENOMEM, "out of memory");
		if (r == 0)
			r = cb(&e, userdata);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "events");
	stmt_done(st);
	return r;
}

int store_foreach_event(struct store *s, unsigned limit,
			int (*cb)(const struct store_event *e, void *userdata),
			void *userdata)
{
	return foreach_event(s, STORE_STMT_OUTBOX_NEWEST, limit, 0, 0, cb,
			     userdata);
}

int store_foreach_unsent(struct store *s, unsigned limit,
			 int (*cb)(const struct store_event *e, void *userdata),
			 void *userdata)
{
	return foreach_event(s, STORE_STMT_OUTBOX_UNSENT, limit, 0, 0, cb,
			     userdata);
}

int store_foreach_sent_between(
	struct store *s, int64_t from_seq, int64_t to_seq, unsigned limit,
	int (*cb)(const struct store_event *e, void *userdata), void *userdata)
{
	return foreach_event(s, STORE_STMT_OUTBOX_SENT_BETWEEN, limit, from_seq,
			     to_seq, cb, userdata);
}

int store_get_sent_range(struct store *s, int64_t *ret_oldest,
			 int64_t *ret_newest)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = stmt_get(s, STORE_STMT_OUTBOX_SENT_RANGE, &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_oldest = sqlite3_column_int64(st, 0);
		*ret_newest = sqlite3_column_int64(st, 1);
	} else {
		r = store_fail(s, rc, "sent events");
	}
	stmt_done(st);
	return r;
}

static int mark_sent(struct store *s, int64_t seq)
{
	sqlite3_stmt *st = NULL;
	int64_t changed;
	int r;

	/* n_unsent changes at once, so a rollback must not undo the update. */
	if (s->user_tx)
		return store_error(s, -EBUSY,
				   "mark sent: inside a transaction");
	r = stmt_get(s, STORE_STMT_OUTBOX_MARK_SENT, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, seq);
	r = stmt_exec(s, st, "mark sent");
	changed = sqlite3_changes64(s->db);
	stmt_done(st);
	if (r < 0)
		return r;
	s->n_unsent -= (uint64_t)changed < s->n_unsent ? (uint64_t)changed :
							 s->n_unsent;
	s->n_prunable += (uint64_t)changed;
	return 0;
}

int store_mark_sent(struct store *s, int64_t seq)
{
	int64_t before = sqlite3_total_changes64(s->db);
	int r = mark_sent(s, seq);

	quiet_since(s, before);
	return r;
}

int store_count_unsent(struct store *s, uint64_t *ret)
{
	*ret = s->n_unsent;
	return 0;
}

/*
 * PRAGMA integrity_check, then foreign_key_check (which it leaves out):
 * 0, -EILSEQ, or -errno; why in error.
 */
static int db_check_integrity(sqlite3 *db, char *error, size_t n)
{
	sqlite3_stmt *st = NULL;
	const char *v;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	v = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = sqlite_errno(rc);
		snprintf(error, n, "integrity_check: %s", sqlite3_errmsg(db));
	} else if (!v || !streq(v, "ok")) {
		r = -EILSEQ;
		snprintf(error, n, "integrity_check: %s", v ? v : "no answer");
	}
	sqlite3_finalize(st);
	if (r < 0)
		return r;

	rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = -EILSEQ;
		snprintf(error, n, "foreign_key_check: %s row %lld",
			 sqlite3_column_text(st, 0),
			 (long long)sqlite3_column_int64(st, 1));
	} else if (rc != SQLITE_DONE) {
		r = sqlite_errno(rc);
		snprintf(error, n, "foreign_key_check: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return r;
}

int store_check_integrity(struct store *s)
{
	return db_check_integrity(s->db, s->error, sizeof(s->error));
}

/* ---- work off the loop ---- */

struct store_job {
	enum store_job_kind kind;
	struct store *store;
	char *db_path, *backup_path;
	int fd; /* eventfd: 1 once the thread is done */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	sqlite3 *db;	/* the thread's own connection, under lock */
	bool cancelled; /* under lock */
	int copy_fd;	/* a backup's copy, once it exists */
	off_t copy_synced;
	int result;
	char error[256];
};

/*
 * The copy on disk while it grows, a step at a time: left to the end, the
 * copy's final fsync writes all of it at once, and the loop's commits,
 * which fsync the same disk, wait behind it (hundreds of milliseconds).
 */
static void job_sync_copy(struct store_job *j)
{
	struct stat st;

	if (j->copy_fd < 0)
		j->copy_fd = open(j->backup_path, O_RDONLY | O_CLOEXEC);
	if (j->copy_fd < 0 || fstat(j->copy_fd, &st) < 0 ||
	    st.st_size - j->copy_synced < STORE_COPY_SYNC_BYTES)
		return;
	/* An error here is the final fsync's to report. */
	(void)sync_file_range(
		j->copy_fd, j->copy_synced, st.st_size - j->copy_synced,
		SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			SYNC_FILE_RANGE_WAIT_AFTER);
	j->copy_synced = st.st_size;
}

/*
 * SQLite's progress handler: a statement stops at its next steps once the
 * job is cancelled, also one that had not started when sqlite3_interrupt()
 * was called (for which that call does nothing).
 */
static int job_cancelled(void *userdata)
{
	struct store_job *j = userdata;
	bool cancelled;

	pthread_mutex_lock(&j->lock);
	cancelled = j->cancelled;
	pthread_mutex_unlock(&j->lock);
	if (!cancelled && j->kind == STORE_JOB_BACKUP)
		job_sync_copy(j);
	return cancelled;
}

/* VACUUM INTO the job's path (which must not exist), flushed: 0 or -errno. */
static int job_backup(struct store_job *j, sqlite3 *db)
{
	const char *path = j->backup_path;
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (access(path, F_OK) == 0) {
		snprintf(j->error, sizeof(j->error), "backup: %s exists", path);
		return -EEXIST;
	}
	/* One read transaction: a snapshot, whatever lokerd writes meanwhile. */
	rc = sqlite3_prepare_v2(db, "VACUUM INTO ?", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		r = sqlite_errno(rc);
		snprintf(j->error, sizeof(j->error), "backup: %s",
			 sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	if (r < 0) {
		/* Not there before: what is there now is a part copy. */
		if (!strstr(j->error, "already exists"))
			unlink(path);
		return r;
	}
	/* VACUUM INTO does not sync what it wrote. */
	if (j->copy_fd < 0)
		j->copy_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (j->copy_fd < 0 || fsync(j->copy_fd) < 0) {
		r = -errno;
		snprintf(j->error, sizeof(j->error), "backup: %s: %s", path,
			 strerror(errno));
	}
	return r;
}

static void *job_run(void *userdata)
{
	struct store_job *j = userdata;
	sqlite3 *db = NULL;
	uint64_t one = 1;
	int rc;

	/* Only a checkpoint writes, and only to the database's own files. */
	rc = sqlite3_open_v2(j->db_path, &db,
			     (j->kind == STORE_JOB_CHECKPOINT ?
				      SQLITE_OPEN_READWRITE :
				      SQLITE_OPEN_READONLY) |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		j->result = -open_errno(db, j->db_path, rc);
		snprintf(j->error, sizeof(j->error), "%s: %s", j->db_path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	} else {
		sqlite3_extended_result_codes(db, 1);
		sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
		sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
		sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
		sqlite3_progress_handler(db, 1000, job_cancelled, j);
		pthread_mutex_lock(&j->lock);
		j->db = j->cancelled ? NULL : db;
		pthread_mutex_unlock(&j->lock);
		if (!j->db) {
			j->result = -ECANCELED;
			snprintf(j->error, sizeof(j->error), "cancelled");
		} else if (j->kind == STORE_JOB_BACKUP) {
			j->result = job_backup(j, db);
			if (j->copy_fd >= 0)
				close(j->copy_fd);
		} else if (j->kind == STORE_JOB_CHECKPOINT) {
			int64_t v;

			/*
			 * A first read opens the WAL; then, beside the writer,
			 * PASSIVE never waits for it.
			 */
			rc = store_db_get_int(db, "PRAGMA user_version", &v);
			/*
			 * Not a statement: an interrupt before it stops it,
			 * unless that read took the interrupt.
			 */
			if (rc == SQLITE_OK && job_cancelled(j))
				rc = SQLITE_INTERRUPT;
			if (rc == SQLITE_OK)
				rc = sqlite3_wal_checkpoint_v2(
					db, "main", SQLITE_CHECKPOINT_PASSIVE,
					NULL, NULL);
			j->result = rc == SQLITE_OK ? 0 : sqlite_errno(rc);
			snprintf(j->error, sizeof(j->error), "checkpoint: %s",
				 sqlite3_errmsg(db));
		} else {
			j->result = db_check_integrity(db, j->error,
						       sizeof(j->error));
		}
		pthread_mutex_lock(&j->lock);
		j->db = NULL;
		pthread_mutex_unlock(&j->lock);
	}
	sqlite3_close(db);
	/* The loop reads the result once this is readable. */
	(void)!write(j->fd, &one, sizeof(one));
	return NULL;
}

struct store_job *store_job_start(struct store *s, enum store_job_kind kind,
				  const char *backup_path)
{
	const char *db_path = sqlite3_db_filename(s->db, "main");
	struct store_job *j;
	int err;

	if (!db_path || !db_path[0] ||
	    (kind == STORE_JOB_BACKUP && (!backup_path || !backup_path[0]))) {
		errno = EINVAL;
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->kind = kind;
	j->store = s;
	j->result = -EINPROGRESS;
	j->fd = -1;
	j->copy_fd = -1;
	pthread_mutex_init(&j->lock, NULL);
	j->db_path = strdup(db_path);
	j->backup_path = backup_path ? strdup(backup_path) : NULL;
	if (!j->db_path || (backup_path && !j->backup_path)) {
		err = ENOMEM;
		goto fail;
	}
	j->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->fd < 0) {
		err = errno;
		goto fail;
	}
	err = pthread_create(&j->thread, NULL, job_run, j);
	if (err)
		goto fail;
	j->started = true;
	return j;
fail:
	store_job_free(j);
	errno = err;
	return NULL;
}

int store_job_get_fd(const struct store_job *j)
{
	return j->fd;
}

int store_job_result(struct store_job *j, const char **ret_error)
{
	uint64_t v;

	/* The thread's result is read only once it is joined. */
	if (j->started && read(j->fd, &v, sizeof(v)) == sizeof(v)) {
		pthread_join(j->thread, NULL);
		j->started = false;
		/* Until the next commit says how far the WAL has grown again. */
		if (j->kind == STORE_JOB_CHECKPOINT && j->result == 0)
			j->store->wal_pages = 0;
	}
	if (j->started)
		return -EINPROGRESS;
	if (ret_error)
		*ret_error = j->error;
	return j->result;
}

void store_job_free(struct store_job *j)
{
	if (!j)
		return;
	if (j->started) {
		/* Stops a long check or copy at its next step. */
		pthread_mutex_lock(&j->lock);
		j->cancelled = true;
		if (j->db)
			sqlite3_interrupt(j->db);
		pthread_mutex_unlock(&j->lock);
		pthread_join(j->thread, NULL);
	}
	if (j->fd >= 0)
		close(j->fd);
	pthread_mutex_destroy(&j->lock);
	free(j->db_path);
	free(j->backup_path);
	free(j);
}

/* ---- sync with the library's server ---- */

int store_begin(struct store *s)
{
	int r;

	if (s->user_tx)
		return store_error(s, -EBUSY, "a transaction is open already");
	r = tx_begin(s, true);
	if (r == 0)
		s->user_tx = true;
	return r;
}

int store_commit(struct store *s)
{
	int r;

	if (!s->user_tx)
		return store_error(s, -EINVAL, "no transaction is open");
	r = tx_commit(s);
	if (r < 0)
		tx_rollback(s);
	s->user_tx = false;
	return r;
}

void store_rollback(struct store *s)
{
	tx_rollback(s);
	s->user_tx = false;
}

/* v1.1: the library system refused an event the server accepted. */
static int add_refusal(struct store *s, const struct store_sent_mark *m,
		       unsigned *refused)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, STORE_STMT_REFUSAL_ADD, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, m->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->refused_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->refused_text ? m->refused_text : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_realtime_usec());
	r = stmt_exec(s, st, "refusal");
	if (r == 0)
		*refused += sqlite3_changes(s->db) == 1;
	stmt_done(st);
	return r;
}

static int mark_events_sent(struct store *s,
			    const struct store_sent_mark *marks, unsigned n,
			    unsigned *ret_marked, unsigned *ret_refused)
{
	unsigned marked = 0, rejected = 0, refused = 0;
	sqlite3_stmt *st = NULL;
	int r;

	if (s->user_tx)
		return store_error(s, -EBUSY,
				   "mark sent: inside a transaction");
	for (unsigned i = 0; i < n; i++)
		if (!marks[i].uuid ||
		    (marks[i].rejected &&
		     (!marks[i].rejected[0] ||
		      strlen(marks[i].rejected) > STORE_REJECTED_MAX)) ||
		    (marks[i].refused_code &&
		     (!marks[i].refused_code[0] ||
		      strlen(marks[i].refused_code) > STORE_REFUSED_CODE_MAX ||
		      strspn(marks[i].refused_code,
			     "abcdefghijklmnopqrstuvwxyz0123456789_") !=
			      strlen(marks[i].refused_code) ||
		      (marks[i].refused_text &&
		       strlen(marks[i].refused_text) > STORE_REJECTED_MAX))))
			return store_error(s, -EINVAL,
					   "mark sent: bad uuid or reason");
	r = tx_begin(s, true);
	if (r < 0)
		return r;
	r = stmt_get(s, STORE_STMT_OUTBOX_MARK_UUID, &st);
	for (unsigned i = 0; r == 0 && i < n; i++) {
		sqlite3_bind_text(st, 1, marks[i].uuid, -1, SQLITE_STATIC);
		if (marks[i].rejected)
			sqlite3_bind_text(st, 2, marks[i].rejected, -1,
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 2);
		r = stmt_exec(s, st, "mark sent");
		if (r == 0 && sqlite3_changes(s->db) == 1) {
			marked++;
			rejected += marks[i].rejected != NULL;
			if (marks[i].refused_code && !marks[i].rejected)
				r = add_refusal(s, &marks[i], &refused);
		}
		stmt_done(st);
	}
	if (r == 0 && refused) {
		r = stmt_get(s, STORE_STMT_SYNC_ADD_REFUSED, &st);
		if (r == 0) {
			sqlite3_bind_int64(st, 1, refused);
			r = stmt_exec(s, st, "refused count");
			stmt_done(st);
		}
	}
	if (r == 0 && refused) {
		r = stmt_get(s, STORE_STMT_REFUSAL_TRIM, &st);
		if (r == 0) {
			sqlite3_bind_int64(st, 1, STORE_REFUSALS_MAX);
			r = stmt_exec(s, st, "refusals trim");
			stmt_done(st);
		}
	}
	if (r == 0 && rejected) {
		r = stmt_get(s, STORE_STMT_SYNC_ADD_REJECTED, &st);
		if (r == 0) {
			sqlite3_bind_int64(st, 1, rejected);
			r = stmt_exec(s, st, "rejected count");
			stmt_done(st);
		}
	}
	if (r == 0)
		r = tx_commit(s);
	if (r < 0) {
		tx_rollback(s);
		return r;
	}
	s->n_unsent -= marked < s->n_unsent ? marked : s->n_unsent;
	s->n_prunable += marked;
	if (ret_marked)
		*ret_marked = marked;
	*ret_refused = refused;
	return 0;
}

int store_mark_events_sent(struct store *s, const struct store_sent_mark *marks,
			   unsigned n, unsigned *ret_marked)
{
	int64_t before = sqlite3_total_changes64(s->db);
	unsigned refused = 0;
	int r = mark_events_sent(s, marks, n, ret_marked, &refused);

	quiet_since(s, before);
	/* A refusal is for staff to see: the screens are drawn again. */
	s->n_quiet_changes -= refused;
	return r;
}

int store_count_rejected(struct store *s, uint64_t *ret)
{
	char value[24];
	int r;

	r = store_get_sync_value(s, "rejected_events", value, sizeof(value));
	if (r < 0)
		return r;
	*ret = strtoull(value, NULL, 10);
	return 0;
}

int store_count_refused(struct store *s, uint64_t *ret)
{
	char value[24];
	int r;

	r = store_get_sync_value(s, "refused_events", value, sizeof(value));
	if (r < 0)
		return r;
	*ret = strtoull(value, NULL, 10);
	return 0;
}

static void copy_column(sqlite3_stmt *st, int col, char *ret, size_t n)
{
	const char *v = (const char *)sqlite3_column_text(st, col);

	snprintf(ret, n, "%s", v ? v : "");
}

int store_foreach_refusal(struct store *s,
			  int (*cb)(const struct store_refusal *r,
				    void *userdata),
			  void *userdata)
{
	struct store_refusal ref;
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = stmt_get(s, STORE_STMT_REFUSAL_LIST, &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&ref, 0, sizeof(ref));
		ref.event_seq = sqlite3_column_int64(st, 0);
		copy_column(st, 1, ref.uuid, sizeof(ref.uuid));
		copy_column(st, 2, ref.type, sizeof(ref.type));
		copy_column(st, 3, ref.hold_id, sizeof(ref.hold_id));
		copy_column(st, 4, ref.code, sizeof(ref.code));
		copy_column(st, 5, ref.text, sizeof(ref.text));
		ref.at_usec = (uint64_t)sqlite3_column_int64(st, 6);
		r = cb(&ref, userdata);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		r = store_fail(s, rc, "refusals");
	stmt_done(st);
	return r;
}

/* Binds ?1 to text, runs the statement, returns the rows it changed. */
static int exec_on(struct store *s, enum store_stmt id, const char *text,
		   const char *what)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, id, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	r = stmt_exec(s, st, what);
	stmt_done(st);
	return r < 0 ? r : sqlite3_changes(s->db);
}

static int hold_state_of(struct store *s, const char *id,
			 enum kiosk_hold_state *ret)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = stmt_get(s, STORE_STMT_HOLD_STATE, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		r = v && kiosk_hold_state_from_string(v, ret) == 0 ?
			    0 :
			    store_error(s, -EILSEQ, "hold %s: bad state", id);
	} else if (rc == SQLITE_DONE) {
		r = -ENOENT;
	} else {
		r = store_fail(s, rc, "hold");
	}
	stmt_done(st);
	return r;
}

int store_has_hold(struct store *s, const char *id)
{
	enum kiosk_hold_state state;
	int r = hold_state_of(s, id, &state);

	return r == -ENOENT ? 0 : r < 0 ? r : 1;
}

static int hold_replace(struct store *s, const struct store_hold *h)
{
	const struct kiosk_hold *k = &h->hold;
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, STORE_STMT_HOLD_REPLACE, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kiosk_size_to_string(k->size), -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->patron_name, -1, SQLITE_STATIC);
	bind_text_or_null(st, 4, k->code_hmac);
	bind_text_or_null(st, 5, k->pin_hash);
	sqlite3_bind_int64(st, 6, k->expires_at_usec);
	sqlite3_bind_int(st, 7, k->needs_low);
	r = update_one(s, st, "hold");
	if (r == 0)
		r = exec_on(s, STORE_STMT_CREDENTIAL_DELETE, k->id,
			    "credentials");
	if (r >= 0)
		r = exec_on(s, STORE_STMT_ITEM_DELETE, k->id, "items");
	if (r >= 0)
		r = hold_insert_children(s, h);
	return r;
}

int store_put_hold(struct store *s, const struct store_hold *h,
		   enum store_put_result *ret)
{
	enum store_put_result result = STORE_PUT_KEPT;
	enum kiosk_hold_state state;
	sqlite3_stmt *st = NULL;
	int r;

	r = hold_check(s, h);
	if (r < 0)
		return r;
	if (h->hold.state != KIOSK_HOLD_STATE_PENDING)
		return store_error(s, -EINVAL, "hold %s: not pending",
				   h->hold.id);
	r = own_begin(s);
	if (r < 0)
		return r;
	r = hold_state_of(s, h->hold.id, &state);
	if (r == -ENOENT) {
		r = hold_insert(s, h);
		result = STORE_PUT_ADDED;
	} else if (r == 0) {
		switch (state) {
		case KIOSK_HOLD_STATE_PENDING:
			r = hold_replace(s, h);
			result = STORE_PUT_REPLACED;
			break;
		case KIOSK_HOLD_STATE_LOADED:
		case KIOSK_HOLD_STATE_EXPIRED:
			r = stmt_get(s, STORE_STMT_HOLD_SET_EXPIRY, &st);
			if (r < 0)
				break;
			sqlite3_bind_text(st, 1, h->hold.id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, h->hold.expires_at_usec);
			r = update_one(s, st, "hold expiry");
			result = STORE_PUT_EXPIRY_UPDATED;
			break;
		case KIOSK_HOLD_STATE_PICKED_UP:
		case KIOSK_HOLD_STATE_UNLOADED:
			break;
		}
	}
	r = own_end(s, r < 0 ? r : 0);
	if (r == 0 && ret)
		*ret = result;
	return r;
}

int store_set_hold_credentials(struct store *s, const struct store_hold *h)
{
	const struct kiosk_hold *k = &h->hold;
	sqlite3_stmt *st = NULL;
	int r;

	r = hold_check(s, h);
	if (r < 0)
		return r;
	r = own_begin(s);
	if (r < 0)
		return r;
	r = stmt_get(s, STORE_STMT_HOLD_SET_SECRETS, &st);
	if (r == 0) {
		sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
		bind_text_or_null(st, 2, k->code_hmac);
		bind_text_or_null(st, 3, k->pin_hash);
		r = update_one(s, st, "hold credentials");
	}
	if (r == 0)
		r = exec_on(s, STORE_STMT_CREDENTIAL_DELETE, k->id,
			    "credentials");
	if (r >= 0)
		r = stmt_get(s, STORE_STMT_CREDENTIAL_INSERT, &st);
	for (unsigned i = 0; r == 0 && i < k->n_credentials; i++) {
		sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, k->credential_hmacs[i], -1,
				  SQLITE_STATIC);
		r = stmt_exec(s, st, "credential");
		stmt_done(st);
	}
	return own_end(s, r < 0 ? r : 0);
}

int store_remove_pending_hold(struct store *s, const char *id)
{
	enum kiosk_hold_state state;
	int r;

	r = exec_on(s, STORE_STMT_HOLD_DELETE_PENDING, id, "hold");
	if (r != 0)
		return r < 0 ? r : 0;
	r = hold_state_of(s, id, &state);
	return r == 0 ? -EBUSY : r;
}

int store_remove_staff(struct store *s, const char *credential_hmac)
{
	int r = exec_on(s, STORE_STMT_STAFF_DELETE, credential_hmac, "staff");

	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static bool sync_key_ok(const char *key)
{
	size_t n = strlen(key);

	return n >= 1 && n <= 32 &&
	       strspn(key, "abcdefghijklmnopqrstuvwxyz_") == n;
}

int store_get_sync_value(struct store *s, const char *key, char *ret, size_t n)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (!sync_key_ok(key))
		return store_error(s, -EINVAL, "sync value: bad key");
	r = stmt_get(s, STORE_STMT_SYNC_GET, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		size_t len = v ? strlen(v) : 0;

		if (!v)
			r = store_error(s, -ENOMEM, "out of memory");
		else if (len >= n)
			r = -ENOBUFS;
		else
			memcpy(ret, v, len + 1);
	} else if (rc == SQLITE_DONE) {
		r = -ENOENT;
	} else {
		r = store_fail(s, rc, "sync value");
	}
	stmt_done(st);
	return r;
}

int store_set_sync_value(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!sync_key_ok(key) || strlen(value) > 1024)
		return store_error(s, -EINVAL, "sync value: bad key or value");
	r = stmt_get(s, STORE_STMT_SYNC_SET, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	r = stmt_exec(s, st, "sync value");
	stmt_done(st);
	return r;
}

int store_delete_sync_value(struct store *s, const char *key)
{
	int r;

	if (!sync_key_ok(key))
		return store_error(s, -EINVAL, "sync value: bad key");
	r = exec_on(s, STORE_STMT_SYNC_DELETE, key, "sync value");
	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

int store_full_seen_clear(struct store *s)
{
	return run(s, STORE_STMT_SEEN_CLEAR, "full set");
}

int store_full_seen_add(struct store *s, enum store_kind kind, const char *id)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, STORE_STMT_SEEN_ADD, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, kind == STORE_KIND_HOLD ? "hold" : "staff", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	r = stmt_exec(s, st, "full set");
	stmt_done(st);
	return r;
}

/* Calls cb with the text of column 0 of each row of a cached query. */
static int foreach_id(struct store *s, sqlite3_stmt *st,
		      int (*cb)(const char *id, void *userdata), void *userdata,
		      const char *what)
{
	int r = 0, rc = SQLITE_DONE;

	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		r = id ? cb(id, userdata) :
			 store_error(s, -ENOMEM, "out of memory");
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_fail(s, rc, what);
	stmt_done(st);
	return r;
}

int store_foreach_unseen(struct store *s, enum store_kind kind,
			 const char *after, unsigned limit,
			 int (*cb)(const char *id, void *userdata),
			 void *userdata)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!after)
		return store_error(s, -EINVAL, "full set: no id to go on from");
	r = stmt_get(s,
		     kind == STORE_KIND_HOLD ? STORE_STMT_UNSEEN_HOLDS :
					       STORE_STMT_UNSEEN_STAFF,
		     &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, after, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, limit);
	return foreach_id(s, st, cb, userdata, "full set");
}

int store_command_is_done(struct store *s, const char *id)
{
	return row_exists(s, STORE_STMT_COMMAND_EXISTS, id, 0);
}

int store_foreach_unacked_command(struct store *s, unsigned limit,
				  int (*cb)(const char *id, void *userdata),
				  void *userdata)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = stmt_get(s, STORE_STMT_COMMAND_UNACKED, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, limit);
	return foreach_id(s, st, cb, userdata, "commands");
}

int store_ack_command(struct store *s, const char *id)
{
	int r = exec_on(s, STORE_STMT_COMMAND_ACK, id, "command");

	return r < 0 ? r : r == 0 ? -ENOENT : 0;
}
