// SPDX-License-Identifier: GPL-2.0-or-later
/* Locker Sync API v1 replies, checked whole (docs/sync-api.md). */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol.h"

#define PATH_MAX_LEN 96

static int fail(char *error, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *error, const char *path, const char *fmt, ...)
{
	int n = snprintf(error, PROTOCOL_ERROR_MAX, "%s: ", path);
	va_list ap;

	if (n < 0 || n >= PROTOCOL_ERROR_MAX)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(error + n, PROTOCOL_ERROR_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool protocol_is_token(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '!' || s[i] > '~')
			return false;
	return true;
}

bool protocol_is_text(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool is_uuid(const char *s, size_t max)
{
	return protocol_is_uuid(s);
}

/* A code of the library system's: 1 to max of a-z 0-9 _. */
static bool is_word_code(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool is_hmac(const char *s, size_t max)
{
	return credential_is_hmac(s);
}

static bool is_pin_hash(const char *s, size_t max)
{
	/* Either form of docs/sync-api.md; the kiosk checks the rest. */
	return (strncmp(s, "pbkdf2-sha256$", 14) == 0 ||
		strncmp(s, "pbkdf2-sha256-2$", 16) == 0) &&
	       protocol_is_token(s, max);
}

unsigned protocol_minor_version(const char *v)
{
	unsigned long minor;
	char *end;

	if (!v)
		return 0;
	v += strspn(v, " \t");
	if (strncmp(v, "1.", 2) != 0 || v[2] < '0' || v[2] > '9')
		return 0;
	errno = 0;
	minor = strtoul(v + 2, &end, 10);
	if (errno || minor > 1000 || (*end && !strchr(" \t", *end)))
		return 0;
	return (unsigned)minor;
}

bool protocol_is_uuid(const char *s)
{
	if (strlen(s) != STORE_UUID_LEN)
		return false;
	for (size_t i = 0; i < STORE_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' :
			   !((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* What a string field must be, and how to say so. */
struct kind {
	bool (*check)(const char *s, size_t max);
	size_t max;
	const char *what;
};

static const struct kind HOLD_ID = { protocol_is_token, KIOSK_HOLD_ID_MAX,
				     "not 1 to 63 printable ASCII characters" };
static const struct kind BARCODE = { protocol_is_token, STORE_BARCODE_MAX,
				     "not 1 to 63 printable ASCII characters" };
static const struct kind CURSOR = { protocol_is_token, PROTOCOL_CURSOR_MAX,
				    "not 1 to 255 printable ASCII characters" };
static const struct kind WORD = { protocol_is_token, 16, "not a known word" };
static const struct kind TIME = { protocol_is_token, 39, "not a time" };
static const struct kind NAME = { protocol_is_text, KIOSK_NAME_MAX,
				  "over 47 bytes or has control codes" };
static const struct kind TITLE = { protocol_is_text, STORE_TITLE_MAX,
				   "over 255 bytes or has control codes" };
static const struct kind HMAC = { is_hmac, CREDENTIAL_HMAC_HEX_LEN,
				  "not 64 lower-case hex digits" };
static const struct kind PIN_HASH = { is_pin_hash, PIN_HASH_MAX,
				      "not a pbkdf2-sha256 PIN hash" };
static const struct kind UUID = { is_uuid, STORE_UUID_LEN,
				  "not a lower-case UUID" };
static const struct kind COMMAND_ID = {
	protocol_is_token, PROTOCOL_COMMAND_ID_MAX,
	"not 1 to 63 printable ASCII characters"
};
static const struct kind REASON = { protocol_is_text, PROTOCOL_REASON_MAX,
				    "over 127 bytes or has control codes" };
static const struct kind REFUSED_CODE = { is_word_code, STORE_REFUSED_CODE_MAX,
					  "not 1 to 63 characters a-z 0-9 _" };
static const struct kind BY = { protocol_is_token, PROTOCOL_BY_MAX,
				"not 1 to 48 printable ASCII characters" };

/*
 * The string at key of o, checked as k says, into ret (k->max + 1 bytes).
 * An absent or null value is "" when optional.
 */
static int get_string(json_t *o, const char *key, const char *path,
		      bool optional, const struct kind *k, char *ret,
		      char *error)
{
	json_t *v = json_object_get(o, key);
	char where[PATH_MAX_LEN + 32];

	/* A path longer than any the protocol has is cut, not overrun. */
	snprintf(where, sizeof(where), "%.*s%s%s", PATH_MAX_LEN, path,
		 path[0] ? "." : "", key);
	if (!v || json_is_null(v)) {
		if (!optional)
			return fail(error, where, "missing");
		ret[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return fail(error, where, "not a string");
	if (!k->check(json_string_value(v), k->max))
		return fail(error, where, "%s", k->what);
	memcpy(ret, json_string_value(v), strlen(json_string_value(v)) + 1);
	return 0;
}

/* An array at key (absent or null: empty) of at most max entries. */
static int get_array(json_t *o, const char *key, size_t max, json_t **ret,
		     char *error)
{
	json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(error, key, "not an array");
	if (json_array_size(v) > max) {
		fail(error, key, "more than %zu entries", max);
		return -EMSGSIZE;
	}
	*ret = v;
	return 0;
}

int protocol_parse_time(const char *s, int64_t *ret_usec)
{
	int y, mo, d, h, mi, sec, n = 0;
	struct tm tm = { 0 }, back;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &n) != 6 ||
	    n != 19)
		return -EINVAL;
	s += n;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (strcmp(s, "Z") != 0)
		return -EINVAL;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 59 || h < 0 || mi < 0 || sec < 0)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* 31 February comes back as 3 March: refused. */
	if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != d ||
	    back.tm_mon != mo - 1)
		return -EINVAL;
	*ret_usec = (int64_t)t * 1000000;
	return 0;
}

bool protocol_is_date(const char *s)
{
	char t[PROTOCOL_DATE_LEN + 16];
	int64_t usec;

	if (strlen(s) != PROTOCOL_DATE_LEN || strspn(s, "0123456789-") != 10 ||
	    s[4] != '-' || s[7] != '-')
		return false;
	snprintf(t, sizeof(t), "%sT00:00:00Z", s);
	return protocol_parse_time(t, &usec) == 0;
}

static bool is_date(const char *s, size_t max)
{
	return protocol_is_date(s);
}

_Static_assert(PROTOCOL_DATE_LEN == STORE_DUE_LEN, "a due date fits an item");
static const struct kind DATE = { is_date, PROTOCOL_DATE_LEN,
				  "not a date like 2026-12-20" };

static int parse_item(json_t *o, const char *path, struct store_item *ret,
		      char *error)
{
	if (!json_is_object(o))
		return fail(error, path, "not an object");
	return get_string(o, "barcode", path, false, &BARCODE, ret->barcode, error) ?:
		       get_string(o, "title", path, true, &TITLE, ret->title, error) ?:
		       get_string(o, "due", path, true, &DATE, ret->due, error);
}

static int parse_hold(json_t *o, const char *path, struct store_hold *ret,
		      char *error)
{
	struct kiosk_hold *h = &ret->hold;
	char size[17], reach[17], where[PATH_MAX_LEN + 32], when[40];
	json_t *a;
	size_t i;
	int err;

	memset(ret, 0, sizeof(*ret));
	h->state = KIOSK_HOLD_STATE_PENDING;
	if (!json_is_object(o))
		return fail(error, path, "not an object");
	err = get_string(o, "id", path, false, &HOLD_ID, h->id, error)	     ?:
		      get_string(o, "size", path, false, &WORD, size, error) ?:
		      get_string(o, "patron_name", path, true, &NAME, h->patron_name, error) ?:
		      get_string(o, "code", path, true, &HMAC, h->code_hmac, error) ?:
		      get_string(o, "pin", path, true, &PIN_HASH, h->pin_hash, error) ?:
		      get_string(o, "expires_at", path, true, &TIME, when, error) ?:
		      get_string(o, "reach", path, true, &WORD, reach, error);
	if (err < 0)
		return err;
	snprintf(where, sizeof(where), "%s.size", path);
	if (kiosk_size_from_string(size, &h->size) < 0)
		return fail(error, where, "not small, medium or large");
	snprintf(where, sizeof(where), "%s.reach", path);
	if (reach[0] && strcmp(reach, "low") != 0)
		return fail(error, where, "not low");
	h->needs_low = reach[0] != '\0';
	snprintf(where, sizeof(where), "%s.expires_at", path);
	if (when[0] && protocol_parse_time(when, &h->expires_at_usec) < 0)
		return fail(error, where,
			    "not a time like 2026-11-22T08:15:00Z");

	snprintf(where, sizeof(where), "%s.credentials", path);
	a = json_object_get(o, "credentials");
	if (!json_is_array(a) || json_array_size(a) < 1 ||
	    json_array_size(a) > KIOSK_HOLD_CREDENTIALS_MAX)
		return fail(error, where, "not an array of 1 to %d HMACs",
			    KIOSK_HOLD_CREDENTIALS_MAX);
	for (i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (!s || !credential_is_hmac(s))
			return fail(error, where,
				    "entry %zu is not 64 lower-case hex digits",
				    i);
		memcpy(h->credential_hmacs[i], s, CREDENTIAL_HMAC_HEX_LEN + 1);
	}
	h->n_credentials = (unsigned)i;

	snprintf(where, sizeof(where), "%s.items", path);
	a = json_object_get(o, "items");
	if (!json_is_array(a) || json_array_size(a) < 1 ||
	    json_array_size(a) > STORE_ITEMS_MAX)
		return fail(error, where, "not an array of 1 to %d items",
			    STORE_ITEMS_MAX);
	for (i = 0; i < json_array_size(a); i++) {
		snprintf(where, sizeof(where), "%s.items[%zu]", path, i);
		err = parse_item(json_array_get(a, i), where, &ret->items[i],
				 error);
		if (err < 0)
			return err;
	}
	ret->n_items = (unsigned)i;
	ret->hold.n_items = ret->n_items;
	return 0;
}

static int parse_staff(json_t *o, const char *path, struct kiosk_staff *ret,
		       char *error)
{
	char role[17], where[PATH_MAX_LEN + 32];
	int err;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(o))
		return fail(error, path, "not an object");
	err = get_string(o, "credential", path, false, &HMAC, ret->credential_hmac, error) ?:
		      get_string(o, "pin", path, false, &PIN_HASH, ret->pin_hash, error) ?:
		      get_string(o, "role", path, true, &WORD, role, error);
	if (err < 0)
		return err;
	if (!role[0] || strcmp(role, "staff") == 0) {
		ret->role = KIOSK_STAFF_ROLE_STAFF;
	} else if (strcmp(role, "admin") == 0) {
		ret->role = KIOSK_STAFF_ROLE_ADMIN;
	} else {
		snprintf(where, sizeof(where), "%s.role", path);
		return fail(error, where, "not staff or admin");
	}
	return 0;
}

/* Every entry of an array of strings of kind k, into rows of size. */
static int parse_strings(json_t *a, const char *key, const struct kind *k,
			 char *rows, size_t size, char *error)
{
	char where[PATH_MAX_LEN];

	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));

		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (!s)
			return fail(error, where, "not a string");
		if (!k->check(s, k->max))
			return fail(error, where, "%s", k->what);
		memcpy(rows + i * size, s, strlen(s) + 1);
	}
	return 0;
}

static int get_bool(json_t *o, const char *key, bool *ret, bool *ret_has,
		    char *error)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		if (ret_has)
			*ret_has = false;
		return 0;
	}
	if (!json_is_boolean(v))
		return fail(error, key, "not true or false");
	*ret = json_is_true(v);
	if (ret_has)
		*ret_has = true;
	return 0;
}

