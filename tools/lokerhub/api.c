// SPDX-License-Identifier: GPL-2.0-or-later
/* Locker Sync API v1, the server's side, over the database. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "protocol.h"

/*
 * A changes reply stays well under the kiosk's 4 MiB: entries stop here and
 * the rest comes on the next page.
 */
#define API_REPLY_BUDGET (3u << 20)
#define API_DONE_MAX	 1000 /* done_commands looked at per heartbeat */

const char *api_endpoint_name(enum api_endpoint e)
{
	switch (e) {
	case API_ENDPOINT_CHANGES:
		return "changes";
	case API_ENDPOINT_EVENTS:
		return "events";
	case API_ENDPOINT_STATUS:
		return "status";
	case API_ENDPOINT_ITEMS:
	case API_ENDPOINT_ITEM_LOOKUP:
		return "items";
	}
	return "?";
}

const char *api_error_code(unsigned status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 413:
		return "too_large";
	case 422:
		return "invalid";
	case 429:
		return "rate_limited";
	case 503:
		return "unavailable";
	default:
		return "internal";
	}
}

static void set_body(struct api_reply *reply, unsigned status, json_t *body)
{
	reply->status = status;
	reply->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!reply->body) {
		/* Out of memory: a short reply, if even that can be had. */
		reply->status = 500;
		reply->body = strdup("{\"error\":{\"code\":\"internal\","
				     "\"message\":\"out of memory\"}}");
	}
	reply->body_len = reply->body ? strlen(reply->body) : 0;
}

void api_error(struct api_reply *reply, unsigned status, const char *message)
{
	set_body(reply, status,
		 json_pack("{s:{s:s, s:s}}", "error", "code",
			   api_error_code(status), "message", message));
}

static int fail(struct api_reply *reply, unsigned status, const char *message)
{
	api_error(reply, status, message);
	return -EINVAL;
}

bool api_unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		int hi = credential_hex_digit(r[1]),
		    lo = hi < 0 ? -1 : credential_hex_digit(r[2]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;
		*w++ = (char)(hi << 4 | lo);
		r += 2;
	}
	*w = '\0';
	return true;
}

/* One escaped path segment of at most DB_ID_MAX characters once decoded. */
static bool take_id(const char *raw, size_t n, char ret[DB_ID_MAX + 1])
{
	char buf[3 * DB_ID_MAX + 1];

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, raw, n);
	buf[n] = '\0';
	if (!api_unescape(buf) || !db_is_id(buf))
		return false;
	memcpy(ret, buf, strlen(buf) + 1);
	return true;
}

int api_route(const char *base, const char *method, const char *path,
	      struct api_route *ret, struct api_reply *reply)
{
	size_t base_len = strlen(base);
	const char *rest, *slash, *want;
	struct api_route r = { 0 };

	if (strncmp(path, base, base_len) != 0 ||
	    strncmp(path + base_len, "/kiosks/", 8) != 0)
		return fail(reply, 404, "no such endpoint");
	rest = path + base_len + 8;
	slash = strchr(rest, '/');
	if (!slash || !take_id(rest, (size_t)(slash - rest), r.kiosk_id))
		return fail(reply, 404, "no such endpoint");
	rest = slash + 1;
	if (strcmp(rest, "changes") == 0) {
		r.endpoint = API_ENDPOINT_CHANGES;
		want = "GET";
	} else if (strcmp(rest, "events") == 0) {
		r.endpoint = API_ENDPOINT_EVENTS;
		want = "POST";
	} else if (strcmp(rest, "status") == 0) {
		r.endpoint = API_ENDPOINT_STATUS;
		want = "POST";
	} else if (strcmp(rest, "items/lookup") == 0 &&
		   strcmp(method, "GET") != 0) {
		/* v1.1; a GET is v1's lookup of the barcode "lookup". */
		r.endpoint = API_ENDPOINT_ITEM_LOOKUP;
		want = "POST";
		reply->allow = "GET, POST";
	} else if (strncmp(rest, "items/", 6) == 0 &&
		   take_id(rest + 6, strlen(rest + 6), r.barcode)) {
		/* The whole rest: a barcode may hold a '/' of its own. */
		r.endpoint = API_ENDPOINT_ITEMS;
		want = "GET";
	} else {
		return fail(reply, 404, "no such endpoint");
	}
	if (strcmp(method, want) != 0) {
		if (!reply->allow)
			reply->allow = want;
		return fail(reply, 405, "method not allowed here");
	}
	reply->allow = NULL;
	*ret = r;
	return 0;
}

int api_authorize(sqlite3 *db, const struct api_route *route,
		  const char *authorization, struct api_reply *reply)
{
	char hash[DB_SHA256_HEX_LEN + 1], token[API_TOKEN_MAX + 1];
	const char *t;
	sqlite3_stmt *st;
	bool ours = false, known = false;
	size_t n;

	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return fail(reply, 401, "a bearer token is required");
	t = authorization + 7;
	t += strspn(t, " ");
	n = strcspn(t, " \t");
	if (n == 0 || n > API_TOKEN_MAX || t[n + strspn(t + n, " \t")])
		return fail(reply, 401, "unknown token");
	memcpy(token, t, n);
	token[n] = '\0';
	db_sha256_hex(token, hash);
	explicit_bzero(token, sizeof(token));

	/* The path's kiosk's hash, compared in constant time. */
	st = db_query(db, "SELECT token_sha256 FROM kiosks WHERE id = ?", "s",
		      route->kiosk_id);
	if (!st)
		return fail(reply, 500, "database error");
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == DB_SHA256_HEX_LEN)
		ours = CRYPTO_memcmp(sqlite3_column_text(st, 0), hash,
				     DB_SHA256_HEX_LEN) == 0;
	db_done(st);
	if (ours)
		return 0;
	/* Not this kiosk's: another kiosk's (403) or nobody's (401)? */
	st = db_query(db, "SELECT 1 FROM kiosks WHERE token_sha256 = ?", "s",
		      hash);
	if (!st)
		return fail(reply, 500, "database error");
	known = sqlite3_step(st) == SQLITE_ROW;
	db_done(st);
	if (known)
		return fail(reply, 403, "this token is for another kiosk");
	return fail(reply, 401, "unknown token");
}

/* ---- changes ---- */

/* The change sequence number a cursor of this database names, or -1. */
static int64_t cursor_seq(sqlite3 *db, const char *raw, int64_t max_seq)
{
	char buf[3 * DB_CURSOR_MAX + 1], instance[9], *end;
	long long seq;

	if (!raw || strlen(raw) >= sizeof(buf))
		return -1;
	memcpy(buf, raw, strlen(raw) + 1);
	if (!api_unescape(buf) || strncmp(buf, "s:", 2) != 0 || buf[2] < '0' ||
	    buf[2] > '9')
		return -1;
	errno = 0;
	seq = strtoll(buf + 2, &end, 10);
	if (errno || *end != ':' || db_instance(db, instance) < 0 ||
	    strcmp(end + 1, instance) != 0)
		return -1;
	/* From the future (a database restored from a backup): resync. */
	if (seq < 0 || seq > max_seq)
		return -1;
	return seq;
}

