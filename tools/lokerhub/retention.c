// SPDX-License-Identifier: GPL-2.0-or-later
/* Event retention: old events into a compressed archive, their ids kept. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "db.h"
#include "retention.h"

/* Text of one step before compression: 256 events of at most 1 MiB each
 * cannot be held, but uploads are far smaller; past it, fewer go. */
#define RETENTION_STEP_BYTES (8u << 20)

/* The archived form of an event: what `events --json` shows of it. */
#define RETENTION_EVENT_JSON                                                 \
	"json_object('id', id, 'kiosk', kiosk_id, 'seq', seq, 'type', type," \
	" 'at_usec', at_usec, 'payload', json(payload), 'status', status,"   \
	" 'reason', reason, 'received_usec', received_usec)"

struct text {
	char *s;
	size_t len, cap;
};

static int text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 64 << 10;
		char *p;

		while (cap < t->len + n + 1)
			cap *= 2;
		p = realloc(t->s, cap);
		if (!p)
			return -ENOMEM;
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
	return 0;
}

/*
 * The events of this step: from the oldest, while they are older than
 * before_usec and fit the bounds. *ret_last: the last one's n.
 */
static int collect(sqlite3 *db, int64_t before_usec, struct text *t,
		   int64_t *ret_last, unsigned *ret_count, int64_t *ret_from,
		   int64_t *ret_to)
{
	sqlite3_stmt *st;
	unsigned count = 0;
	int rc, err = 0;

	st = db_query(db,
		      "SELECT n, received_usec, " RETENTION_EVENT_JSON
		      " FROM events ORDER BY n LIMIT ?",
		      "i", RETENTION_STEP_EVENTS);
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t received = sqlite3_column_int64(st, 1);
		size_t n = (size_t)sqlite3_column_bytes(st, 2);

		if (received >= before_usec ||
		    (count > 0 && t->len + n + 1 > RETENTION_STEP_BYTES))
			break;
		err = text_add(t, (const char *)sqlite3_column_text(st, 2), n) ?:
			      text_add(t, "\n", 1);
		if (err < 0)
			break;
		if (count++ == 0)
			*ret_from = received;
		*ret_to = received;
		*ret_last = sqlite3_column_int64(st, 0);
	}
	if (err == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = -EIO;
	db_done(st);
	*ret_count = count;
	return err;
}

static int archive(sqlite3 *db, const struct text *t, int64_t last,
		   unsigned count, int64_t from, int64_t to)
{
	uLongf size = compressBound((uLong)t->len);
	Bytef *z = malloc(size);
	sqlite3_stmt *st;
	int err = 0;

	if (!z)
		return -ENOMEM;
	if (compress2(z, &size, (const Bytef *)t->s, (uLong)t->len,
		      Z_BEST_COMPRESSION) != Z_OK) {
		free(z);
		return -EIO;
	}
	st = db_query(db,
		      "INSERT INTO event_archive (last_n, count, from_usec,"
		      " to_usec, bytes, data) VALUES (?, ?, ?, ?, ?, ?)",
		      "IiIII", last, (int)count, from, to, (int64_t)t->len);
	if (!st ||
	    sqlite3_bind_blob(st, 6, z, (int)size, SQLITE_TRANSIENT) !=
		    SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		fprintf(stderr, "lokerhub: event archive: %s\n",
			sqlite3_errmsg(db));
		err = -EIO;
	}
	db_done(st);
	free(z);
	/* A rejected one is judged again when its kiosk sends it again. */
	if (err == 0)
		err = db_run(db,
			     "INSERT OR REPLACE INTO event_ids"
			     " (id, kiosk_id, seq, rejected)"
			     " SELECT id, kiosk_id, seq, status = 'rejected'"
			     " FROM events WHERE n <= ?",
			     "I", last);
	if (err == 0)
		err = db_run(db, "DELETE FROM events WHERE n <= ?", "I", last);
	return err;
}

int retention_step(sqlite3 *db, int64_t before_usec)
{
	struct text t = { 0 };
	int64_t last = 0, from = 0, to = 0;
	unsigned count = 0;
	int err;

	err = db_begin(db);
	if (err < 0)
		return err;
	err = collect(db, before_usec, &t, &last, &count, &from, &to);
	if (err == 0 && count > 0)
		err = archive(db, &t, last, count, from, to);
	free(t.s);
	if (err < 0) {
		db_rollback(db);
		fprintf(stderr,
			"lokerhub: event retention: a step failed: %s\n",
			strerror(-err));
		return err;
	}
	err = db_commit(db);
	return err < 0 ? err : (int)count;
}

int retention_export(sqlite3 *db, FILE *out)
{
	sqlite3_stmt *st;
	int rc, err = 0;

	st = db_query(db, "SELECT bytes, data FROM event_archive ORDER BY n",
		      "");
	if (!st)
		return -EIO;
	while (err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uLongf size = (uLongf)sqlite3_column_int64(st, 0);
		const void *z = sqlite3_column_blob(st, 1);
		uLong zlen = (uLong)sqlite3_column_bytes(st, 1);
		Bytef *text =
			size <= RETENTION_STEP_BYTES ? malloc(size) : NULL;

		if (!text || !z || uncompress(text, &size, z, zlen) != Z_OK) {
			fprintf(stderr,
				"lokerhub: event archive: a part does not decompress\n");
			err = -EIO;
		} else if (fwrite(text, 1, size, out) != size) {
			err = -EIO;
		}
		free(text);
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = -EIO;
	db_done(st);
	return err;
}