static int parse_changes(json_t *root, struct protocol_changes *c, char *error)
{
	json_t *holds = NULL, *removed = NULL, *staff = NULL,
	       *removed_staff = NULL, *settings, *locker;
	bool has_more = false, has_full = false;
	char where[PATH_MAX_LEN];
	int err;

	err = get_string(root, "cursor", "", false, &CURSOR, c->cursor, error) ?:
		      get_bool(root, "more", &c->more, &has_more, error) ?:
		      get_bool(root, "full", &c->full, &has_full, error) ?:
		      get_array(root, "holds", PROTOCOL_HOLDS_MAX, &holds, error) ?:
		      get_array(root, "removed_holds", PROTOCOL_REMOVED_MAX, &removed, error) ?:
		      get_array(root, "staff", PROTOCOL_STAFF_MAX, &staff, error) ?:
		      get_array(root, "removed_staff", PROTOCOL_REMOVED_MAX,
				&removed_staff, error);
	if (err < 0)
		return err;
	/* Without them a last page and a full set cannot be told apart. */
	if (!has_more)
		return fail(error, "more", "missing");
	if (!has_full)
		return fail(error, "full", "missing");
	settings = json_object_get(root, "settings");
	if (settings && !json_is_null(settings)) {
		if (!json_is_object(settings))
			return fail(error, "settings", "not an object");
		err = get_bool(settings, "pin_required", &c->pin_required,
			       &c->has_pin_required, error);
		if (err < 0)
			return err;
	}

	c->n_holds = (unsigned)json_array_size(holds);
	c->n_removed_holds = (unsigned)json_array_size(removed);
	c->n_staff = (unsigned)json_array_size(staff);
	c->n_removed_staff = (unsigned)json_array_size(removed_staff);
	c->holds = calloc(c->n_holds ?: 1, sizeof(*c->holds));
	c->hold_lockers = calloc(c->n_holds ?: 1, sizeof(*c->hold_lockers));
	c->removed_holds =
		calloc(c->n_removed_holds ?: 1, sizeof(*c->removed_holds));
	c->staff = calloc(c->n_staff ?: 1, sizeof(*c->staff));
	c->removed_staff =
		calloc(c->n_removed_staff ?: 1, sizeof(*c->removed_staff));
	if (!c->holds || !c->hold_lockers || !c->removed_holds || !c->staff ||
	    !c->removed_staff) {
		snprintf(error, PROTOCOL_ERROR_MAX, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->n_holds; i++) {
		snprintf(where, sizeof(where), "holds[%u]", i);
		err = parse_hold(json_array_get(holds, i), where, &c->holds[i],
				 error);
		if (err < 0)
			return err;
		locker = json_object_get(json_array_get(holds, i), "locker");
		if (!locker || json_is_null(locker))
			continue;
		snprintf(where, sizeof(where), "holds[%u].locker", i);
		if (!json_is_integer(locker) ||
		    json_integer_value(locker) < 1 ||
		    json_integer_value(locker) > KIOSK_LOCKERS_MAX)
			return fail(error, where, "not a number 1..%d",
				    KIOSK_LOCKERS_MAX);
		c->hold_lockers[i] = (unsigned)json_integer_value(locker);
	}
	for (unsigned i = 0; i < c->n_staff; i++) {
		snprintf(where, sizeof(where), "staff[%u]", i);
		err = parse_staff(json_array_get(staff, i), where, &c->staff[i],
				  error);
		if (err < 0)
			return err;
	}
	return parse_strings(removed, "removed_holds", &HOLD_ID, c->removed_holds[0], sizeof(c->removed_holds[0]), error) ?:
		       parse_strings(removed_staff, "removed_staff", &HMAC,
				     c->removed_staff[0],
				     sizeof(c->removed_staff[0]), error);
}

/* The reply's JSON object, or NULL with *ret_err and error set. */
static json_t *load(const char *body, size_t len, int *ret_err, char *error)
{
	json_error_t jerr;
	json_t *root;

	if (len > PROTOCOL_REPLY_MAX) {
		snprintf(error, PROTOCOL_ERROR_MAX,
			 "reply: %zu bytes, more than %u", len,
			 PROTOCOL_REPLY_MAX);
		*ret_err = -EMSGSIZE;
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(error, PROTOCOL_ERROR_MAX,
			 "reply: not JSON: %s at byte %d", jerr.text,
			 jerr.position);
		*ret_err = -EINVAL;
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*ret_err = fail(error, "reply", "not a JSON object");
		return NULL;
	}
	return root;
}

int protocol_parse_changes(const char *body, size_t len,
			   struct protocol_changes *ret,
			   char ret_error[PROTOCOL_ERROR_MAX])
{
	struct protocol_changes c = { 0 };
	json_t *root;
	int err;

	memset(ret, 0, sizeof(*ret));
	root = load(body, len, &err, ret_error);
	if (!root)
		return err;
	err = parse_changes(root, &c, ret_error);
	json_decref(root);
	if (err < 0) {
		protocol_changes_clear(&c);
		return err;
	}
	*ret = c;
	return 0;
}

void protocol_changes_clear(struct protocol_changes *c)
{
	free(c->holds);
	free(c->hold_lockers);
	free(c->removed_holds);
	free(c->staff);
	free(c->removed_staff);
	memset(c, 0, sizeof(*c));
}

static int parse_result(json_t *o, const char *path,
			struct protocol_event_result *ret, char *error)
{
	char status[17], where[PATH_MAX_LEN + 32];
	json_t *refused;
	int err;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(o))
		return fail(error, path, "not an object");
	err = get_string(o, "id", path, false, &UUID, ret->id, error) ?:
		      get_string(o, "status", path, false, &WORD, status, error) ?:
		      get_string(o, "reason", path, true, &REASON, ret->reason,
				 error);
	if (err < 0)
		return err;
	refused = json_object_get(o, "refused");
	if (refused && !json_is_null(refused)) {
		snprintf(where, sizeof(where), "%s.refused", path);
		if (!json_is_object(refused))
			return fail(error, where, "not an object");
		err = get_string(refused, "code", where, false, &REFUSED_CODE, ret->refused_code, error) ?:
			      get_string(refused, "text", where, true, &REASON,
					 ret->refused_text, error);
		if (err < 0)
			return err;
	}
	if (strcmp(status, "accepted") == 0) {
		ret->status = PROTOCOL_EVENT_ACCEPTED;
	} else if (strcmp(status, "duplicate") == 0) {
		ret->status = PROTOCOL_EVENT_DUPLICATE;
	} else if (strcmp(status, "rejected") == 0) {
		ret->status = PROTOCOL_EVENT_REJECTED;
	} else {
		snprintf(where, sizeof(where), "%s.status", path);
		return fail(error, where,
			    "not accepted, duplicate or rejected");
	}
	return 0;
}