static json_t *staff_json(sqlite3 *db, const char *credential)
{
	sqlite3_stmt *st = db_query(
		db, "SELECT pin_hash, role FROM staff WHERE credential = ?",
		"s", credential);
	json_t *o = NULL;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		o = json_pack("{s:s, s:s, s:s}", "credential", credential,
			      "pin", sqlite3_column_text(st, 0), "role",
			      sqlite3_column_text(st, 1));
	db_done(st);
	return o;
}

static size_t json_size(json_t *o)
{
	return json_dumpb(o, NULL, 0, JSON_COMPACT) + 2;
}

/*
 * A staff card is sent to the kiosk ?1 when it is scoped to it, or to no
 * kiosk in particular (every kiosk: lokerhub staff-add without --kiosk).
 */
#define STAFF_HERE                                                     \
	"NOT EXISTS (SELECT 1 FROM staff_kiosks sk"                    \
	" WHERE sk.credential = staff.credential) OR EXISTS (SELECT 1" \
	" FROM staff_kiosks sk WHERE sk.credential = staff.credential" \
	" AND sk.kiosk_id = ?1)"

/*
 * A PIN hash a kiosk of sync v1.0 cannot check (?4: the kiosk did not say
 * it speaks v1.1): that firmware knows only the first form, of at most
 * 200 000 iterations, and refuses a whole reply with the second. Such a
 * card is left out there.
 */
#define STAFF_HASH_UNKNOWN                                                 \
	"(?4 AND NOT (substr(pin_hash, 1, 14) = 'pbkdf2-sha256$' AND"      \
	" CAST(substr(pin_hash, 15, instr(substr(pin_hash, 15), '$') - 1)" \
	" AS INTEGER) BETWEEN 1 AND 200000))"
#define STAFF_GONE "(removed OR NOT (" STAFF_HERE ") OR " STAFF_HASH_UNKNOWN ")"

enum change_kind {
	CHANGE_KIND_HOLD,
	CHANGE_KIND_REMOVED_HOLD,
	CHANGE_KIND_STAFF,
	CHANGE_KIND_REMOVED_STAFF,
};

/*
 * Holds, removals and staff changed after since, oldest first, into the
 * arrays of reply, until a bound is reached; *ret_last is the sequence
 * number of the last entry taken, *ret_more whether one was left out.
 */
static int collect_changes(sqlite3 *db, const char *kiosk_id, int64_t since,
			   bool full, bool v1_hashes, unsigned limit,
			   json_t *reply, int64_t *ret_last, bool *ret_more)
{
	json_t *arrays[] = {
		[CHANGE_KIND_HOLD] = json_object_get(reply, "holds"),
		[CHANGE_KIND_REMOVED_HOLD] =
			json_object_get(reply, "removed_holds"),
		[CHANGE_KIND_STAFF] = json_object_get(reply, "staff"),
		[CHANGE_KIND_REMOVED_STAFF] =
			json_object_get(reply, "removed_staff"),
	};
	const unsigned caps[] = {
		[CHANGE_KIND_HOLD] = limit,
		[CHANGE_KIND_REMOVED_HOLD] = API_REMOVED_MAX,
		[CHANGE_KIND_STAFF] = API_STAFF_MAX,
		[CHANGE_KIND_REMOVED_STAFF] = API_REMOVED_MAX,
	};
	unsigned withheld = 0;
	size_t bytes = 0;
	sqlite3_stmt *st;
	int rc, err = 0;

	/*
	 * A full set needs no removals: the kiosk drops what it lacks. A card
	 * not for this kiosk (any more), or with a hash it cannot check, is a
	 * removal here; the last column tells the latter.
	 */
	st = db_query(
		db,
		"SELECT change_seq, 0, id, 0 FROM holds"
		" WHERE kiosk_id = ?1 AND change_seq > ?2"
		" AND state IN ('pending', 'loaded')"
		" UNION ALL SELECT seq, 1, hold_id, 0 FROM hold_removals"
		" WHERE kiosk_id = ?1 AND seq > ?2 AND NOT ?3"
		" UNION ALL SELECT seq, 2 + " STAFF_GONE ", credential,"
		" NOT removed AND (" STAFF_HERE ") AND " STAFF_HASH_UNKNOWN
		" FROM staff"
		" WHERE seq > ?2 AND NOT (?3 AND (removed OR NOT (" STAFF_HERE
		")))"
		" ORDER BY 1",
		"sIii", kiosk_id, since, (int)full, (int)v1_hashes);
	if (!st)
		return -EIO;
	*ret_more = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum change_kind kind =
			(enum change_kind)sqlite3_column_int(st, 1);
		const char *id = (const char *)sqlite3_column_text(st, 2);
		json_t *entry = NULL;
		size_t size;

		if (sqlite3_column_int(st, 3)) {
			withheld++;
			/* A full set names no removals. */
			if (full) {
				*ret_last = sqlite3_column_int64(st, 0);
				continue;
			}
		}
		switch (kind) {
		case CHANGE_KIND_HOLD:
			entry = db_hold_json(db, id);
			break;
		case CHANGE_KIND_STAFF:
			entry = staff_json(db, id);
			break;
		case CHANGE_KIND_REMOVED_HOLD:
		case CHANGE_KIND_REMOVED_STAFF:
			entry = json_string(id);
			break;
		}
		if (!entry) {
			err = -EIO;
			break;
		}
		size = json_size(entry);
		if (json_array_size(arrays[kind]) >= caps[kind] ||
		    (bytes > 0 && bytes + size > API_REPLY_BUDGET)) {
			json_decref(entry);
			*ret_more = true;
			break;
		}
		bytes += size;
		json_array_append_new(arrays[kind], entry);
		*ret_last = sqlite3_column_int64(st, 0);
	}
	if (err == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = -EIO;
	db_done(st);
	if (err == 0 && withheld > 0)
		fprintf(stderr,
			"lokerhub: kiosk %s speaks sync v1.0: %u staff card(s) left out there, their PIN hashes being of a form it cannot check (pbkdf2-sha256-2, or over 200000 iterations); update its firmware\n",
			kiosk_id, withheld);
	return err;
}