int protocol_parse_event_results(const char *body, size_t len,
				 struct protocol_event_result **ret_results,
				 unsigned *ret_n,
				 char ret_error[PROTOCOL_ERROR_MAX])
{
	struct protocol_event_result *results = NULL;
	char where[PATH_MAX_LEN];
	json_t *root, *a;
	unsigned n = 0;
	int err;

	*ret_results = NULL;
	*ret_n = 0;
	root = load(body, len, &err, ret_error);
	if (!root)
		return err;
	a = json_object_get(root, "results");
	if (!json_is_array(a)) {
		err = fail(ret_error, "results", "missing or not an array");
		goto out;
	}
	if (json_array_size(a) > PROTOCOL_RESULTS_MAX) {
		fail(ret_error, "results", "more than %d entries",
		     PROTOCOL_RESULTS_MAX);
		err = -EMSGSIZE;
		goto out;
	}
	n = (unsigned)json_array_size(a);
	results = calloc(n ?: 1, sizeof(*results));
	if (!results) {
		snprintf(ret_error, PROTOCOL_ERROR_MAX, "out of memory");
		err = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "results[%u]", i);
		err = parse_result(json_array_get(a, i), where, &results[i],
				   ret_error);
		if (err < 0)
			goto out;
	}
	*ret_results = results;
	*ret_n = n;
	results = NULL;
	err = 0;
out:
	free(results);
	json_decref(root);
	return err;
}

static const char *const command_names[] = {
	[PROTOCOL_COMMAND_UNKNOWN] = "",
	[PROTOCOL_COMMAND_OPEN_LOCKER] = "open_locker",
	[PROTOCOL_COMMAND_DISABLE_LOCKER] = "disable_locker",
	[PROTOCOL_COMMAND_ENABLE_LOCKER] = "enable_locker",
	[PROTOCOL_COMMAND_UNLOAD_HOLD] = "unload_hold",
	[PROTOCOL_COMMAND_SYNC_NOW] = "sync_now",
	[PROTOCOL_COMMAND_RESEND_EVENTS] = "resend_events",
};

static int parse_command(json_t *o, const char *path,
			 struct protocol_command *ret, char *error)
{
	char where[PATH_MAX_LEN + 32], when[40] = "";
	const char *type;
	json_t *locker, *from;
	int err;

	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(o))
		return fail(error, path, "not an object");
	err = get_string(o, "id", path, false, &COMMAND_ID, ret->id, error) ?:
		      get_string(o, "reason", path, true, &REASON, ret->reason, error) ?:
		      get_string(o, "expires_at", path, true, &TIME, when, error) ?:
		      get_string(o, "by", path, true, &BY, ret->by, error);
	if (err < 0)
		return err;
	snprintf(where, sizeof(where), "%s.expires_at", path);
	if (when[0] && protocol_parse_time(when, &ret->expires_at_usec) < 0)
		return fail(error, where,
			    "not a time like 2026-11-22T08:15:00Z");
	/* A newer server's command: its type may be any word. */
	snprintf(where, sizeof(where), "%s.type", path);
	type = json_string_value(json_object_get(o, "type"));
	if (!type)
		return fail(error, where, "missing or not a string");
	for (size_t i = 1; i < sizeof(command_names) / sizeof(command_names[0]);
	     i++)
		if (strcmp(type, command_names[i]) == 0)
			ret->type = (enum protocol_command_type)i;
	switch (ret->type) {
	case PROTOCOL_COMMAND_OPEN_LOCKER:
	case PROTOCOL_COMMAND_DISABLE_LOCKER:
	case PROTOCOL_COMMAND_ENABLE_LOCKER:
		locker = json_object_get(o, "locker");
		snprintf(where, sizeof(where), "%s.locker", path);
		if (!json_is_integer(locker) ||
		    json_integer_value(locker) < 1 ||
		    json_integer_value(locker) > KIOSK_LOCKERS_MAX)
			return fail(error, where, "not a number 1..%d",
				    KIOSK_LOCKERS_MAX);
		ret->locker = (unsigned)json_integer_value(locker);
		break;
	case PROTOCOL_COMMAND_UNLOAD_HOLD:
		return get_string(o, "hold_id", path, false, &HOLD_ID,
				  ret->hold_id, error);
	case PROTOCOL_COMMAND_RESEND_EVENTS:
		from = json_object_get(o, "from_seq");
		snprintf(where, sizeof(where), "%s.from_seq", path);
		if (!json_is_integer(from) || json_integer_value(from) < 1)
			return fail(error, where, "not a number 1 or more");
		ret->from_seq = json_integer_value(from);
		break;
	case PROTOCOL_COMMAND_SYNC_NOW:
	case PROTOCOL_COMMAND_UNKNOWN:
		break;
	}
	return 0;
}