static int parse_limit(const char *raw, unsigned *ret)
{
	char buf[16];
	unsigned long v;
	char *end;

	if (!raw) {
		*ret = API_LIMIT_DEFAULT;
		return 0;
	}
	if (strlen(raw) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, raw, strlen(raw) + 1);
	if (!api_unescape(buf) || buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || *end || v < 1 || v > API_LIMIT_MAX)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/*
 * A kiosk's settings as changes sends them, in one statement (some 6,000
 * instructions less than one each). 0, -ENOENT (no such kiosk) or -EIO.
 */
static int kiosk_settings(sqlite3 *db, const char *kiosk_id,
			  int64_t *ret_pin_required, int64_t *ret_window_days)
{
	sqlite3_stmt *st;
	int rc;

	st = db_query(db,
		      "SELECT pin_required, hold_window_days FROM kiosks"
		      " WHERE id = ?",
		      "s", kiosk_id);
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_pin_required = sqlite3_column_int64(st, 0);
		*ret_window_days = sqlite3_column_int64(st, 1);
	}
	db_done(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

static void handle_changes(sqlite3 *db, const struct api_route *route,
			   const char *query_cursor, const char *query_limit,
			   struct api_reply *reply)
{
	char cursor[DB_CURSOR_MAX + 1], instance[9];
	int64_t max_seq = 0, since, last;
	int64_t pin_required = 0, window_days = 0;
	json_t *body = NULL;
	unsigned limit;
	bool more = false, own = sqlite3_get_autocommit(db);
	int err;

	if (parse_limit(query_limit, &limit) < 0) {
		api_error(reply, 400, "limit: not a number from 1 to 1000");
		return;
	}
	/*
	 * One snapshot: a writer in the middle cannot tear the reply (the
	 * server's may be open already). Both ends through the statement
	 * cache: sqlite3_exec() compiles its SQL every time.
	 */
	if (own && db_run(db, "BEGIN", "") < 0)
		goto db_fail;
	err = db_get_int(db, &max_seq, "SELECT value FROM meta WHERE key = 'change_seq'", "") ?:
		      db_instance(db, instance) ?:
		      kiosk_settings(db, route->kiosk_id, &pin_required,
				     &window_days);
	if (err < 0)
		goto db_fail;
	since = query_cursor && query_cursor[0] ?
			cursor_seq(db, query_cursor, max_seq) :
			-1;
	body = json_pack(
		"{s:s, s:b, s:b, s:[], s:[], s:[], s:[], s:{s:b, s:I}}",
		"cursor", "", "more", 0, "full", since < 0, "holds",
		"removed_holds", "staff", "removed_staff", "settings",
		"pin_required", (int)pin_required, "hold_window_days",
		(json_int_t)window_days);
	if (!body)
		goto db_fail;
	if (since < 0)
		since = 0;
	last = since;
	err = collect_changes(db, route->kiosk_id, since,
			      json_is_true(json_object_get(body, "full")),
			      route->kiosk_minor < 1, limit, body, &last,
			      &more);
	if (err < 0)
		goto db_fail;
	if (own)
		db_run(db, "COMMIT", ""); /* a read: nothing to lose */
	/* All of it sent: the kiosk is as far as the whole sequence. */
	snprintf(cursor, sizeof(cursor), "s:%" PRId64 ":%s",
		 more ? last : max_seq, instance);
	json_object_set_new(body, "cursor", json_string(cursor));
	json_object_set_new(body, "more", json_boolean(more));
	set_body(reply, 200, body);
	return;
db_fail:
	json_decref(body);
	if (own)
		db_rollback(db);
	api_error(reply, 500, "database error");
}

/* ---- events ---- */

struct event {
	json_t *o;
	size_t index;
	const char *id, *type;
	int64_t seq, at_usec;
	json_t *payload;
	bool valid;
};

static bool is_uuid(const char *s)
{
	return s && protocol_is_uuid(s);
}

/* seq order; events without a usable seq first, in the order sent. */
static int compare_events(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void check_event(struct event *e)
{
	json_t *seq = json_object_get(e->o, "seq");
	const char *at = json_string_value(json_object_get(e->o, "at"));

	e->type = json_string_value(json_object_get(e->o, "type"));
	e->payload = json_object_get(e->o, "payload");
	e->seq = json_is_integer(seq) ? json_integer_value(seq) : INT64_MIN;
	e->valid = e->seq >= 0 && e->type && db_is_id(e->type) && at &&
		   protocol_parse_time(at, &e->at_usec) == 0 &&
		   json_is_object(e->payload);
}

static const struct hold_event {
	const char *type, *state;
} hold_events[] = {
	{ "hold_loaded", "loaded" },
	{ "hold_picked_up", "picked_up" },
	{ "hold_unloaded", "unloaded" },
	{ "hold_expired", "expired" },
};

/*
 * What an accepted event does to the holds. 0 (applied), a reason to
 * reject it (*ret_reason), or -EIO.
 */
struct refusal {
	char code[64], text[128];
};

/*
 * v1.1: what the library system says to a checkout. lokerhub has no loan
 * rules; a patron given `patron-add --refuse CODE[=TEXT]` stands for one
 * whose checkouts the library system refuses. 0, or -EIO.
 */
static int checkout_refusal(sqlite3 *db, const char *hold_id,
			    struct refusal *ret)
{
	sqlite3_stmt *st;
	int rc;

	st = db_query(db,
		      "SELECT p.refuse_code, p.refuse_text FROM holds h"
		      " JOIN patrons p ON p.id = h.patron_id"
		      " WHERE h.id = ? AND p.refuse_code IS NOT NULL",
		      "s", hold_id);
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 1);

		snprintf(ret->code, sizeof(ret->code), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(ret->text, sizeof(ret->text), "%s", text ? text : "");
	}
	db_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* v1.1 `left`: an array of at most 15 objects with a string `barcode`. */
static bool left_valid(json_t *left)
{
	json_t *item;
	size_t i;

	if (!json_is_array(left) || json_array_size(left) < 1 ||
	    json_array_size(left) > 15)
		return false;
	json_array_foreach(left, i, item) if (!json_is_string(json_object_get(
						      item,
						      "barcode"))) return false;
	return true;
}

static bool left_has(json_t *left, const char *barcode)
{
	json_t *item;
	size_t i;

	json_array_foreach(
		left, i,
		item) if (!strcmp(json_string_value(json_object_get(item,
								    "barcode")),
				  barcode)) return true;
	return false;
}

/*
 * v1.1, a partial pickup (docs/sync-api.md): the hold's books not in
 * `left` are lent, so they leave the hold, which stays in its locker with
 * the books of `left`. 1 when it stays, 0 when none of `left` is the
 * hold's (then it is a whole pickup), -EIO.
 */
static int partial_pickup(sqlite3 *db, const char *hold_id, json_t *left,
			  int64_t now_usec)
{
	char taken[16][DB_ID_MAX + 1];
	unsigned n_taken = 0, n_kept = 0;
	sqlite3_stmt *st;
	int err = 0, rc;

	st = db_query(db, "SELECT barcode FROM hold_items WHERE hold_id = ?",
		      "s", hold_id);
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *b = (const char *)sqlite3_column_text(st, 0);

		if (left_has(left, b))
			n_kept++;
		else if (n_taken < 16)
			snprintf(taken[n_taken++], sizeof(taken[0]), "%s", b);
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	if (!n_kept)
		return 0;
	for (unsigned i = 0; err == 0 && i < n_taken; i++)
		err = db_run(db,
			     "DELETE FROM hold_items WHERE hold_id = ?"
			     " AND barcode = ?",
			     "ss", hold_id, taken[i]);
	if (err == 0)
		err = db_run(db,
			     "UPDATE holds SET updated_usec = ? WHERE id = ?",
			     "Is", now_usec, hold_id);
	fprintf(stderr,
		"lokerhub: hold %s taken in part: %u book(s) lent, %u still in the locker for the patron\n",
		hold_id, n_taken, n_kept);
	return err < 0 ? err : 1;
}

static int apply_event(sqlite3 *db, const char *kiosk_id, bool v11,
		       const struct event *e, const char **ret_reason,
		       struct refusal *ret_refusal)
{
	const struct hold_event *he = NULL;
	const char *hold_id;
	char routed[DB_ID_MAX + 1];
	sqlite3_stmt *st;
	json_t *locker, *left;
	int64_t now = db_now_usec();
	int err, rc;

	for (size_t i = 0; i < sizeof(hold_events) / sizeof(hold_events[0]);
	     i++)
		if (strcmp(e->type, hold_events[i].type) == 0)
			he = &hold_events[i];
	if (!he)
		return 0; /* history and alarms: stored, shown to staff */
	hold_id = json_string_value(json_object_get(e->payload, "hold_id"));
	locker = json_object_get(e->payload, "locker");
	/* v1.1: a v1 server knows no books left, and finishes the hold. */
	left = v11 && strcmp(he->state, "picked_up") == 0 ?
		       json_object_get(e->payload, "left") :
		       NULL;
	if (!hold_id || !db_is_id(hold_id) ||
	    (locker && !json_is_integer(locker)) ||
	    (left && !left_valid(left))) {
		*ret_reason = "invalid";
		return 0;
	}
	/*
	 * Only the kiosk a hold is routed to now may change it: one it was
	 * taken from and routed elsewhere does not have its books (a loaded
	 * hold never moves), so its word would check out books that are in
	 * another kiosk, or finish a hold under the other kiosk's feet. A
	 * hold cancelled stays routed to its kiosk, whose events count.
	 */
	st = db_query(db, "SELECT kiosk_id FROM holds WHERE id = ?", "s",
		      hold_id);
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(routed, sizeof(routed), "%s",
			 (const char *)sqlite3_column_text(st, 0));
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	if (rc == SQLITE_DONE) {
		*ret_reason = "unknown_hold";
		return 0;
	}
	if (strcmp(routed, kiosk_id) != 0) {
		/*
		 * A load or pickup here means the books are here: staff moved
		 * the hold while this kiosk, offline, was loading it. Say so
		 * loudly; lokerhub kiosks and the fleet page show it until the
		 * hold is routed back or unloaded.
		 */
		if (strcmp(he->state, "loaded") == 0 ||
		    strcmp(he->state, "picked_up") == 0)
			fprintf(stderr,
				"lokerhub: kiosk %s: event %s (%s) refused: hold %s is routed to kiosk %s now; "
				"its books are in kiosk %s: route it back (hold-route %s --kiosk %s) or unload it\n",
				kiosk_id, e->id, e->type, hold_id, routed,
				kiosk_id, hold_id, kiosk_id);
		else
			fprintf(stderr,
				"lokerhub: kiosk %s: event %s (%s) refused: hold %s is routed to kiosk %s now\n",
				kiosk_id, e->id, e->type, hold_id, routed);
		*ret_reason = API_REASON_ROUTED_ELSEWHERE;
		return 0;
	}
	/*
	 * A picked-up hold is final: the books are gone. This is where a
	 * library system would check the items out to the patron, and
	 * could refuse to: the event is still taken (the books are gone),
	 * and the refusal goes back to the kiosk's staff.
	 */
	if (strcmp(he->state, "picked_up") == 0) {
		err = checkout_refusal(db, hold_id, ret_refusal);
		if (err < 0)
			return err;
	}
	/* A picked-up hold is final, also for a late partial pickup. */
	if (left) {
		st = db_query(db,
			      "SELECT 1 FROM holds WHERE id = ?"
			      " AND state IN ('picked_up', 'unloaded')",
			      "s", hold_id);
		if (!st)
			return -EIO;
		rc = sqlite3_step(st);
		db_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return -EIO;
		if (rc == SQLITE_ROW)
			return 0;
		err = partial_pickup(db, hold_id, left, now);
		if (err != 0)
			return err < 0 ? err : 0;
	}
	err = db_run(db,
		     "UPDATE holds SET state = ?2, updated_usec = ?3,"
		     " loaded_usec = CASE WHEN ?2 = 'loaded' THEN ?4"
		     "  ELSE loaded_usec END,"
		     " picked_up_usec = CASE WHEN ?2 = 'picked_up' THEN ?4"
		     "  ELSE picked_up_usec END"
		     " WHERE id = ?1 AND state != 'picked_up'",
		     "ssII", hold_id, he->state, now, e->at_usec);
	if (err == 0 && json_is_integer(locker))
		err = db_run(db,
			     "UPDATE holds SET locker = ? WHERE id = ?"
			     " AND state = ?",
			     "Iss", (int64_t)json_integer_value(locker),
			     hold_id, he->state);
	return err;
}

static int store_event(sqlite3 *db, const char *kiosk_id, const struct event *e,
		       const char *reason, const struct refusal *refusal)
{
	char refused[256] = "";

	json_t *payload = e->payload ? e->payload : json_null();
	char *text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
	const char *type = e->type && db_is_id(e->type) ? e->type : "";
	int err;

	if (!text)
		return -ENOMEM;
	/* Accepted, and in `reason` what the library system said. */
	if (!reason && refusal->code[0]) {
		snprintf(refused, sizeof(refused), "refused: %s%s%s",
			 refusal->code, refusal->text[0] ? ": " : "",
			 refusal->text);
		reason = refused;
	}
	err = db_run(db,
		     "INSERT INTO events (id, kiosk_id, seq, type, at_usec,"
		     " payload, status, reason, received_usec)"
		     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     "ssIsIsssI", e->id, kiosk_id, e->seq < 0 ? 0 : e->seq,
		     type, e->valid ? e->at_usec : 0, text,
		     reason && !refused[0] ? "rejected" : "accepted", reason,
		     db_now_usec());
	free(text);
	return err;
}

static int append(json_t *array, json_t *o)
{
	return o && json_array_append_new(array, o) == 0 ? 0 : -ENOMEM;
}

/*
 * One event in the batch's transaction: its result, or -EIO. A refusal
 * by the library system is said only to a kiosk of v1.1 (v11).
 */
static int take_event(sqlite3 *db, const char *kiosk_id, bool v11,
		      const struct event *e, json_t *results)
{
	const char *reason = e->valid ? NULL : "invalid";
	struct refusal refusal = { "", "" };
	json_t *o;
	int64_t seen = 0;
	int err;

	/*
	 * One rejected before is judged again: it may be sent again after
	 * what refused it was put right (resend_events). Only by the kiosk
	 * that sent it: another kiosk's id is a duplicate, whatever became
	 * of it, and never erases it. An archived one (event retention) is
	 * looked for by its id kept in event_ids.
	 */
	err = db_get_int(db, &seen,
			 "SELECT (SELECT count(*) FROM events WHERE id = ?1"
			 " AND (status != 'rejected' OR kiosk_id != ?2))"
			 " + (SELECT count(*) FROM event_ids WHERE id = ?1"
			 " AND (NOT rejected OR kiosk_id != ?2))",
			 "ss", e->id, kiosk_id);
	if (err < 0)
		return err;
	if (seen)
		return append(results, json_pack("{s:s, s:s}", "id", e->id,
						 "status", "duplicate"));
	err = db_run(db, "DELETE FROM events WHERE id = ? AND kiosk_id = ?",
		     "ss", e->id, kiosk_id);
	if (err < 0)
		return err;
	/* A rejected event leaves nothing of itself but its id. */
	err = db_run(db, "SAVEPOINT event", "");
	if (err == 0 && !reason)
		err = apply_event(db, kiosk_id, v11, e, &reason, &refusal);
	if (err == 0 && reason)
		err = db_run(db, "ROLLBACK TO event", "");
	if (err == 0)
		err = store_event(db, kiosk_id, e, reason, &refusal);
	if (err == 0)
		err = db_run(db, "RELEASE event", "");
	if (err < 0)
		return err;
	if (reason)
		return append(results, json_pack("{s:s, s:s, s:s}", "id", e->id,
						 "status", "rejected", "reason",
						 reason));
	o = json_pack("{s:s, s:s}", "id", e->id, "status", "accepted");
	if (o && v11 && refusal.code[0]) {
		fprintf(stderr,
			"lokerhub: kiosk %s: event %s (%s): the library system refused it: %s\n",
			kiosk_id, e->id, e->type, refusal.code);
		if (json_object_set_new(o, "refused",
					refusal.text[0] ?
						json_pack("{s:s, s:s}", "code",
							  refusal.code, "text",
							  refusal.text) :
						json_pack("{s:s}", "code",
							  refusal.code)) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return append(results, o);
}

static void handle_events(sqlite3 *db, const struct api_route *route,
			  const char *body, size_t body_len,
			  struct api_reply *reply)
{
	json_t *root, *a, *results = NULL;
	struct event *events = NULL;
	json_error_t jerr;
	char msg[256];
	size_t n;
	int err = 0;

	root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(msg, sizeof(msg), "not JSON: %s at byte %d", jerr.text,
			 jerr.position);
		api_error(reply, 400, msg);
		return;
	}
	a = json_object_get(root, "events");
	if (!json_is_object(root) || !json_is_array(a) ||
	    json_array_size(a) == 0) {
		api_error(reply, 400,
			  "events: not an array of 1 to 500 events");
		goto out;
	}
	n = json_array_size(a);
	if (n > API_EVENTS_MAX) {
		api_error(reply, 413, "more than 500 events in one upload");
		goto out;
	}
	events = calloc(n, sizeof(*events));
	results = json_array();
	if (!events || !results) {
		api_error(reply, 500, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct event *e = &events[i];

		e->o = json_array_get(a, i);
		e->index = i;
		e->id = json_string_value(json_object_get(e->o, "id"));
		/* Without an id there is no result to give it. */
		if (!json_is_object(e->o) || !is_uuid(e->id)) {
			snprintf(msg, sizeof(msg),
				 "events[%zu].id: not a lower-case UUID", i);
			api_error(reply, 422, msg);
			goto out;
		}
		check_event(e);
	}
	qsort(events, n, sizeof(*events), compare_events);
	/* One transaction for the batch: results only once it is durable. */
	err = db_begin(db);
	for (size_t i = 0; err == 0 && i < n; i++)
		err = take_event(db, route->kiosk_id, route->kiosk_minor >= 1,
				 &events[i], results);
	if (err == 0)
		err = db_commit(db);
	if (err < 0) {
		db_rollback(db);
		api_error(reply, 500, "database error");
		goto out;
	}
	set_body(reply, 200, json_pack("{s:O}", "results", results));
out:
	json_decref(results);
	json_decref(root);
	free(events);
}

/* ---- status ---- */

static json_t *command_json(sqlite3_stmt *st)
{
	char id[32];
	json_t *o;

	snprintf(id, sizeof(id), "c-%lld",
		 (long long)sqlite3_column_int64(st, 0));
	o = json_pack("{s:s, s:s}", "id", id, "type",
		      sqlite3_column_text(st, 1));
	if (o && sqlite3_column_type(st, 2) != SQLITE_NULL)
		json_object_set_new(o, "locker",
				    json_integer(sqlite3_column_int(st, 2)));
	if (o && sqlite3_column_type(st, 3) != SQLITE_NULL)
		json_object_set_new(
			o, "hold_id",
			json_string((const char *)sqlite3_column_text(st, 3)));
	if (o && sqlite3_column_type(st, 4) != SQLITE_NULL)
		json_object_set_new(
			o, "reason",
			json_string((const char *)sqlite3_column_text(st, 4)));
	if (o && sqlite3_column_type(st, 5) != SQLITE_NULL)
		json_object_set_new(o, "expires_at",
				    db_time_json(sqlite3_column_int64(st, 5)));
	if (o && sqlite3_column_type(st, 6) != SQLITE_NULL)
		json_object_set_new(
			o, "by",
			json_string((const char *)sqlite3_column_text(st, 6)));
	if (o && sqlite3_column_type(st, 7) != SQLITE_NULL)
		json_object_set_new(o, "from_seq",
				    json_integer(sqlite3_column_int64(st, 7)));
	return o;
}

/* Marks the commands the kiosk says it carried out as done. */
static int mark_done(sqlite3 *db, const char *kiosk_id, json_t *done,
		     int64_t now)
{
	int err = 0;

	for (size_t i = 0;
	     err == 0 && i < json_array_size(done) && i < API_DONE_MAX; i++) {
		const char *id = json_string_value(json_array_get(done, i));
		long long n;
		int end = 0;

		if (!id || sscanf(id, "c-%lld%n", &n, &end) != 1 ||
		    id[end] != '\0')
			continue; /* not one of ours */
		err = db_run(db,
			     "UPDATE commands SET done_usec = ? WHERE n = ?"
			     " AND kiosk_id = ? AND done_usec IS NULL",
			     "IIs", now, (int64_t)n, kiosk_id);
	}
	return err;
}

/*
 * v1.1 reconciliation: the heartbeat's lockers[].hold against the holds
 * this database has in that kiosk's lockers, once the kiosk has nothing
 * left to upload (before, an event on its way explains a difference).
 * A difference is said once, and once more when it goes, for staff to
 * look at the kiosk; nothing is changed. Errors change nothing either:
 * a heartbeat is never refused for its body.
 */
static int compare_lockers(sqlite3 *db, const char *kiosk_id,
			   const char *status)
{
	char key[DB_ID_MAX + 32];
	const char *now;
	sqlite3_stmt *st;
	int64_t said = 0, known = 0;
	int err = -EIO, rc;

	st = db_query(
		db,
		"WITH k(number, hold) AS (SELECT json_extract(value, '$.number'),"
		"  json_extract(value, '$.hold') FROM json_each(?1, '$.lockers')"
		"  WHERE type = 'object')"
		" SELECT d FROM (SELECT group_concat(line, '; ') AS d FROM ("
		"  SELECT 'hold ' || h.id || ' is in locker ' || h.locker"
		"  || ' here, the kiosk has ' || coalesce((SELECT hold FROM k"
		"  WHERE number = h.locker), 'nothing') || ' there' AS line"
		"  FROM holds h WHERE h.kiosk_id = ?2"
		"  AND h.state IN ('loaded', 'expired') AND NOT EXISTS (SELECT 1"
		"  FROM k WHERE k.number = h.locker AND k.hold = h.id)"
		" UNION ALL SELECT 'locker ' || k.number || ': the kiosk has hold '"
		"  || k.hold || ', here ' || coalesce((SELECT state"
		"  || coalesce(' in locker ' || locker, '') FROM holds"
		"  WHERE id = k.hold AND kiosk_id = ?2), 'unknown')"
		"  FROM k WHERE k.hold IS NOT NULL AND NOT EXISTS (SELECT 1"
		"  FROM holds WHERE id = k.hold AND kiosk_id = ?2"
		"  AND state IN ('loaded', 'expired') AND locker = k.number)"
		"  ORDER BY 1))"
		" WHERE json_extract(?1, '$.backlog') = 0",
		"ss", status, kiosk_id);
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_done(st);
		return rc == SQLITE_DONE ? 0 : -EIO;
	}
	now = (const char *)sqlite3_column_text(st, 0);
	snprintf(key, sizeof(key), "lockers_differ:%s", kiosk_id);
	if (db_get_int(db, &said,
		       "SELECT count(*) FROM meta WHERE key = ?1"
		       " AND value = ?2",
		       "ss", key, now ? now : "") < 0 ||
	    db_get_int(db, &known, "SELECT count(*) FROM meta WHERE key = ?1",
		       "s", key) < 0)
		goto out;
	/* Said once: a difference, and that it went; never "agree" first. */
	err = 0;
	if (said || (!now && !known))
		goto out;
	if (now)
		fprintf(stderr,
			"lokerhub: kiosk %s: its lockers differ from this database: %s\n",
			kiosk_id, now);
	else
		fprintf(stderr,
			"lokerhub: kiosk %s: its lockers agree with this database again\n",
			kiosk_id);
	err = db_run(db,
		     "INSERT INTO meta (key, value) VALUES (?1, ?2)"
		     " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		     "ss", key, now ? now : "");
out:
	db_done(st);
	return err;
}

/* n as 8 bytes, least significant first, whatever the machine's order. */
static void put_int64(struct db_sha256 *h, char tag, int64_t n)
{
	unsigned char b[9] = { (unsigned char)tag };
	uint64_t u = (uint64_t)n;

	for (int i = 1; i < 9; i++, u >>= 8)
		b[i] = (unsigned char)u;
	db_sha256_add(h, b, sizeof(b));
}

/*
 * One value as lockers_seen() hashes it, a tag and what follows it: '-'
 * (absent), 'n' (null), 'i' and 8 bytes, 's' and the length in 8 bytes,
 * then the bytes. False when it cannot be said so.
 */
static bool put_value(struct db_sha256 *h, json_t *v)
{
	if (!v) {
		db_sha256_add(h, "-", 1);
	} else if (json_is_null(v)) {
		db_sha256_add(h, "n", 1);
	} else if (json_is_integer(v)) {
		put_int64(h, 'i', json_integer_value(v));
	} else if (json_is_string(v)) {
		put_int64(h, 's', (int64_t)json_string_length(v));
		db_sha256_add(h, json_string_value(v), json_string_length(v));
	} else {
		return false;
	}
	return true;
}

/*
 * What compare_lockers() reads of a heartbeat (its backlog, each locker's
 * number and hold) and the kiosk's holds_version, as a SHA-256 in hex;
 * false when that cannot be said exactly (not an array of lockers, a value
 * neither an integer, a string nor null), and the lockers are compared.
 * The values are hashed as they are, each with a tag and strings with
 * their length, so that two different heartbeats cannot be said alike;
 * writing them out as text first (open_memstream(), fprintf()) cost four
 * times the hashing. A value stored by the text of before (schema 9) does
 * not match this: it costs each kiosk one comparison more after an
 * upgrade, nothing else.
 */
static bool lockers_seen(json_t *root, int64_t holds_version,
			 char ret[DB_SHA256_HEX_LEN + 1])
{
	json_t *lockers = json_object_get(root, "lockers"), *l;
	struct db_sha256 *h;
	size_t i;
	bool ok;

	if (lockers && !json_is_array(lockers))
		return false;
	h = db_sha256_new();
	if (!h)
		return false;
	put_int64(h, 'v', holds_version);
	ok = put_value(h, json_object_get(root, "backlog"));
	json_array_foreach(lockers, i, l)
	{
		if (!ok)
			break;
		if (!json_is_object(l)) {
			db_sha256_add(h, "x", 1); /* not compared */
			continue;
		}
		ok = put_value(h, json_object_get(l, "number")) &&
		     put_value(h, json_object_get(l, "hold"));
	}
	ok = ok && db_sha256_end_hex(h, ret);
	db_sha256_free(h);
	return ok;
}

/*
 * api_status_skim(): a heartbeat read without jansson's tree of the whole
 * of it. What it takes is a subset of what jansson takes, so that jansson
 * alone decides what is refused.
 */
#define SKIM_DEPTH_MAX 16 /* nesting it follows; deeper is jansson's */
#define SKIM_KEYS_MAX  64 /* keys an object may have here, for duplicates */

enum skim_role {
	SKIM_IGNORE,  /* checked, not kept */
	SKIM_ROOT,    /* the heartbeat: an object */
	SKIM_VALUE,   /* kept: an integer, a string, null or json_true() */
	SKIM_DONE,    /* done_commands: an array of values */
	SKIM_LOCKERS, /* lockers: an array of lockers */
	SKIM_LOCKER,  /* one of them: an object of number and hold */
};

/* The members kept of an object in role in. */
#define SKIM_MEMBER(in, role, key)             \
	{                                      \
		in, role, key, sizeof(key) - 1 \
	}
static const struct {
	enum skim_role in, role;
	const char *key;
	size_t len;
} skim_members[] = {
	SKIM_MEMBER(SKIM_ROOT, SKIM_VALUE, "backlog"),
	SKIM_MEMBER(SKIM_ROOT, SKIM_DONE, "done_commands"),
	SKIM_MEMBER(SKIM_ROOT, SKIM_LOCKERS, "lockers"),
	SKIM_MEMBER(SKIM_LOCKER, SKIM_VALUE, "number"),
	SKIM_MEMBER(SKIM_LOCKER, SKIM_VALUE, "hold"),
};

/* What a string holds as it is: printable ASCII but '"' and '\\'. */
static const bool skim_plain[256] = {
	[0x20 ... 0x21] = true, /* '"' is 0x22 */
	[0x23 ... 0x5b] = true, /* '\\' is 0x5c */
	[0x5d ... 0x7e] = true,
};

struct skim {
	const char *p, *end;
};

static bool skim_value(struct skim *s, unsigned depth, enum skim_role role,
		       json_t **ret);

/* Skips JSON's blanks; false at the end of the input. */
static bool skim_blanks(struct skim *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
				 *s->p == '\n' || *s->p == '\r'))
		s->p++;
	return s->p < s->end;
}

/* True when the next byte, after any blanks, is c, then taken. */
static bool skim_take(struct skim *s, char c)
{
	if (!skim_blanks(s) || *s->p != c)
		return false;
	s->p++;
	return true;
}

/* A string of printable ASCII without escapes: what jansson would decode. */
static bool skim_string(struct skim *s, const char **ret, size_t *ret_len)
{
	const char *start;

	if (!skim_take(s, '"'))
		return false;
	for (start = s->p; s->p < s->end && skim_plain[(unsigned char)*s->p];
	     s->p++)
		;
	if (s->p == s->end || *s->p != '"')
		return false;
	*ret = start;
	*ret_len = (size_t)(s->p++ - start);
	return true;
}

/* An integer of at most 18 digits (no overflow); fractions are jansson's. */
static bool skim_integer(struct skim *s, json_int_t *ret)
{
	bool minus = s->p < s->end && *s->p == '-';
	json_int_t v = 0;
	unsigned digits = 0;

	if (minus)
		s->p++;
	if (s->p == s->end || *s->p < '0' || *s->p > '9')
		return false;
	if (*s->p == '0')
		s->p++; /* a digit after it is not JSON */
	else
		for (; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++) {
			if (++digits > 18)
				return false;
			v = v * 10 + (*s->p - '0');
		}
	if (s->p < s->end && ((*s->p >= '0' && *s->p <= '9') || *s->p == '.' ||
			      *s->p == 'e' || *s->p == 'E'))
		return false;
	*ret = minus ? -v : v;
	return true;
}

static bool skim_object(struct skim *s, unsigned depth, enum skim_role role,
			json_t *into)
{
	struct {
		const char *key;
		size_t len;
	} keys[SKIM_KEYS_MAX];
	size_t n = 0, i;

	if (skim_take(s, '}'))
		return true;
	do {
		enum skim_role member = SKIM_IGNORE;
		const char *key, *name = NULL;
		json_t *v = NULL;
		size_t len;

		if (n == SKIM_KEYS_MAX || !skim_string(s, &key, &len))
			return false;
		/* JSON_REJECT_DUPLICATES: keys without escapes compare as is. */
		for (i = 0; i < n; i++)
			if (keys[i].len == len &&
			    !memcmp(keys[i].key, key, len))
				return false;
		keys[n].key = key;
		keys[n++].len = len;
		for (i = 0;
		     into && i < sizeof(skim_members) / sizeof(skim_members[0]);
		     i++)
			if (skim_members[i].in == role &&
			    skim_members[i].len == len &&
			    !memcmp(skim_members[i].key, key, len)) {
				member = skim_members[i].role;
				name = skim_members[i].key;
			}
		if (!skim_take(s, ':') || !skim_value(s, depth + 1, member, &v))
			return false;
		if (v && json_object_set_new(into, name, v) < 0)
			return false;
	} while (skim_take(s, ','));
	return skim_take(s, '}');
}

static bool skim_array(struct skim *s, unsigned depth, enum skim_role role,
		       json_t *into)
{
	enum skim_role item = role == SKIM_LOCKERS ? SKIM_LOCKER :
			      role == SKIM_DONE	   ? SKIM_VALUE :
						     SKIM_IGNORE;

	if (skim_take(s, ']'))
		return true;
	do {
		json_t *v = NULL;

		/* Of done_commands only the first API_DONE_MAX are read. */
		if (into && role == SKIM_DONE &&
		    json_array_size(into) == API_DONE_MAX)
			into = NULL;
		if (!skim_value(s, depth + 1, into ? item : SKIM_IGNORE, &v))
			return false;
		if (v && json_array_append_new(into, v) < 0)
			return false;
	} while (skim_take(s, ','));
	return skim_take(s, ']');
}

/*
 * One value; *ret what role keeps of it (NULL for SKIM_IGNORE): itself if
 * null, an integer or a string, else json_true(), which reads as none of
 * them, as the value would.
 */
static bool skim_value(struct skim *s, unsigned depth, enum skim_role role,
		       json_t **ret)
{
	const char *str;
	json_int_t i;
	json_t *v = NULL;
	size_t len;
	bool ok;

	if (depth > SKIM_DEPTH_MAX || !skim_blanks(s))
		return false;
	switch (*s->p) {
	case '{':
		s->p++;
		if (role == SKIM_ROOT || role == SKIM_LOCKER)
			v = json_object();
		ok = (v || (role != SKIM_ROOT && role != SKIM_LOCKER)) &&
		     skim_object(s, depth, role, v);
		break;
	case '[':
		s->p++;
		if (role == SKIM_DONE || role == SKIM_LOCKERS)
			v = json_array();
		ok = (v || (role != SKIM_DONE && role != SKIM_LOCKERS)) &&
		     skim_array(s, depth, role, v);
		break;
	case '"':
		ok = skim_string(s, &str, &len);
		if (ok && role == SKIM_VALUE)
			ok = (v = json_stringn(str, len)) != NULL;
		break;
	case 't':
	case 'f':
	case 'n':
		str = *s->p == 't' ? "true" : *s->p == 'f' ? "false" : "null";
		len = strlen(str);
		ok = (size_t)(s->end - s->p) >= len && !memcmp(s->p, str, len);
		s->p += ok ? len : 0;
		if (ok && role == SKIM_VALUE && *str == 'n')
			v = json_null();
		break;
	default:
		ok = skim_integer(s, &i);
		if (ok && role == SKIM_VALUE)
			ok = (v = json_integer(i)) != NULL;
		break;
	}
	if (!ok) {
		json_decref(v);
		return false;
	}
	if (!v && role != SKIM_IGNORE)
		v = json_true();
	*ret = v;
	return true;
}

json_t *api_status_skim(const char *body, size_t body_len)
{
	struct skim s = { body, body + body_len };
	json_t *root = NULL;

	if (!skim_blanks(&s) || *s.p != '{' ||
	    !skim_value(&s, 0, SKIM_ROOT, &root))
		return NULL;
	/* Then only blanks: jansson's end-of-input check. */
	if (skim_blanks(&s)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/*
 * A heartbeat's reply without commands, the usual one, as jansson writes
 * it (compact, in this order): building it with jansson and dumping it
 * took some 16,000 instructions. The time is RFC 3339 digits, nothing to
 * escape.
 */
static void set_status_reply(struct api_reply *reply, int64_t now,
			     int64_t next_s)
{
	char at[32];

	db_format_time(now, at);
	if (asprintf(&reply->body,
		     "{\"server_time\":\"%s\",\"next_status_s\":%" PRId64
		     ",\"commands\":[]}",
		     at, next_s) < 0) {
		reply->body = NULL;
		set_body(reply, 200, NULL); /* out of memory: a 500 */
		return;
	}
	reply->status = 200;
	reply->body_len = strlen(reply->body);
}

int api_status_store(sqlite3 *db, const char *kiosk_id, int64_t at_usec,
		     const char *body)
{
	return db_run(db,
		      "UPDATE kiosks SET status_usec = ?, status_json = ?"
		      " WHERE id = ?",
		      "Iss", at_usec, body, kiosk_id);
}

/*
 * What a heartbeat's reply reads: the kiosk's next_status_s, its
 * holds_version and lockers_seen (seen: "" if none), and its commands
 * not yet done, appended to commands.
 */
static int status_read(sqlite3 *db, const struct api_route *route, int64_t now,
		       int64_t *next_s, int64_t *holds_version,
		       char seen[DB_SHA256_HEX_LEN + 1], json_t *commands)
{
	sqlite3_stmt *st;
	int err, rc;

	st = db_query(db,
		      "SELECT next_status_s, holds_version, lockers_seen"
		      " FROM kiosks WHERE id = ?",
		      "s", route->kiosk_id);
	err = st && sqlite3_step(st) == SQLITE_ROW ? 0 : -EIO;
	if (err == 0) {
		*next_s = sqlite3_column_int64(st, 0);
		*holds_version = sqlite3_column_int64(st, 1);
		if (sqlite3_column_bytes(st, 2) == DB_SHA256_HEX_LEN)
			memcpy(seen, sqlite3_column_text(st, 2),
			       DB_SHA256_HEX_LEN + 1);
	}
	db_done(st);
	if (err < 0)
		return err;
	/*
	 * An expired command still goes to a v1.1 kiosk, which acknowledges
	 * it as expired (so it is done here); a v1 kiosk would run it, so it
	 * never gets one.
	 */
	st = db_query(db,
		      "SELECT n, type, locker, hold_id, reason,"
		      " expires_usec, by_user, from_seq FROM commands"
		      " WHERE kiosk_id = ?1"
		      " AND done_usec IS NULL AND (?3 OR expires_usec"
		      " IS NULL OR expires_usec > ?4) ORDER BY n"
		      " LIMIT ?2",
		      "siiI", route->kiosk_id, API_COMMANDS_MAX,
		      route->kiosk_minor >= 1, now);
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		if (rc != SQLITE_ROW ||
		    json_array_append_new(commands, command_json(st)) < 0) {
			err = -EIO;
			break;
		}
	}
	db_done(st);
	return err;
}

/*
 * Whether the lockers need no comparison: the kiosk has something left
 * to upload (an event on its way explains a difference), or what the
 * comparison reads is as it was at the last (fp, its fingerprint, is
 * then seen). The comparison of each heartbeat took 50 to 100 us, most of
 * its CPU.
 */
static bool lockers_as_seen(json_t *root, int64_t holds_version,
			    const char *seen, char fp[DB_SHA256_HEX_LEN + 1])
{
	json_t *backlog = json_object_get(root, "backlog");

	if (json_is_integer(backlog) && json_integer_value(backlog) != 0)
		return true;
	return lockers_seen(root, holds_version, fp) && strcmp(fp, seen) == 0;
}

static void set_status_commands(struct api_reply *reply, int64_t now,
				int64_t next_s, json_t *commands)
{
	if (json_array_size(commands) == 0 && now > 0)
		set_status_reply(reply, now, next_s);
	else
		set_body(reply, 200,
			 json_pack("{s:o, s:I, s:O}", "server_time",
				   db_time_json(now), "next_status_s",
				   (json_int_t)next_s, "commands", commands));
}

bool api_status_answer(sqlite3 *db, const struct api_route *route,
		       const char *body, size_t body_len, int64_t now,
		       struct api_reply *reply)
{
	char seen[DB_SHA256_HEX_LEN + 1] = "", fp[DB_SHA256_HEX_LEN + 1] = "";
	int64_t next_s = 60, holds_version = 0;
	json_t *root, *commands = NULL;
	bool answered = false;

	/* Only what the skim reads: anything else is the writer's to judge. */
	root = api_status_skim(body, body_len);
	if (!root ||
	    json_array_size(json_object_get(root, "done_commands")) != 0)
		goto out;
	commands = json_array();
	if (!commands ||
	    status_read(db, route, now, &next_s, &holds_version, seen,
			commands) < 0 ||
	    !lockers_as_seen(root, holds_version, seen, fp))
		goto out;
	set_status_commands(reply, now, next_s, commands);
	answered = true;
out:
	json_decref(commands);
	json_decref(root);
	return answered;
}

static void handle_status(sqlite3 *db, const struct api_route *route,
			  const char *body, size_t body_len,
			  struct api_reply *reply)
{
	char seen[DB_SHA256_HEX_LEN + 1] = "", fp[DB_SHA256_HEX_LEN + 1] = "";
	int64_t now = db_now_usec(), next_s = 60, holds_version = 0;
	json_t *root, *commands = NULL;
	json_error_t jerr;
	int err;

	/* jansson's tree of the whole was most of a heartbeat's CPU. */
	root = api_status_skim(body, body_len);
	if (!root)
		root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES,
				  &jerr);
	if (!json_is_object(root)) {
		api_error(reply, 400, "the heartbeat is not a JSON object");
		goto out;
	}
	/*
	 * Kept as it came: what jansson took is JSON, with no NUL before
	 * body_len (the '\0' there ends it); dumping it again cost a tenth
	 * of a request's CPU.
	 */
	commands = json_array();
	if (!commands) {
		api_error(reply, 500, "out of memory");
		goto out;
	}
	err = db_begin(db);
	if (err == 0)
		err = api_status_store(db, route->kiosk_id, now, body);
	if (err == 0)
		err = mark_done(db, route->kiosk_id,
				json_object_get(root, "done_commands"), now);
	if (err == 0)
		err = status_read(db, route, now, &next_s, &holds_version, seen,
				  commands);
	if (err == 0)
		err = db_commit(db);
	if (err < 0) {
		db_rollback(db);
		api_error(reply, 500, "database error");
		goto out;
	}
	if (!lockers_as_seen(root, holds_version, seen, fp)) {
		/* What is said now, or NULL: the next is compared again. */
		if (compare_lockers(db, route->kiosk_id, body) < 0)
			fp[0] = '\0';
		if (fp[0] || seen[0])
			db_run(db,
			       "UPDATE kiosks SET lockers_seen = ? WHERE id = ?",
			       "ss", fp[0] ? fp : NULL, route->kiosk_id);
	}
	reply->status_only =
		json_array_size(json_object_get(root, "done_commands")) == 0;
	set_status_commands(reply, now, next_s, commands);
out:
	json_decref(commands);
	json_decref(root);
}

/* ---- items ---- */

static void handle_item(sqlite3 *db, const struct api_route *route,
			struct api_reply *reply)
{
	char hold_id[DB_ID_MAX + 1] = "";
	sqlite3_stmt *st;
	json_t *hold;
	int rc;

	st = db_query(db,
		      "SELECT h.id FROM hold_items i"
		      " JOIN holds h ON h.id = i.hold_id"
		      " WHERE i.barcode = ? AND h.kiosk_id = ?"
		      " AND h.state = 'pending'"
		      " ORDER BY h.created_usec LIMIT 1",
		      "ss", route->barcode, route->kiosk_id);
	if (!st) {
		api_error(reply, 500, "database error");
		return;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(hold_id, sizeof(hold_id), "%s",
			 sqlite3_column_text(st, 0));
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		api_error(reply, 500, "database error");
		return;
	}
	/* Never the barcode: it may be a member card scanned by mistake. */
	if (!hold_id[0]) {
		api_error(reply, 404,
			  "no pending hold for this kiosk has that item");
		return;
	}
	hold = db_hold_json(db, hold_id);
	if (!hold) {
		api_error(reply, 500, "database error");
		return;
	}
	set_body(reply, 200, json_pack("{s:o}", "hold", hold));
}

/* v1.1: {"barcode": "..."} in the body, so that no URL or log has it. */
static void handle_item_lookup(sqlite3 *db, const struct api_route *route,
			       const char *body, size_t body_len,
			       struct api_reply *reply)
{
	struct api_route r = *route;
	json_t *root, *barcode;

	root = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
	barcode = json_object_get(root, "barcode");
	if (!json_is_object(root) || !json_is_string(barcode) ||
	    !db_is_id(json_string_value(barcode))) {
		json_decref(root);
		api_error(
			reply, 400,
			"not {\"barcode\": 1 to 63 printable ASCII characters}");
		return;
	}
	snprintf(r.barcode, sizeof(r.barcode), "%s",
		 json_string_value(barcode));
	json_decref(root);
	handle_item(db, &r, reply);
	explicit_bzero(r.barcode, sizeof(r.barcode));
}

void api_handle(sqlite3 *db, const struct api_route *route,
		const char *query_cursor, const char *query_limit,
		const char *body, size_t body_len, struct api_reply *reply)
{
	switch (route->endpoint) {
	case API_ENDPOINT_CHANGES:
		handle_changes(db, route, query_cursor, query_limit, reply);
		break;
	case API_ENDPOINT_EVENTS:
		handle_events(db, route, body, body_len, reply);
		break;
	case API_ENDPOINT_STATUS:
		handle_status(db, route, body, body_len, reply);
		break;
	case API_ENDPOINT_ITEMS:
		handle_item(db, route, reply);
		break;
	case API_ENDPOINT_ITEM_LOOKUP:
		handle_item_lookup(db, route, body, body_len, reply);
		break;
	}
}