int protocol_parse_status_reply(const char *body, size_t len,
				struct protocol_status_reply *ret,
				char ret_error[PROTOCOL_ERROR_MAX])
{
	char when[40], where[PATH_MAX_LEN];
	json_t *root, *a, *next;
	int err;

	memset(ret, 0, sizeof(*ret));
	root = load(body, len, &err, ret_error);
	if (!root)
		return err;
	err = get_string(root, "server_time", "", false, &TIME, when,
			 ret_error);
	if (err == 0 && protocol_parse_time(when, &ret->server_time_usec) < 0)
		err = fail(ret_error, "server_time",
			   "not a time like 2026-11-22T08:15:00Z");
	next = json_object_get(root, "next_status_s");
	if (err == 0 && next && !json_is_null(next)) {
		if (!json_is_integer(next) || json_integer_value(next) < 10 ||
		    json_integer_value(next) > 3600)
			err = fail(ret_error, "next_status_s",
				   "not a number 10..3600");
		else
			ret->next_status_s = (unsigned)json_integer_value(next);
	}
	if (err == 0)
		err = get_array(root, "commands", PROTOCOL_COMMANDS_MAX, &a,
				ret_error);
	for (size_t i = 0; err == 0 && i < json_array_size(a); i++) {
		snprintf(where, sizeof(where), "commands[%zu]", i);
		err = parse_command(json_array_get(a, i), where,
				    &ret->commands[i], ret_error);
		ret->n_commands = (unsigned)i + 1;
	}
	json_decref(root);
	if (err < 0)
		memset(ret, 0, sizeof(*ret));
	return err;
}

void protocol_format_time(int64_t usec, char ret[32])
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;
	size_t n;

	/* Before 1970 or after 9999 is no time an event could have. */
	if (usec < 0 || !gmtime_r(&t, &tm) || tm.tm_year > 9999 - 1900) {
		snprintf(ret, 32, "1970-01-01T00:00:00.000Z");
		return;
	}
	n = strftime(ret, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ret + n, 32 - n, ".%03dZ", (int)(usec % 1000000 / 1000));
}

int protocol_add_event(json_t *events, const struct store_event *e)
{
	json_t *payload = json_loads(e->payload, JSON_REJECT_DUPLICATES, NULL);
	char at[32];
	json_t *o;

	if (!json_is_object(payload)) {
		json_decref(payload);
		return -EINVAL;
	}
	protocol_format_time(e->at_usec, at);
	o = json_pack("{s:s, s:I, s:s, s:s, s:o}", "id", e->uuid, "seq",
		      (json_int_t)e->seq, "type", e->type, "at", at, "payload",
		      payload);
	if (!o || json_array_append_new(events, o) < 0)
		return -ENOMEM;
	return 0;
}

char *protocol_events_body(json_t *events)
{
	json_t *body = json_pack("{s:O}", "events", events);
	char *text;

	if (!body)
		return NULL;
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return text;
}

int protocol_parse_item_reply(const char *body, size_t len,
			      struct store_hold *ret,
			      char ret_error[PROTOCOL_ERROR_MAX])
{
	struct store_hold h;
	json_t *root;
	int err;

	root = load(body, len, &err, ret_error);
	if (!root)
		return err;
	err = parse_hold(json_object_get(root, "hold"), "hold", &h, ret_error);
	json_decref(root);
	if (err == 0)
		*ret = h;
	return err;
}

int protocol_parse_error(const char *body, size_t len,
			 char ret_code[PROTOCOL_ERROR_CODE_MAX + 1],
			 char ret_message[PROTOCOL_REASON_MAX + 1])
{
	static const struct kind CODE = { protocol_is_token,
					  PROTOCOL_ERROR_CODE_MAX,
					  "not a word" };
	char error[PROTOCOL_ERROR_MAX], code[PROTOCOL_ERROR_CODE_MAX + 1],
		message[PROTOCOL_REASON_MAX + 1];
	json_t *root, *e;
	int err;

	root = load(body, len, &err, error);
	if (!root)
		return err;
	e = json_object_get(root, "error");
	err = json_is_object(e) ? 0 : -EINVAL;
	if (err == 0)
		err = get_string(e, "code", "error", false, &CODE, code, error) ?:
			      get_string(e, "message", "error", true, &REASON,
					 message, error);
	json_decref(root);
	if (err < 0)
		return err;
	memcpy(ret_code, code, sizeof(code));
	memcpy(ret_message, message, sizeof(message));
	return 0;
}
